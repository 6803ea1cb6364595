import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get, getJson, runToExit, startService, stopAll } from './support/harness.js';
import type { ServiceProcess } from './support/harness.js';

type Json = Record<string, unknown>;

describe('bookshop services: responses', () => {
  let ratings: ServiceProcess;
  let catalog: ServiceProcess;
  const reviews: Record<'v1' | 'v2' | 'v3', ServiceProcess> = {} as Record<
    'v1' | 'v2' | 'v3',
    ServiceProcess
  >;
  let storefront: ServiceProcess;

  before(async () => {
    [ratings, catalog] = await Promise.all([startService('ratings'), startService('catalog')]);
    const [v1, v2, v3] = await Promise.all(
      (['v1', 'v2', 'v3'] as const).map((version) =>
        startService('reviews', { REVIEWS_VERSION: version, RATINGS_URL: ratings.url }),
      ),
    );
    Object.assign(reviews, { v1, v2, v3 });
    storefront = await startService('storefront', {
      CATALOG_URL: catalog.url,
      REVIEWS_URL: [v1, v2, v3].map((service) => service!.url).join(','),
      SERVICE_VERSION: 'v7',
    });
  });
  after(stopAll);

  it('serves /healthz and /readyz on every service, with x-served-by', async () => {
    const all = [ratings, catalog, reviews.v1, reviews.v2, reviews.v3, storefront];
    const expected = ['ratings/v1', 'catalog/v1', 'reviews/v1', 'reviews/v2', 'reviews/v3', 'storefront/v7'];
    for (const [i, service] of all.entries()) {
      const health = await getJson(`${service.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.json, { status: 'ok' });
      assert.equal(health.headers['x-served-by'], expected[i]);
      const ready = await getJson(`${service.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json, { status: 'ready' });
    }
  });

  it('catalog lists books and finds one by id', async () => {
    const list = await getJson(`${catalog.url}/books`);
    assert.equal(list.status, 200);
    assert.match(String(list.headers['content-type']), /^application\/json/);
    const books = list.json.books as Json[];
    assert.equal(books.length, 4);
    const one = await getJson(`${catalog.url}/books/1`);
    assert.deepEqual(one.json, books[0]);
    assert.equal(one.json.title, 'The Comedy of Errors');
    const missing = await getJson(`${catalog.url}/books/99`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error: 'book not found', id: '99' });
  });

  it('ratings answers stars per reviewer', async () => {
    const one = await getJson(`${ratings.url}/ratings/1`);
    assert.deepEqual(one.json, { bookId: '1', ratings: { Reviewer1: 5, Reviewer2: 4 } });
    const none = await getJson(`${ratings.url}/ratings/4`);
    assert.deepEqual(none.json, { bookId: '4', ratings: {} });
  });

  it('reviews v1 has no ratings, v2 black stars, v3 red stars', async () => {
    const call = (version: 'v1' | 'v2' | 'v3') =>
      getJson(`${reviews[version].url}/reviews/1`, { headers: { 'x-request-id': `versions-${version}` } });
    const v1 = (await call('v1')).json;
    assert.equal(v1.version, 'v1');
    assert.deepEqual(v1.ratings, { status: 'disabled' });
    assert.ok((v1.reviews as Json[]).every((review) => !('rating' in review)));

    const v2 = (await call('v2')).json;
    assert.equal(v2.version, 'v2');
    assert.deepEqual(v2.ratings, { status: 'ok', color: 'black' });
    assert.deepEqual(
      (v2.reviews as Json[]).map((review) => review.rating),
      [
        { stars: 5, color: 'black' },
        { stars: 4, color: 'black' },
      ],
    );

    const v3 = (await call('v3')).json;
    assert.equal(v3.version, 'v3');
    assert.deepEqual(v3.ratings, { status: 'ok', color: 'red' });
    assert.deepEqual(
      (v3.reviews as Json[]).map((review) => review.rating),
      [
        { stars: 5, color: 'red' },
        { stars: 4, color: 'red' },
      ],
    );

    // v2 and v3 called ratings (with the request id they were given); v1 did not.
    for (const id of ['versions-v2', 'versions-v3']) {
      await ratings.waitForLog((line) => line.msg === 'request' && line.request_id === id);
    }
    assert.ok(!ratings.logs.some((line) => line.request_id === 'versions-v1'), 'v1 never calls ratings');
  });

  it('storefront /api/books/:id combines catalog and reviews, calling the reviews URLs in turn', async () => {
    const versions: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await getJson(`${storefront.url}/api/books/1`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-served-by'], 'storefront/v7');
      assert.equal((answer.json.book as Json).title, 'The Comedy of Errors');
      const block = answer.json.reviews as Json;
      assert.equal(block.available, true);
      assert.equal(block.servedBy, `reviews/${String(block.version)}`);
      versions.push(block.version);
    }
    assert.deepEqual([...versions].sort(), ['v1', 'v2', 'v3']);
    const missing = await getJson(`${storefront.url}/api/books/99`);
    assert.equal(missing.status, 404);
  });

  it('storefront /api/books lists every book with its reviews', async () => {
    const answer = await getJson(`${storefront.url}/api/books`);
    assert.equal(answer.status, 200);
    const books = answer.json.books as Json[];
    assert.equal(books.length, 4);
    for (const entry of books) {
      assert.equal(typeof (entry.book as Json).title, 'string');
      assert.equal((entry.reviews as Json).available, true);
    }
  });

  it('storefront renders HTML at / and guards nothing itself at /admin', async () => {
    const page = await get(`${storefront.url}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    for (const title of ['The Comedy of Errors', 'Pride and Prejudice', 'Moby-Dick', 'Frankenstein']) {
      assert.ok(page.body.includes(title), title);
    }
    assert.match(page.body, /★/);
    const admin = await getJson(`${storefront.url}/admin`);
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.json, { admin: true });
  });

  it('answers 404 for unknown paths and 405 for other methods; HEAD has no body', async () => {
    const unknown = await getJson(`${catalog.url}/nope`);
    assert.equal(unknown.status, 404);
    const post = await get(`${catalog.url}/books`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get(`${catalog.url}/books`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('writes one JSON log line per request with the agreed fields', async () => {
    const requestId = 'log-fields-1';
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await get(`${catalog.url}/books/2`, { headers: { 'x-request-id': requestId, traceparent } });
    const line = await catalog.waitForLog(
      (entry) => entry.msg === 'request' && entry.request_id === requestId,
    );
    assert.equal(line.service, 'catalog');
    assert.equal(line.version, 'v1');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/books/2');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
    assert.equal(line.traceparent, traceparent);
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
    const withoutId = await get(`${catalog.url}/books`);
    assert.match(
      String(withoutId.headers['x-request-id']),
      /^[0-9a-f-]{36}$/,
      'a request id is made when missing',
    );
  });

  it('refuses invalid configuration with exit code 1 and one clear error line', async () => {
    const failures: [Record<string, string>, RegExp][] = [
      [{ FAIL_RATE: '1.5' }, /FAIL_RATE/],
      [{ PORT: 'http' }, /PORT/],
      [{ REVIEWS_VERSION: 'v4' }, /REVIEWS_VERSION/],
      [{ REVIEWS_VERSION: 'v2', RATINGS_URL: 'https://ratings' }, /RATINGS_URL/],
    ];
    const results = await Promise.all(failures.map(([env]) => runToExit('reviews', env)));
    for (const [i, { code, stdout }] of results.entries()) {
      assert.equal(code, 1, stdout);
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1, stdout);
      const line = JSON.parse(lines[0] ?? '') as Json;
      assert.equal(line.level, 'error');
      assert.equal(line.msg, 'invalid configuration');
      assert.match(String(line.error), failures[i]![1]);
    }
  });
});
