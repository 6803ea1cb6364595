// The payments app's services as real processes on 127.0.0.1: the ledger on a temporary data
// directory, its migration run to completion, the notifier, and the api in front of them calling a
// fake payment provider over HTTPS (a self-signed certificate the api trusts via NODE_EXTRA_CA_CERTS).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  SERVICES_BUILD,
  type ServiceProcess,
  closedPortUrl,
  get,
  repoRoot,
  runToExit,
  spawnNode,
  startService,
  stopAll,
} from './support/harness.js';

const DB = { LEDGER_DB_USER: 'ledger', LEDGER_DB_PASSWORD: 'test-only-password' };
const BASIC = `Basic ${Buffer.from('ledger:test-only-password').toString('base64')}`;
const FIXTURES = join(repoRoot(), 'test', 'services', 'fixtures');

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: Record<string, unknown>;
}

/** One HTTP request with an optional JSON body; the answer's body parsed as JSON. */
function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(url, {
      method,
      agent: false,
      timeout: 5000,
      headers: { ...headers, ...(payload && { 'content-type': 'application/json' }) },
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
        }),
      );
    });
    req.end(payload);
  });
}

/** Runs the migration Job's command to its end. */
function migrate(
  env: Record<string, string>,
  timeoutMs = 10_000,
): Promise<{ code: number | null; logs: Record<string, unknown>[] }> {
  const child = spawnNode(join(SERVICES_BUILD, 'payments-ledger', 'migrate.js'), env);
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`migrate did not exit within ${timeoutMs} ms: ${stdout}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        logs: stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}

interface FakeProvider {
  readonly url: string;
  readonly charges: { headers: http.IncomingHttpHeaders; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** The provider's contract over HTTPS: 201 with a charge, 402 for an amount of 402 (declined). */
function fakeProvider(): Promise<FakeProvider> {
  const charges: FakeProvider['charges'] = [];
  const byKey = new Map<string, string>();
  const server = https.createServer(
    {
      key: readFileSync(join(FIXTURES, 'fake-provider.key')),
      cert: readFileSync(join(FIXTURES, 'fake-provider.crt')),
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        res.setHeader('content-type', 'application/json');
        if (req.method !== 'POST' || req.url !== '/v1/charges') {
          res.statusCode = 404;
          res.end('{}');
          return;
        }
        charges.push({ headers: req.headers, body });
        if (body.amount === 402) {
          res.statusCode = 402;
          res.end(JSON.stringify({ error: 'card declined' }));
          return;
        }
        // As real providers do, a repeated Idempotency-Key answers the charge it made the first time.
        const key = String(req.headers['idempotency-key']);
        const id = byKey.get(key) ?? `ch_${byKey.size + 1}`;
        byKey.set(key, id);
        res.statusCode = 201;
        res.end(JSON.stringify({ id, status: 'succeeded' }));
      });
    },
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `https://127.0.0.1:${port}`,
        charges,
        close: () => new Promise((done) => server.close(() => done())),
      });
    }),
  );
}

describe('payments services: the ledger and its migration', () => {
  let dataDir: string;
  let ledger: ServiceProcess;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-'));
    ledger = await startService('payments-ledger', { ...DB, DATA_DIR: dataDir });
  });
  after(stopAll);

  it('refuses to start without database credentials', async () => {
    const run = await runToExit('payments-ledger', { DATA_DIR: dataDir });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /LEDGER_DB_USER and LEDGER_DB_PASSWORD must both be set/);
  });

  it('answers only requests with the credentials, and no data before the migration', async () => {
    assert.equal((await get(`${ledger.url}/readyz`)).status, 200);
    const bare = await call(`${ledger.url}/schema`, 'GET');
    assert.equal(bare.status, 401);
    const wrong = await call(`${ledger.url}/schema`, 'GET', undefined, {
      authorization: `Basic ${Buffer.from('ledger:guess').toString('base64')}`,
    });
    assert.equal(wrong.status, 401);
    const schema = await call(`${ledger.url}/schema`, 'GET', undefined, { authorization: BASIC });
    assert.deepEqual(schema.json, {
      version: 0,
      latest: 2,
      pending: ['001-create-entries', '002-balances-by-account'],
    });
    const early = await call(
      `${ledger.url}/entries/p1`,
      'PUT',
      { account: 'alice', amount: 1, currency: 'EUR', reference: 'ch_0' },
      { authorization: BASIC },
    );
    assert.equal(early.status, 503);
    assert.match(String(early.json.error), /schema version 0 is behind 2; run the migration/);
  });

  it('migration: wrong credentials fail at once; an unreachable ledger is retried until the deadline', async () => {
    const refused = await migrate({
      LEDGER_URL: ledger.url,
      LEDGER_DB_USER: 'ledger',
      LEDGER_DB_PASSWORD: 'guess',
    });
    assert.equal(refused.code, 1);
    assert.equal(refused.logs.at(-1)?.msg, 'migration refused');
    const nowhere = await migrate({
      ...DB,
      LEDGER_URL: await closedPortUrl(),
      MIGRATE_DEADLINE_MS: '1500',
      MIGRATE_RETRY_MS: '200',
    });
    assert.equal(nowhere.code, 1);
    assert.ok(nowhere.logs.filter((l) => l.msg === 'ledger not reachable yet, retrying').length >= 2);
    assert.equal(nowhere.logs.at(-1)?.msg, 'migration did not complete before the deadline');
  });

  it('migration completes (exit 0), and running it again applies nothing', async () => {
    const first = await migrate({ ...DB, LEDGER_URL: ledger.url });
    assert.equal(first.code, 0);
    const done = first.logs.find((l) => l.msg === 'migrated');
    assert.deepEqual(
      [done?.from, done?.to, done?.applied],
      [0, 2, ['001-create-entries', '002-balances-by-account']],
    );
    const again = await migrate({ ...DB, LEDGER_URL: ledger.url });
    assert.equal(again.code, 0);
    const noop = again.logs.find((l) => l.msg === 'migrated');
    assert.deepEqual([noop?.from, noop?.to, noop?.applied], [2, 2, []]);
  });

  it('records an entry once: created, unchanged on a retry, a conflict with other content', async () => {
    const entry = { account: 'alice', amount: 1250, currency: 'EUR', reference: 'ch_9' };
    const put = (body: unknown) => call(`${ledger.url}/entries/pay-1`, 'PUT', body, { authorization: BASIC });
    const created = await put(entry);
    assert.equal(created.status, 201);
    assert.equal(created.json.id, 'pay-1');
    assert.equal((await put(entry)).status, 200);
    assert.equal((await put({ ...entry, amount: 1 })).status, 409);
    const bad = await put({ ...entry, amount: -5 });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /amount must be a whole number/);
    assert.equal(
      (await call(`${ledger.url}/entries/pay-1`, 'GET', undefined, { authorization: BASIC })).json.amount,
      1250,
    );
    assert.equal(
      (await call(`${ledger.url}/entries/nope`, 'GET', undefined, { authorization: BASIC })).status,
      404,
    );
    await call(
      `${ledger.url}/entries/pay-2`,
      'PUT',
      { ...entry, amount: 50, reference: 'ch_10' },
      { authorization: BASIC },
    );
    const balance = await call(`${ledger.url}/accounts/alice`, 'GET', undefined, { authorization: BASIC });
    assert.deepEqual(balance.json, { account: 'alice', balances: { EUR: 1300 } });
    const wrongMethod = await call(`${ledger.url}/entries/pay-1`, 'DELETE');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'PUT, GET, HEAD');
  });

  it('keeps its data in DATA_DIR across a restart (SIGTERM exits 0)', async () => {
    ledger.child.kill('SIGTERM');
    assert.equal((await ledger.exited).code, 0);
    const lines = readFileSync(join(dataDir, 'entries.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    const restarted = await startService('payments-ledger', { ...DB, DATA_DIR: dataDir });
    const schema = await call(`${restarted.url}/schema`, 'GET', undefined, { authorization: BASIC });
    assert.deepEqual(schema.json, { version: 2, latest: 2, pending: [] });
    const balance = await call(`${restarted.url}/accounts/alice`, 'GET', undefined, { authorization: BASIC });
    assert.deepEqual(balance.json, { account: 'alice', balances: { EUR: 1300 } });
  });
});

describe('payments services: the api with the ledger, the notifier and an HTTPS provider', () => {
  let provider: FakeProvider;
  let ledger: ServiceProcess;
  let notifier: ServiceProcess;
  let api: ServiceProcess;
  const apiEnv = (extra: Record<string, string> = {}) => ({
    ...DB,
    LEDGER_URL: ledger.url,
    NOTIFIER_URL: notifier.url,
    PROVIDER_URL: provider.url,
    NODE_EXTRA_CA_CERTS: join(FIXTURES, 'fake-provider.crt'),
    ...extra,
  });
  before(async () => {
    provider = await fakeProvider();
    [ledger, notifier] = await Promise.all([
      startService('payments-ledger', { ...DB, DATA_DIR: mkdtempSync(join(tmpdir(), 'ledger-')) }),
      startService('payments-notifier'),
    ]);
    assert.equal((await migrate({ ...DB, LEDGER_URL: ledger.url })).code, 0);
    api = await startService('payments-api', apiEnv());
  });
  after(async () => {
    await stopAll();
    await provider.close();
  });

  it('charges the provider over HTTPS, records the payment and notifies', async () => {
    const paid = await call(`${api.url}/payments`, 'POST', { account: 'bob', amount: 999, currency: 'EUR' });
    assert.equal(paid.status, 201, JSON.stringify(paid.json));
    const payment = paid.json.payment as Record<string, unknown>;
    assert.deepEqual(
      [payment.account, payment.amount, payment.currency, payment.charge, payment.notified],
      ['bob', 999, 'EUR', 'ch_1', true],
    );
    const charge = provider.charges[0]!;
    assert.deepEqual(charge.body, { amount: 999, currency: 'EUR', reference: payment.id });
    assert.equal(charge.headers['idempotency-key'], payment.id);
    const found = await call(`${api.url}/payments/${String(payment.id)}`, 'GET');
    assert.equal(found.status, 200);
    assert.equal((found.json.payment as Record<string, unknown>).charge, 'ch_1');
    const events = await call(`${notifier.url}/events`, 'GET');
    assert.deepEqual(
      (events.json.events as Record<string, unknown>[]).map((e) => [e.type, e.paymentId, e.amount]),
      [['payment.recorded', payment.id, 999]],
    );
    await notifier.waitForLog((l) => l.msg === 'notification');
    const balance = await call(`${api.url}/accounts/bob/balance`, 'GET');
    assert.deepEqual(balance.json, { account: 'bob', balances: { EUR: 999 } });
  });

  it("an Idempotency-Key makes a client's retry the same payment", async () => {
    const pay = () =>
      call(
        `${api.url}/payments`,
        'POST',
        { account: 'carol', amount: 500, currency: 'USD' },
        { 'idempotency-key': 'order-42' },
      );
    const first = await pay();
    const retry = await pay();
    assert.deepEqual([first.status, retry.status], [201, 201]);
    assert.equal((retry.json.payment as Record<string, unknown>).id, 'order-42');
    const keys = provider.charges.filter((c) => c.headers['idempotency-key'] === 'order-42');
    assert.equal(keys.length, 2, 'the provider saw the same key twice and deduplicates');
    const balance = await call(`${api.url}/accounts/carol/balance`, 'GET');
    assert.deepEqual(balance.json, { account: 'carol', balances: { USD: 500 } });
  });

  it('answers 402 when the provider declines, and records nothing', async () => {
    const declined = await call(`${api.url}/payments`, 'POST', {
      account: 'dave',
      amount: 402,
      currency: 'EUR',
    });
    assert.equal(declined.status, 402);
    assert.equal((await call(`${api.url}/payments/${String(declined.json.id)}`, 'GET')).status, 404);
  });

  it('refuses malformed payments and other methods', async () => {
    const bad = await call(`${api.url}/payments`, 'POST', { account: 'Bob!', amount: 1, currency: 'EUR' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /account must be/);
    const listing = await call(`${api.url}/payments`, 'GET');
    assert.equal(listing.status, 405);
    assert.equal(listing.headers.allow, 'POST');
  });

  it('shows the ledger schema on /admin/schema (the mesh guards /admin with a JWT)', async () => {
    const admin = await call(`${api.url}/admin/schema`, 'GET');
    assert.deepEqual(admin.json, { ledger: { version: 2, latest: 2, pending: [] } });
  });

  it('degrades: no notifier still pays (notified: false); no provider pays nothing (502)', async () => {
    const noNotifier = await startService('payments-api', apiEnv({ NOTIFIER_URL: await closedPortUrl() }));
    const paid = await call(`${noNotifier.url}/payments`, 'POST', {
      account: 'erin',
      amount: 10,
      currency: 'EUR',
    });
    assert.equal(paid.status, 201);
    assert.equal((paid.json.payment as Record<string, unknown>).notified, false);
    const noProvider = await startService(
      'payments-api',
      apiEnv({ PROVIDER_URL: (await closedPortUrl()).replace('http:', 'https:') }),
    );
    const failed = await call(`${noProvider.url}/payments`, 'POST', {
      account: 'erin',
      amount: 10,
      currency: 'EUR',
    });
    assert.equal(failed.status, 502);
    assert.equal(failed.json.error, 'payment provider unavailable');
  });

  it('the notifier takes only well-formed JSON events of a bounded size', async () => {
    const raw = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${notifier.url}/events`, { method: 'POST', agent: false });
        req.on('error', reject);
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.end(body);
      });
    assert.equal(await raw('{"type": '), 400);
    assert.equal(await raw(JSON.stringify({ pad: 'x'.repeat(70 * 1024) })), 413);
    const unknown = await call(`${notifier.url}/events`, 'POST', {
      type: 'payment.refunded',
      paymentId: 'p1',
      account: 'bob',
      amount: 1,
      currency: 'EUR',
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error, 'type must be one of payment.recorded');
  });

  it('refuses a provider URL without TLS at start-up', async () => {
    const run = await runToExit('payments-api', apiEnv({ PROVIDER_URL: 'http://127.0.0.1:1' }));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /PROVIDER_URL: \\"http:\/\/127.0.0.1:1\\" must use https:\/\//);
  });
});
