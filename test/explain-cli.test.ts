/** npm run explain: the command line over the sample apps, as a reviewer would run it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runExplain } from '../tools/explain.js';

const SCRIPT = fileURLToPath(new URL('../tools/explain.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run explain', () => {
  it('answers one request as JSON with the documented fields', async () => {
    const r = await runExplain([
      '--app',
      'bookinfo',
      '--scenario',
      'ratings-test-abort',
      '--from',
      'reviews:v2',
      '--to',
      'ratings',
      '--path',
      '/ratings/0',
      '--header',
      'end-user=jason',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of [
      'allowed',
      'decidedBy',
      'route',
      'destinations',
      'timeout',
      'retries',
      'fault',
      'mirror',
      'mtls',
      'egressAllowed',
      'rateLimits',
    ]) {
      assert.ok(key in e, `${key} in the JSON`);
    }
    assert.equal(e.allowed, true);
    assert.equal(e.decidedBy, 'bookinfo/ratings-allow-callers');
    assert.equal(e.route, 0);
    assert.deepEqual(
      (e.destinations as { service: string; version: string; weight: number }[]).map(
        ({ service, version, weight }) => ({ service, version, weight }),
      ),
      [{ service: 'ratings', version: 'v1', weight: 100 }],
    );
    assert.deepEqual(e.fault, { abort: { httpStatus: 500, percentage: 100 } });
    assert.equal(e.egressAllowed, true);
  });

  it('prints a few readable lines per request, and every caller without --from', async () => {
    const r = await runExplain([
      '--app',
      'shop',
      '--env',
      'dev',
      '--to',
      'reviews',
      '--path',
      '/reviews/1',
      '--header',
      'end-user=jason',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [summary, ...blocks] = r.stdout.trim().split('\n\n');
    assert.equal(summary.split('\n')[0], 'GET /reviews/1 to reviews, from every caller:');
    assert.match(summary, /\n {2}storefront +ALLOWED {2}shop\/reviews-allow-callers\n/);
    assert.match(summary, /\n {2}catalog +DENIED {3}mtls \(not in its Sidecar egress\), shop\/default\n/);
    assert.match(summary, /\n {2}outside +DENIED {3}mtls, shop\/default$/);
    assert.match(summary, /\n {2}ingress +DENIED {3}authorization, shop\/allow-nothing\n/);
    const storefront = blocks.find((b) => b.startsWith('storefront → reviews'));
    assert.ok(storefront, r.stdout);
    assert.match(storefront, /verdict {3}ALLOWED by shop\/reviews-allow-callers/);
    assert.match(
      storefront,
      /route {5}VirtualService shop\/reviews, route "testers" \(header end-user exact "jason"\)/,
    );
    assert.match(storefront, /to {8}reviews v2 100%/);
    assert.match(storefront, /mTLS {6}STRICT \(shop\/default\); the caller sends mTLS/);
    const catalog = blocks.find((b) => b.startsWith('catalog → reviews'));
    assert.match(catalog ?? '', /verdict {3}DENIED/);
    assert.ok(
      blocks.some((b) => b.startsWith('ingress → reviews')) &&
        blocks.some((b) => b.startsWith('outside → reviews')),
    );
  });

  it('answers every caller as a JSON list without --from', async () => {
    const r = await runExplain([
      '--app',
      'bookinfo',
      '--scenario',
      'all-v1',
      '--to',
      'details',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse(r.stdout) as { caller: { name: string }; allowed: boolean }[];
    assert.deepEqual(
      all.filter((e) => e.allowed).map((e) => e.caller.name),
      ['productpage'],
    );
    assert.deepEqual(all.map((e) => e.caller.name).slice(-2), ['ingress', 'outside']);
  });

  it('takes JWT claims and says who decided', async () => {
    const bare = await runExplain([
      '--app',
      'shop',
      '--env',
      'dev',
      '--from',
      'outside',
      '--to',
      'shop.localhost',
      '--path',
      '/admin',
      '--format',
      'json',
    ]);
    assert.equal((JSON.parse(bare.stdout) as { decidedBy: string }).decidedBy, 'shop/storefront-require-jwt');
    const signed = await runExplain([
      '--app',
      'shop',
      '--env',
      'dev',
      '--from',
      'outside',
      '--to',
      'shop.localhost',
      '--path',
      '/admin',
      '--jwt-claims',
      '{"iss":"testing@secure.istio.io","sub":"alice"}',
      '--format',
      'json',
    ]);
    assert.equal((JSON.parse(signed.stdout) as { allowed: boolean }).allowed, true);
  });

  it('refuses bad input with exit code 2 and a message naming the option and the fix', async () => {
    const cases: [string[], RegExp][] = [
      [['--app', 'shop'], /--to <service \| host> is required/],
      [['--app', 'shop', '--to', 'reviews', '--port', 'x'], /--port x: give a port number from 1 to 65535/],
      [['--app', 'shop', '--to', 'reviews', '--header', 'nope'], /--header nope: write name=value/],
      [['--app', 'shop', '--to', 'reviews', '--jwt-claims', '{'], /--jwt-claims: not JSON/],
      [['--app', 'shop', '--to', 'reviews', '--format', 'yaml'], /--format yaml: use text or json/],
      [['--app', 'nope', '--to', 'reviews'], /unknown app "nope"/],
      [['--app', 'shop', '--from', 'ghost', '--to', 'reviews'], /from "ghost": no such service/],
      [['--to', 'reviews'], /--app is required/],
    ];
    for (const [args, message] of cases) {
      const r = await runExplain(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  it('runs as a script: --help exits 0, an unknown option exits 2 with the usage', () => {
    const help = spawnSync(process.execPath, [SCRIPT, '--help'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.ok(help.stdout.startsWith('usage: npm run explain'));
    const bad = spawnSync(process.execPath, [SCRIPT, '--frobnicate'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--frobnicate'/);
    assert.match(bad.stderr, /usage: npm run explain/);
  });
});
