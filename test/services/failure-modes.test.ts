import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closedPortUrl, get, getJson, startService, stopAll } from './support/harness.js';

type Json = Record<string, unknown>;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
}

describe('bookshop services: failure modes', () => {
  after(stopAll);

  it('FAIL_RATE=1 answers every request 503, but never the health endpoints', async () => {
    const catalog = await startService('catalog', { FAIL_RATE: '1' });
    for (let i = 0; i < 5; i++) {
      const answer = await getJson(`${catalog.url}/books`);
      assert.equal(answer.status, 503);
      assert.match(String(answer.json.error), /injected failure/);
    }
    assert.equal((await get(`${catalog.url}/healthz`)).status, 200);
    assert.equal((await get(`${catalog.url}/readyz`)).status, 200);
  });

  it('FAIL_RATE=0.5 fails some requests and serves the others', async () => {
    const catalog = await startService('catalog', { FAIL_RATE: '0.5' });
    const statuses = new Set<number>();
    for (let i = 0; i < 60 && statuses.size < 2; i++)
      statuses.add((await get(`${catalog.url}/books/1`)).status);
    assert.deepEqual([...statuses].sort(), [200, 503]);
  });

  it('LATENCY_MS (+ LATENCY_JITTER_MS) delays requests, not the health endpoints', async () => {
    const catalog = await startService('catalog', { LATENCY_MS: '250', LATENCY_JITTER_MS: '100' });
    const slow = await timed(() => get(`${catalog.url}/books`));
    assert.equal(slow.value.status, 200);
    assert.ok(slow.ms >= 245, `took ${slow.ms} ms`);
    assert.ok(slow.ms < 2000, `took ${slow.ms} ms`);
    const line = await catalog.waitForLog((entry) => entry.msg === 'request' && entry.path === '/books');
    assert.ok(
      Number(line.duration_ms) >= 245 && Number(line.duration_ms) < 1000,
      `logged ${line.duration_ms} ms`,
    );
    assert.equal((await get(`${catalog.url}/healthz`)).status, 200);
    const health = await catalog.waitForLog((entry) => entry.msg === 'request' && entry.path === '/healthz');
    assert.ok(Number(health.duration_ms) < 100, `healthz took ${health.duration_ms} ms`);
  });

  it('storefront still renders (200) with a message when reviews fails', async () => {
    const [catalog, reviews] = await Promise.all([
      startService('catalog'),
      startService('reviews', { REVIEWS_VERSION: 'v1', FAIL_RATE: '1' }),
    ]);
    const storefront = await startService('storefront', {
      CATALOG_URL: catalog.url,
      REVIEWS_URL: reviews.url,
    });
    const one = await getJson(`${storefront.url}/api/books/2`);
    assert.equal(one.status, 200);
    assert.equal((one.json.book as Json).title, 'Pride and Prejudice');
    assert.deepEqual(one.json.reviews, { available: false, message: 'Reviews are currently unavailable.' });
    const page = await get(`${storefront.url}/`);
    assert.equal(page.status, 200);
    assert.ok(page.body.includes('Pride and Prejudice'));
    assert.ok(page.body.includes('Reviews are currently unavailable.'));
  });

  it('storefront degrades when reviews is unreachable or slower than UPSTREAM_TIMEOUT_MS', async () => {
    const [catalog, slowReviews, nowhere] = await Promise.all([
      startService('catalog'),
      startService('reviews', { REVIEWS_VERSION: 'v1', LATENCY_MS: '3000' }),
      closedPortUrl(),
    ]);
    const [unreachable, timingOut] = await Promise.all([
      startService('storefront', { CATALOG_URL: catalog.url, REVIEWS_URL: nowhere }),
      startService('storefront', {
        CATALOG_URL: catalog.url,
        REVIEWS_URL: slowReviews.url,
        UPSTREAM_TIMEOUT_MS: '200',
      }),
    ]);
    const refused = await getJson(`${unreachable.url}/api/books/1`);
    assert.equal(refused.status, 200);
    assert.equal((refused.json.reviews as Json).available, false);
    const late = await timed(() => getJson(`${timingOut.url}/api/books/1`));
    assert.equal(late.value.status, 200);
    assert.equal((late.value.json.reviews as Json).available, false);
    assert.ok(late.ms >= 190 && late.ms < 1500, `took ${late.ms} ms`);
  });

  it('storefront answers 502 when the catalog fails', async () => {
    const [catalog, reviews] = await Promise.all([
      startService('catalog', { FAIL_RATE: '1' }),
      startService('reviews', { REVIEWS_VERSION: 'v1' }),
    ]);
    const storefront = await startService('storefront', {
      CATALOG_URL: catalog.url,
      REVIEWS_URL: reviews.url,
    });
    const api = await getJson(`${storefront.url}/api/books`);
    assert.equal(api.status, 502);
    assert.deepEqual(api.json, { error: 'catalog unavailable' });
    const page = await get(`${storefront.url}/`);
    assert.equal(page.status, 502);
    assert.match(page.body, /catalog is currently unavailable/);
  });

  it('reviews v2/v3 show "ratings unavailable" when ratings fails', async () => {
    const [ratings, nowhere] = await Promise.all([
      startService('ratings', { FAIL_RATE: '1' }),
      closedPortUrl(),
    ]);
    const [v2, v3] = await Promise.all([
      startService('reviews', { REVIEWS_VERSION: 'v2', RATINGS_URL: ratings.url }),
      startService('reviews', { REVIEWS_VERSION: 'v3', RATINGS_URL: nowhere }),
    ]);
    for (const [service, color] of [
      [v2, 'black'],
      [v3, 'red'],
    ] as const) {
      const answer = await getJson(`${service.url}/reviews/1`);
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json.ratings, { status: 'unavailable', color, message: 'ratings unavailable' });
      const reviews = answer.json.reviews as Json[];
      assert.equal(reviews.length, 2);
      assert.ok(reviews.every((review) => !('rating' in review)));
    }
  });
});
