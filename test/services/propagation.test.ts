import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getJson, startBookshop, stopAll } from './support/harness.js';
import type { Bookshop, LogLine } from './support/harness.js';

// The headers an application must copy from the request it serves to the calls it makes, written out
// here rather than read from services/shared: Istio's "Distributed Tracing" overview and FAQ
// (x-request-id, B3 multi and single header, W3C trace context, Lightstep's x-ot-span-context,
// OpenCensus/Stackdriver's x-cloud-trace-context and grpc-trace-bin) and the SkyWalking task (sw8).
// https://istio.io/latest/docs/tasks/observability/distributed-tracing/overview/
// https://istio.io/latest/about/faq/distributed-tracing/
const PROPAGATED = [
  'x-request-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'x-ot-span-context',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  // Routing (VirtualService header matches on every hop) and JWT, not tracing.
  'end-user',
];

// What a caller (the ingress gateway's Envoy, in the mesh) sends to storefront.
const SENT: Record<string, string> = {
  'x-request-id': '5c1e3f5e-7a4b-4a6e-9d1e-3b0c1f2a9e77',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
  'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
  'x-b3-spanid': 'e457b5a2e4d86bd1',
  'x-b3-parentspanid': '05e3ac9a4f6e3b90',
  'x-b3-sampled': '1',
  'x-b3-flags': '1',
  b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90',
  'x-ot-span-context': '80f198ee56343ba8;e457b5a2e4d86bd1;05e3ac9a4f6e3b90;cs',
  'grpc-trace-bin': 'AABL+S81d7NNpqPOkp4ODkc2AQDwZ6oLqQK3AgE',
  'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1',
  sw8: '1-MWYyZDRiZjQ3YmY3MTFlYWI3OTRhY2RlNDgwMDExMjI=-NWU3YzIwNGE3YmY3MTFlYWI4NThhY2RlNDgwMDExMjI=-0-c2VydmljZQ==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==',
  'end-user': 'jason',
  authorization: 'Bearer header.payload.signature',
};

describe('bookshop services: header propagation across storefront → reviews → ratings', () => {
  let shop: Bookshop;

  before(async () => {
    const debug = { LOG_HEADERS: 'true' };
    shop = await startBookshop({
      reviewsVersion: 'v2',
      env: { ratings: debug, reviews: debug, catalog: debug, storefront: debug },
    });
  });
  after(stopAll);

  const received = (line: LogLine): Record<string, unknown> => line.headers as Record<string, unknown>;

  it('propagates every tracing header Istio documents, and end-user, to the third hop', async () => {
    const answer = await getJson(`${shop.storefront.url}/api/books/1`, { headers: SENT });
    assert.equal(answer.status, 200);
    assert.equal((answer.json.reviews as Record<string, unknown>).version, 'v2');

    const id = SENT['x-request-id'];
    const isRequest = (path: string) => (line: LogLine) =>
      line.msg === 'request' && line.path === path && line.request_id === id;
    const [atReviews, atRatings, atCatalog] = await Promise.all([
      shop.reviews.waitForLog(isRequest('/reviews/1')),
      shop.ratings.waitForLog(isRequest('/ratings/1')),
      shop.catalog.waitForLog(isRequest('/books/1')),
    ]);
    for (const name of PROPAGATED) {
      assert.equal(received(atRatings)[name], SENT[name], `ratings received ${name}`);
      assert.equal(received(atReviews)[name], SENT[name], `reviews received ${name}`);
      assert.equal(received(atCatalog)[name], SENT[name], `catalog received ${name}`);
    }
    assert.equal(received(atRatings)['end-user'], 'jason');
    // Nothing else travels: the third hop gets exactly these (storefront keeps authorization to reviews).
    assert.deepEqual(Object.keys(received(atRatings)).sort(), [...PROPAGATED].sort());
    assert.equal(atRatings.traceparent, SENT.traceparent);
    assert.equal(atRatings.request_id, id);
  });

  it('forwards authorization from storefront (for JWT downstream) and never logs its value', async () => {
    const id = 'auth-propagation-1';
    await getJson(`${shop.storefront.url}/api/books/1`, { headers: { ...SENT, 'x-request-id': id } });
    const isRequest = (path: string) => (line: LogLine) =>
      line.msg === 'request' && line.path === path && line.request_id === id;
    const atReviews = await shop.reviews.waitForLog(isRequest('/reviews/1'));
    const atRatings = await shop.ratings.waitForLog(isRequest('/ratings/1'));
    assert.equal(received(atReviews).authorization, '[redacted]');
    assert.equal(received(atRatings).authorization, undefined, 'reviews keeps the token to itself');
    for (const service of [shop.storefront, shop.reviews, shop.catalog, shop.ratings]) {
      assert.ok(
        !JSON.stringify(service.logs).includes('header.payload.signature'),
        `${service.name} logs no token`,
      );
    }
  });

  it('makes up an x-request-id when none came in and uses it on every hop', async () => {
    const answer = await getJson(`${shop.storefront.url}/api/books/3`, { headers: { 'end-user': 'anna' } });
    const id = String(answer.headers['x-request-id']);
    assert.match(id, /^[0-9a-f-]{36}$/);
    const atRatings = await shop.ratings.waitForLog(
      (line) => line.msg === 'request' && line.request_id === id,
    );
    assert.equal(atRatings.path, '/ratings/3');
    assert.equal(atRatings.traceparent, null);
    assert.deepEqual(received(atRatings), { 'x-request-id': id, 'end-user': 'anna' });
  });
});
