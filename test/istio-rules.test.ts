import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Chart, Testing } from 'cdk8s';
import {
  DataPlane,
  Duration,
  GatewayApiIngress,
  GlobalRateLimitService,
  IstioIngress,
  LoadBalancer,
  MAX_DURATION_MILLIS,
  MeshNamespace,
  type MeshNamespaceProps,
  Microservice,
  Probe,
  Problems,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';
import { reviews } from './support/fixtures.js';
import { find, synth, synthErrors } from './support/synth.js';

/** The problems of one RE2 pattern, as a route's uri match reports them. */
function regexProblems(pattern: string): string[] {
  const p = new Problems();
  p.re2('uri', pattern);
  return p.list.map((x) => `${x.message}; ${x.fix}`);
}

const MAX_MS = MAX_DURATION_MILLIS;
const TOO_LONG = `9223372036.855s is above the longest duration Istio and Envoy read, 9223372036.854s (2^63-1 nanoseconds, about 292 years); use at most Duration.millis(${MAX_MS})`;

describe('durations Istio and Envoy refuse', () => {
  it("uses Go's time.Duration limit, 2^63-1 nanoseconds, in whole milliseconds", () => {
    assert.equal(BigInt(MAX_MS), (2n ** 63n - 1n) / 1_000_000n);
    // Envoy's own limit where it reads milliseconds, 9,223,372,036 whole seconds, is not stricter.
    assert.ok(MAX_MS < 9_223_372_037_000);
  });

  it('refuses every Duration prop one millisecond past the limit', () => {
    const long = Duration.millis(MAX_MS + 1);
    const { chart, ns, svc } = reviews({
      trafficPolicy: {
        connectionPool: { connectTimeout: long },
        outlierDetection: { interval: long, baseEjectionTime: long },
      },
      localRateLimit: { bucket: { maxTokens: 10, fillInterval: long } },
    });
    svc.addRoute({
      match: [{ uri: StringMatch.prefix('/a') }],
      to: svc.version('v1'),
      timeout: long,
      fault: { delay: { fixedDelay: long, percentage: 1 } },
    });
    svc.addRoute({ to: svc.version('v1'), retries: { attempts: 1, perTryTimeout: long } });
    const limits = new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: ns,
      domain: 'shop',
      descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 1, unit: RateLimitUnit.SECOND } }],
    });
    limits.apply(svc, { actions: [RateLimitAction.remoteAddress()], timeout: long });
    new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      to: svc,
      timeout: long,
    });
    assert.deepEqual(synthErrors(chart), [
      `[test/reviews] trafficPolicy.connectionPool.connectTimeout: ${TOO_LONG}`,
      `[test/reviews] trafficPolicy.outlierDetection.interval: ${TOO_LONG}`,
      `[test/reviews] trafficPolicy.outlierDetection.baseEjectionTime: ${TOO_LONG}`,
      `[test/reviews] routes[0].timeout: ${TOO_LONG}`,
      `[test/reviews] routes[0].fault.delay.fixedDelay: ${TOO_LONG}`,
      `[test/reviews] routes[1].retries.perTryTimeout: ${TOO_LONG}`,
      `[test/reviews/local-rate-limit] bucket.fillInterval: ${TOO_LONG}`,
      `[test/reviews/global-rate-limit] timeout: ${TOO_LONG}`,
      `[test/edge] routes[0].timeout: ${TOO_LONG}`,
    ]);
  });

  it('accepts the longest, 9223372036.854s, and renders it', () => {
    const longest = Duration.millis(MAX_MS);
    const { chart, svc } = reviews({
      trafficPolicy: { connectionPool: { connectTimeout: longest } },
      localRateLimit: { bucket: { maxTokens: 10, fillInterval: longest } },
    });
    svc.addRoute({ to: svc.version('v1'), timeout: longest });
    const objs = synth(chart);
    assert.equal(find(objs, 'VirtualService', 'reviews').spec.http[0].timeout, '9223372036854ms');
    const filter = find(objs, 'EnvoyFilter', 'reviews-local-ratelimit');
    assert.equal(
      filter.spec.configPatches[0].patch.value.typed_config.value.token_bucket.fill_interval,
      '9223372036.854s',
    );
  });

  it('refuses probe durations beyond the int32 seconds of the Probe API, and accepts the largest', () => {
    const probe = (s: number) => Probe.httpGet('/readyz', 9080, { period: Duration.seconds(s) });
    assert.deepEqual(synthErrors(reviews({ probes: { readiness: probe(2147483648) } }).chart), [
      "[test/reviews] probes.readiness.period: 2147483648s is above the API server's maximum of 2147483647s for this field; use Duration.seconds(n) with n ≤ 2147483647",
    ]);
    synth(reviews({ probes: { readiness: probe(2147483647) } }).chart);
  });

  it('refuses a cookie TTL Envoy would cut to whole seconds, and accepts whole seconds up to the limit', () => {
    const lb = (ttl: Duration) => ({ loadBalancer: LoadBalancer.consistentHashByCookie('user', ttl) });
    assert.deepEqual(synthErrors(reviews({ trafficPolicy: lb(Duration.millis(1500)) }).chart), [
      "[test/reviews] trafficPolicy.loadBalancer.ttl: 1500ms is not a whole number of seconds, and Envoy keeps only the whole seconds of a cookie's TTL; use Duration.seconds(n) with n ≥ 1",
    ]);
    // 1ms, the shortest TTL Istio takes, is a session cookie to Envoy: refused the same way.
    assert.deepEqual(synthErrors(reviews({ trafficPolicy: lb(Duration.millis(1)) }).chart), [
      "[test/reviews] trafficPolicy.loadBalancer.ttl: 1ms is not a whole number of seconds, and Envoy keeps only the whole seconds of a cookie's TTL; use Duration.seconds(n) with n ≥ 1",
    ]);
    // A TTL wrong by itself is reported once, as such.
    assert.deepEqual(synthErrors(reviews({ trafficPolicy: lb(Duration.millis(1.5)) }).chart), [
      '[test/reviews] trafficPolicy.loadBalancer.ttl: 1.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(2)',
    ]);
    // Istio's CRD refuses "0s" (duration(self) >= duration('1ms')), so 0 is no session cookie here.
    assert.deepEqual(synthErrors(reviews({ trafficPolicy: lb(Duration.seconds(0)) }).chart), [
      "[test/reviews] trafficPolicy.loadBalancer.ttl: 0ms is below Istio's minimum of 1ms; use Duration.millis(1) or more",
    ]);
    assert.deepEqual(synthErrors(reviews({ trafficPolicy: lb(Duration.seconds(9223372037)) }).chart), [
      `[test/reviews] trafficPolicy.loadBalancer.ttl: ${TOO_LONG.replace('9223372036.855s', '9223372037s')}`,
    ]);
    synth(reviews({ trafficPolicy: lb(Duration.seconds(9223372036)) }).chart);
    synth(reviews({ trafficPolicy: lb(Duration.seconds(1)) }).chart);
  });

  it("refuses a Gateway API timeout past the Gateway API's longest duration, and accepts the longest", () => {
    const build = (ms: number) => {
      const { chart, ns, svc } = reviews();
      new GatewayApiIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
        to: svc,
        timeout: Duration.millis(ms),
      });
      return chart;
    };
    const longest = ((99999 * 60 + 59) * 60 + 59) * 1000 + 999;
    const objs = synth(build(longest));
    assert.deepEqual(find(objs, 'HTTPRoute', 'edge').spec.rules[0].timeouts, {
      request: '99999h59m59s999ms',
    });
    assert.deepEqual(synthErrors(build(longest + 1)), [
      "[test/edge] routes[0].timeout: 360000000s is above the Gateway API's longest duration, 99999h59m59s999ms; use a shorter timeout",
    ]);
  });
});

describe('regular expressions RE2 refuses', () => {
  it('refuses an empty pattern and one longer than 1024 characters, accepts 1024', () => {
    assert.deepEqual(regexProblems(''), [
      'is an empty regular expression, which Istio refuses; give a pattern, e.g. ".+"',
    ]);
    assert.deepEqual(regexProblems('a'.repeat(1025)), [
      "the regular expression is 1025 characters long, above Istio's limit of 1024; shorten it, or split it across several matches",
    ]);
    assert.deepEqual(regexProblems('a'.repeat(1024)), []);
  });

  it('refuses \\u and the other escapes RE2 does not know, which JavaScript takes', () => {
    assert.deepEqual(regexProblems('/caf\\u00e9'), [
      '"/caf\\u00e9" uses the escape \\u00e9, which RE2 (Envoy\'s regex engine) does not know; write the character itself, or \\x{hex} for a code point',
    ]);
    const other =
      "which RE2 (Envoy's regex engine) does not know; escape only punctuation; write letters, digits and other characters as themselves, or \\x{hex}";
    assert.deepEqual(regexProblems('\\e'), [`"\\e" uses the escape \\e, ${other}`]);
    assert.deepEqual(regexProblems('\\C'), [`"\\C" uses the escape \\C, ${other}`]);
    assert.deepEqual(regexProblems('\\xG1'), [`"\\xG1" uses the escape \\xG1, ${other}`]);
    assert.deepEqual(regexProblems('\\x{110000}'), [`"\\x{110000}" uses the escape \\x{110000}, ${other}`]);
    assert.deepEqual(regexProblems('[\\b]'), [
      `"[\\b]" uses the escape \\b inside a character class, ${other}`,
    ]);
    // What RE2 knows: \x in both forms, \_ and other punctuation, octal, Perl classes, \A \b \z.
    for (const ok of [
      '\\x41\\x{1F600}{2}',
      '\\_\\-\\.',
      '\\0\\101',
      '\\A\\bword\\b\\z',
      '[\\d\\s\\w-]',
      '\\Q\\u\\E',
    ]) {
      assert.deepEqual(regexProblems(ok), [], ok);
    }
  });

  it('refuses counted repetitions above 1000, also multiplied through nested groups', () => {
    assert.deepEqual(regexProblems('a{1000}'), []);
    assert.deepEqual(regexProblems('a{1001}'), [
      '"a{1001}" repeats 1001 times, above RE2\'s limit of 1000; use * or + instead of a large count, or smaller counts',
    ]);
    assert.deepEqual(regexProblems('a{2,1001}'), [
      '"a{2,1001}" repeats 1001 times, above RE2\'s limit of 1000; use * or + instead of a large count, or smaller counts',
    ]);
    assert.deepEqual(regexProblems('(?:a{10}){100}'), []);
    assert.deepEqual(regexProblems('(?:a{10}){101}'), [
      '"(?:a{10}){101}" repeats 1010 times through nested counted repetitions, above RE2\'s limit of 1000; use * or + instead of a large count, or smaller counts',
    ]);
    // A {0} repetition is not counted through, as RE2 does; alternatives do not multiply.
    assert.deepEqual(regexProblems('((a{30}){0}){40}'), []);
    assert.deepEqual(regexProblems('(a{999}|b{999}){1}'), []);
  });

  it('refuses POSIX and Unicode classes and group names RE2 does not have', () => {
    assert.deepEqual(regexProblems('[[:alpha:][:^digit:]]\\pL\\p{Lu}\\p{Greek}\\P{^Han}\\p{Any}'), []);
    assert.deepEqual(regexProblems('[[:word:][:letter:]]'), [
      '"[[:word:][:letter:]]" uses the character class [:letter:], which RE2 does not have; use one of [:alnum:], [:alpha:], [:ascii:], [:blank:], [:cntrl:], [:digit:], [:graph:], [:lower:], [:print:], [:punct:], [:space:], [:upper:], [:word:], [:xdigit:]',
    ]);
    assert.deepEqual(regexProblems('\\p{Letter}'), [
      '"\\p{Letter}" uses the Unicode class \\p{Letter}, which RE2 does not have; use a general category such as \\pL or \\p{Lu}, or a script such as \\p{Greek}',
    ]);
    assert.deepEqual(regexProblems('(?P<user-id>[0-9]+)'), [
      '"(?P<user-id>[0-9]+)" names a group "user-id", which RE2 refuses; name each group once, with letters, digits and "_"',
    ]);
    assert.deepEqual(regexProblems('(?P<id>a)(?P<id>b)'), [
      '"(?P<id>a)(?P<id>b)" names a group "id", which RE2 refuses as a duplicate; name each group once, with letters, digits and "_"',
    ]);
    // RE2 reads "]" right after "[" as part of the class: "[]" never closes.
    assert.deepEqual(regexProblems('[]a]'), []);
    assert.deepEqual(regexProblems('[]'), [
      '"[]" is not a valid regular expression to RE2 (missing closing ]); close the character class; RE2 reads a "]" right after "[" or "[^" as part of the class',
    ]);
  });

  it('checks the regexes of every StringMatch place, the method included', () => {
    const { chart, svc } = reviews();
    svc.addRoute({
      match: [
        {
          uri: StringMatch.regex(''),
          method: StringMatch.regex('GET|\\u0050OST'),
          headers: { 'x-a': StringMatch.regex('a{1001}') },
          queryParams: { q: StringMatch.regex('\\p{Letter}') },
        },
      ],
      to: svc.version('v2'),
    });
    svc.addRoute({ to: svc.version('v1') });
    assert.deepEqual(
      synthErrors(chart).map((e) => e.replace(/:.*/, '')),
      [
        '[test/reviews] routes[0].match[0].uri',
        '[test/reviews] routes[0].match[0].headers["x-a"]',
        '[test/reviews] routes[0].match[0].queryParams["q"]',
        '[test/reviews] routes[0].match[0].method',
      ],
    );
  });
});

describe('matches that can never match', () => {
  it('refuses an empty prefix on headers, query parameters and the method, as istiod does', () => {
    const { chart, svc } = reviews();
    svc.addRoute({
      match: [
        {
          headers: { 'x-a': StringMatch.prefix(''), 'x-b': StringMatch.prefix('b') },
          queryParams: { q: StringMatch.prefix('') },
          method: StringMatch.prefix(''),
        },
      ],
      to: svc.version('v2'),
    });
    svc.addRoute({ to: svc.version('v1') });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] routes[0].match[0].method: is an empty prefix, which Istio refuses; leave method out to match any method',
      '[test/reviews] routes[0].match[0].headers["x-a"]: is an empty prefix, which Istio refuses; to match any value of a present header, use StringMatch.regex(".*")',
      '[test/reviews] routes[0].match[0].queryParams["q"]: is an empty prefix, which Istio refuses; to match any value of a present parameter, use StringMatch.regex(".*")',
    ]);
  });

  it('refuses lower-case methods, also a regex that takes only lower-case ones', () => {
    const { chart, svc } = reviews();
    const route = (method: StringMatch) => svc.addRoute({ match: [{ method }], to: svc.version('v2') });
    route(StringMatch.exact('get'));
    route(StringMatch.prefix('Po'));
    route(StringMatch.regex('get|post'));
    // Accepted: upper-case, a case-insensitive regex, and methods outside RFC 9110 (WebDAV).
    route(StringMatch.exact('GET'));
    route(StringMatch.regex('(?i)get'));
    route(StringMatch.regex('PROPFIND|MKCOL'));
    route(StringMatch.prefix('P'));
    svc.addRoute({ to: svc.version('v1') });
    const fix =
      'and Envoy compares methods case-sensitively with the upper-case methods clients send, so it never matches';
    assert.deepEqual(synthErrors(chart), [
      `[test/reviews] routes[0].match[0].method: exact "get" is lower-case, ${fix}; write it as "GET"`,
      `[test/reviews] routes[1].match[0].method: prefix "Po" is lower-case, ${fix}; write it as "PO"`,
      `[test/reviews] routes[2].match[0].method: regex "get|post" is lower-case, ${fix}; write the methods upper-case, e.g. "GET|HEAD"`,
    ]);
  });

  it('refuses CR, LF and other control characters in methods, paths, header values and query parameters', () => {
    const { chart, ns, svc } = reviews({
      localRateLimit: {
        bucket: { maxTokens: 10, fillInterval: Duration.seconds(1) },
        paths: [{ prefix: '/api\u0000', bucket: { maxTokens: 1, fillInterval: Duration.seconds(1) } }],
      },
    });
    svc.addRoute({
      match: [
        {
          uri: StringMatch.prefix('/a\n'),
          method: StringMatch.exact('GET\r'),
          headers: { 'x-user': StringMatch.exact('jason\r\nx-admin: 1'), 'x-tab': StringMatch.exact('a\tb') },
          // Envoy matches query parameters undecoded: %0A stays "%0A", a raw LF never comes.
          queryParams: { q: StringMatch.exact('a\nb'), r: StringMatch.exact('a%0Ab') },
        },
      ],
      to: svc.version('v2'),
    });
    svc.addRoute({ to: svc.version('v1') });
    const front = new Microservice(chart, 'front', { namespace: ns, image: 'f:1', versions: { v1: {} } });
    front.calls(svc, { paths: ['/admin\u007f'] });
    new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      exactPath: '/x\u001b',
      to: front,
    });
    const never = 'which no request carries, so it never matches; remove the control character';
    assert.deepEqual(synthErrors(chart), [
      `[test/reviews] routes[0].match[0].uri: "/a\\n" contains the control character \\x0a, ${never}`,
      `[test/reviews] routes[0].match[0].headers["x-user"]: "jason\\r\\nx-admin: 1" contains the control character \\x0d, ${never}`,
      `[test/reviews] routes[0].match[0].queryParams["q"]: "a\\nb" contains the control character \\x0a, ${never}`,
      `[test/reviews] routes[0].match[0].method: "GET\\r" contains the control character \\x0d, ${never}`,
      `[test/reviews] callers[0] (front).paths: "/admin\\u007f" contains the control character \\x7f, ${never}`,
      `[test/reviews/local-rate-limit] paths[0].prefix: "/api\\u0000" contains the control character \\x00, ${never}`,
      `[test/edge] routes[0].exactPath: "/x\\u001b" contains the control character \\x1b, ${never}`,
    ]);
  });

  it('leaves control characters in a regex alone: a negated class may name them, as RE2 allows', () => {
    const { chart, svc } = reviews();
    svc.addRoute({
      match: [
        {
          // The characters themselves (JavaScript escapes, not RE2's): "any value without one".
          headers: { 'x-user': StringMatch.regex('[^\x00-\x1f\x7f]+') },
          queryParams: { q: StringMatch.regex('[^\n]*') },
          uri: StringMatch.regex('/[^\r\n]*'),
        },
      ],
      to: svc.version('v2'),
    });
    svc.addRoute({ to: svc.version('v1') });
    const [match] = find(synth(chart), 'VirtualService', 'reviews').spec.http[0].match;
    assert.equal(match.headers['x-user'].regex, '[^\x00-\x1f\x7f]+');
    assert.equal(match.uri.regex, '/[^\r\n]*');
  });

  it('refuses sourceLabels no workload can carry, and accepts prefixed keys and empty values', () => {
    const { chart, svc } = reviews();
    svc.addRoute({
      match: [
        { sourceLabels: { app: 'front end', 'Bad Key!': 'x', 'app.kubernetes.io/name': 'front', tier: '' } },
      ],
      to: svc.version('v2'),
    });
    svc.addRoute({ to: svc.version('v1') });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] routes[0].match[0].sourceLabels["app"]: "front end" is not a label value, so no workload carries it; use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      '[test/reviews] routes[0].match[0].sourceLabels: "Bad Key!" is not a label key, so no workload carries it; use [prefix/]name with a name of at most 63 letters, digits, "-", "_" and "."',
    ]);
  });

  it('refuses a mirror to a version the route already sends requests to', () => {
    const { chart, svc } = reviews();
    const header = (v: string) => [{ headers: { 'x-v': StringMatch.exact(v) } }];
    svc.addRoute({ match: header('1'), to: svc.version('v1'), mirror: { to: svc.version('v1') } });
    svc.addRoute({
      match: header('2'),
      to: [
        { version: svc.version('v1'), weight: 90 },
        { version: svc.version('v2'), weight: 10 },
      ],
      mirror: { to: svc.version('v2'), percentage: 50 },
    });
    // Accepted: a version with weight 0, a mirror of 0 %, and a version the route does not send to.
    svc.addRoute({
      match: header('3'),
      to: [
        { version: svc.version('v1'), weight: 100 },
        { version: svc.version('v2'), weight: 0 },
      ],
      mirror: { to: svc.version('v2') },
    });
    svc.addRoute({
      match: header('4'),
      to: svc.version('v1'),
      mirror: { to: svc.version('v1'), percentage: 0 },
    });
    svc.addRoute({ to: svc.version('v1'), mirror: { to: svc.version('v2') } });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] routes[0].mirror.to: version "v1" already receives 100 % of this route\'s requests, so each one mirrored runs twice on it; mirror to a version the route does not send requests to',
      '[test/reviews] routes[1].mirror.to: version "v2" already receives 10 % of this route\'s requests, so each one mirrored runs twice on it; mirror to a version the route does not send requests to',
    ]);
  });

  it('refuses retries whose attempts × perTryTimeout is not less than the route timeout', () => {
    const build = (timeout: Duration) => {
      const { chart, svc } = reviews();
      svc.addRoute({
        to: svc.version('v1'),
        timeout,
        retries: { attempts: 2, perTryTimeout: Duration.millis(1500) },
      });
      return chart;
    };
    assert.deepEqual(synthErrors(build(Duration.seconds(3))), [
      "[test/reviews] routes[0].retries: 2 × perTryTimeout 1500ms = 3s is not less than the route's timeout 3s, so when tries time out the request ends before its last retry starts; make the timeout longer, or lower attempts or perTryTimeout",
    ]);
    synth(build(Duration.millis(3001)));
  });

  it("refuses an ingress timeout that cuts the retries of the service's routes at the gateway", () => {
    const build = (ownTimeout?: Duration) => {
      const { chart, ns, svc } = reviews();
      svc.addRoute({
        to: svc.version('v1'),
        timeout: ownTimeout,
        retries: { attempts: 3, perTryTimeout: Duration.seconds(1) },
      });
      new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
        to: svc,
        timeout: Duration.seconds(2),
      });
      return chart;
    };
    assert.deepEqual(synthErrors(build()), [
      "[test/edge] routes[0].timeout: 2s is also the timeout of reviews's routes[0] at the gateway, and its 3 × perTryTimeout 1s = 3s is not less, so when tries time out the request ends before its last retry starts; make the timeout longer, or give reviews's routes[0] a timeout of its own",
    ]);
    synth(build(Duration.seconds(4)));
  });

  it('refuses a JWKS URI without a host or with a port istiod cannot fetch from', () => {
    const { chart, svc } = reviews();
    for (const jwksUri of [
      'https:///jwks.json',
      'https://user@:8443/jwks.json',
      'https://auth.example.com:0/jwks.json',
      'https://auth.example.com:https/jwks.json',
      // Accepted: a port, user info, an IPv6 literal, an empty port (Go's url takes it as none).
      'https://auth.example.com:8443/jwks.json',
      'https://user@auth.example.com/jwks.json',
      'http://[fd00::1]:8080/jwks.json',
      'https://auth.example.com:/jwks.json',
    ]) {
      svc.requireJwt({ issuer: 'https://auth.example.com/', jwksUri, paths: ['/admin'] });
    }
    const noHost =
      'has no host, so istiod cannot fetch the keys and every token is refused; write the URL with its host, e.g. "https://auth.example.com/.well-known/jwks.json"';
    const badPort =
      'so istiod cannot fetch the keys and every token is refused; leave the port out, or use one from 1 to 65535';
    assert.deepEqual(synthErrors(chart), [
      `[test/reviews] jwt[0].jwksUri: "https:///jwks.json" ${noHost}`,
      `[test/reviews] jwt[1].jwksUri: "https://user@:8443/jwks.json" ${noHost}`,
      `[test/reviews] jwt[2].jwksUri: "https://auth.example.com:0/jwks.json" has the port "0", ${badPort}`,
      `[test/reviews] jwt[3].jwksUri: "https://auth.example.com:https/jwks.json" has the port "https", ${badPort}`,
    ]);
  });

  it('refuses a revision label that names no control plane, and data-plane labels that contradict dataPlane', () => {
    const build = (props: MeshNamespaceProps) => {
      const chart = Testing.chart();
      new MeshNamespace(chart, 'shop', props);
      return chart;
    };
    assert.deepEqual(synthErrors(build({ dataPlane: DataPlane.revision('') })), [
      '[test/shop] dataPlane: revision "" is not the name of a control plane revision (an RFC 1123 label), so no injector selects the namespace and pods get no sidecar; give the revision of an installed control plane, e.g. DataPlane.revision("1-30-3"), or use DataPlane.sidecar()',
    ]);
    assert.equal(synthErrors(build({ dataPlane: DataPlane.revision('Canary_1') })).length, 1);
    synth(build({ dataPlane: DataPlane.revision('1-30-3') }));

    assert.deepEqual(
      synthErrors(
        build({ labels: { 'istio-injection': 'disabled', 'istio.io/rev': 'canary', team: 'books' } }),
      ),
      [
        '[test/shop] labels["istio-injection"]: "disabled" contradicts dataPlane, which sets istio-injection=enabled; remove the label and choose the data plane with dataPlane',
        '[test/shop] labels["istio.io/rev"]: "canary" contradicts dataPlane, which sets istio-injection=enabled; remove the label and choose the data plane with dataPlane',
      ],
    );
    assert.deepEqual(
      synthErrors(build({ dataPlane: DataPlane.ambient(), labels: { 'istio-injection': 'enabled' } })),
      [
        '[test/shop] labels["istio-injection"]: "enabled" contradicts dataPlane, which sets istio.io/dataplane-mode=ambient; remove the label and choose the data plane with dataPlane',
      ],
    );
    // The label dataPlane sets, repeated with the same value, changes nothing.
    const objs = synth(build({ labels: { 'istio-injection': 'enabled', team: 'books' } }));
    assert.deepEqual(find(objs, 'Namespace', 'shop').metadata.labels, {
      team: 'books',
      'istio-injection': 'enabled',
    });
  });

  it("refuses a fault or mirror percentage below Istio's smallest step, which Envoy gets as 0", () => {
    // Istio sends uint32(percentage * 10000) per million, truncated: 0.0001 is the smallest step.
    const build = (percentage: number) => {
      const { chart, svc } = reviews();
      svc.addRoute({
        to: svc.version('v1'),
        fault: {
          delay: { fixedDelay: Duration.seconds(1), percentage },
          abort: { httpStatus: 503, percentage },
        },
        mirror: { to: svc.version('v2'), percentage },
      });
      return chart;
    };
    const step = "is below Istio's smallest step of 0.0001 (one in a million), so Envoy gets 0 and";
    assert.deepEqual(synthErrors(build(0.00009)), [
      `[test/reviews] routes[0].fault.delay.percentage: 0.00009 ${step} no request is delayed; use 0.0001 or more, or 0 to turn it off`,
      `[test/reviews] routes[0].fault.abort.percentage: 0.00009 ${step} no request is aborted; use 0.0001 or more, or 0 to turn it off`,
      `[test/reviews] routes[0].mirror.percentage: 0.00009 ${step} nothing is mirrored; use 0.0001 or more, or 0 to turn it off`,
    ]);
    // Just below the step, and a value whose product rounds below 1 in floating point.
    assert.equal(synthErrors(build(0.0000999999)).length, 3);
    assert.equal(0.0001 * 10000, 1, 'the smallest step multiplies to exactly one in a million');
    const http = find(synth(build(0.0001)), 'VirtualService', 'reviews').spec.http[0];
    assert.deepEqual(http.fault.delay.percentage, { value: 0.0001 });
    assert.deepEqual(http.mirrorPercentage, { value: 0.0001 });
    // Between steps Envoy truncates (0.00015 → 1 per million), which still applies: accepted.
    synth(build(0.00015));
    // 0 turns the fault and the mirror off on purpose.
    synth(build(0));
  });
});

describe('what Envoy and the rate limit service refuse', () => {
  it('refuses token buckets beyond uint32, and accepts 4294967295', () => {
    const bucket = (n: number) => ({ maxTokens: n, tokensPerFill: n, fillInterval: Duration.seconds(1) });
    const build = (n: number) =>
      reviews({ localRateLimit: { bucket: bucket(n), paths: [{ prefix: '/api', bucket: bucket(n) }] } })
        .chart;
    const over =
      "4294967296 is above Envoy's token bucket's maximum of 4294967295 (uint32); use 4294967295 or less";
    assert.deepEqual(synthErrors(build(4294967296)), [
      `[test/reviews/local-rate-limit] bucket.maxTokens: ${over}`,
      `[test/reviews/local-rate-limit] bucket.tokensPerFill: ${over}`,
      `[test/reviews/local-rate-limit] paths[0].bucket.maxTokens: ${over}`,
      `[test/reviews/local-rate-limit] paths[0].bucket.tokensPerFill: ${over}`,
    ]);
    synth(build(4294967295));
  });

  it('refuses two local rate limit paths with the same prefix (a duplicate descriptor)', () => {
    const bucket = { maxTokens: 5, fillInterval: Duration.seconds(1) };
    const { chart } = reviews({
      localRateLimit: {
        bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) },
        paths: [
          { prefix: '/api', bucket },
          { prefix: '/api/', bucket },
          { prefix: '/api', bucket: { maxTokens: 1, fillInterval: Duration.seconds(1) } },
        ],
      },
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews/local-rate-limit] paths[2].prefix: "/api" repeats paths[0], and Envoy refuses duplicate local rate limit descriptors, rejecting the inbound routes of reviews; give each prefix one bucket',
    ]);
  });

  it("refuses a requestsPerUnit beyond the rate limit service's uint32, and accepts 4294967295", () => {
    const build = (requestsPerUnit: number) => {
      const chart = Testing.chart();
      new GlobalRateLimitService(chart, 'ratelimit', {
        namespace: new MeshNamespace(chart, 'shop'),
        domain: 'shop',
        descriptors: [{ key: 'remote_address', limit: { requestsPerUnit, unit: RateLimitUnit.SECOND } }],
      });
      return chart;
    };
    assert.deepEqual(synthErrors(build(4294967296)), [
      "[test/ratelimit] descriptors[0].limit.requestsPerUnit: 4294967296 is above the rate limit service's maximum of 4294967295 (uint32); use 4294967295 or less",
    ]);
    synth(build(4294967295));
  });
});

describe('HTTP-only authorization on TCP services', () => {
  function tcp(ports: readonly ServicePort[]) {
    const { chart, ns, svc } = reviews({ ports });
    const front = new Microservice(chart, 'front', { namespace: ns, image: 'f:1', versions: { v1: {} } });
    return { chart, svc, front };
  }

  it('refuses methods or paths for a caller of a service whose ports are all TCP (Istio drops the ALLOW rule)', () => {
    const { chart, svc, front } = tcp([ServicePort.tcp(5432)]);
    front.calls(svc, { methods: ['GET'] });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] callers[0] (front): methods and paths are HTTP-only, and every port of reviews is TCP, so Istio drops this ALLOW rule and the caller is denied; leave methods and paths out, or give the service an HTTP port',
    ]);
  });

  it('accepts a caller without methods or paths on TCP, and one with them when the service has an HTTP port', () => {
    const plain = tcp([ServicePort.tcp(5432)]);
    plain.front.calls(plain.svc);
    synth(plain.chart);
    const mixed = tcp([ServicePort.http(9080), ServicePort.tcp(5432)]);
    mixed.front.calls(mixed.svc, { methods: ['GET'], paths: ['/books'] });
    synth(mixed.chart);
  });

  it('refuses JWT on a service with a TCP port, where the DENY rule loses its HTTP-only fields and denies every connection', () => {
    const { chart, svc } = tcp([ServicePort.http(9080), ServicePort.tcp(5432)]);
    svc.requireJwt({
      issuer: 'https://auth.example.com/',
      jwksUri: 'https://auth.example.com/jwks',
      paths: ['/admin'],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] jwt[0]: port 5432 of reviews is TCP, where Istio ignores the HTTP-only fields (token, paths) of the DENY rule that requires the token, so it denies every connection to that port; require JWT on services whose ports are all HTTP; move the TCP port to a service of its own',
    ]);
  });
});

describe('the mesh root namespace', () => {
  const root = (props: MeshNamespaceProps = {}) => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'istio-system', props);
    return { chart, ns };
  };

  it('refuses the allow-nothing policy there, which denies every request of the mesh', () => {
    assert.deepEqual(synthErrors(root().chart), [
      '[test/istio-system] defaultDeny: "istio-system" is Istio\'s mesh root namespace, where the allow-nothing policy applies to every workload of the mesh and denies every request everywhere; set defaultDeny: false for the root namespace, or use another namespace',
    ]);
    synth(root({ defaultDeny: false }).chart);
  });

  it('refuses a service there whose selector-based policies would govern same-named workloads everywhere', () => {
    const { chart, ns } = root({ defaultDeny: false });
    const gateway = new Microservice(chart, 'gateway', { namespace: ns, image: 'g:1', versions: { v1: {} } });
    const front = new Microservice(chart, 'front', { namespace: ns, image: 'f:1', versions: { v1: {} } });
    front.calls(gateway);
    gateway.requireJwt({
      issuer: 'https://a.example.com/',
      jwksUri: 'https://a.example.com/jwks',
      paths: ['/x'],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/gateway] namespace: "istio-system" is Istio\'s mesh root namespace, where the AuthorizationPolicy of its callers, its JWT policies would select every workload labelled app=gateway in every namespace; run the service in a namespace of its own',
    ]);
  });
});

describe('the mesh root namespace, for global rate limits', () => {
  it('refuses the rate limit service there, and a target there, whose selectors reach every namespace', () => {
    const chart = Testing.chart();
    const root = new MeshNamespace(chart, 'istio-system', { defaultDeny: false });
    const limits = new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: root,
      domain: 'shop',
      descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 1, unit: RateLimitUnit.SECOND } }],
    });
    const gateway = new Microservice(chart, 'gateway', {
      namespace: root,
      image: 'g:1',
      versions: { v1: {} },
    });
    limits.apply(gateway, { actions: [RateLimitAction.remoteAddress()] });
    assert.deepEqual(synthErrors(chart), [
      '[test/ratelimit] namespace: "istio-system" is Istio\'s mesh root namespace, where the AuthorizationPolicy of the rate limit service would select every workload labelled app=ratelimit in every namespace; run the rate limit service in a namespace of its own',
      '[test/ratelimit/redis] namespace: "istio-system" is Istio\'s mesh root namespace, where the AuthorizationPolicy of its callers would select every workload labelled app=redis in every namespace; run the service in a namespace of its own',
      '[test/gateway/global-rate-limit] target: gateway runs in "istio-system", Istio\'s mesh root namespace, where these EnvoyFilters would select every workload labelled app=gateway in every namespace; rate limit services in namespaces of their own',
    ]);
  });
});

describe('still accepted on purpose', () => {
  it('synthesizes a route that uses every rule at its last accepted value', () => {
    const { chart, svc } = reviews();
    svc.addRoute({
      match: [
        {
          uri: StringMatch.regex('/books/\\x{41}{3}/(?P<id>[0-9]{1,1000})'),
          method: StringMatch.exact('PATCH'),
          headers: { 'x-tab': StringMatch.exact('a\tb'), 'x-a': StringMatch.prefix('a') },
          queryParams: { q: StringMatch.exact('line%0Abreak') },
        },
      ],
      to: svc.version('v2'),
      timeout: Duration.millis(2001),
      retries: { attempts: 2, perTryTimeout: Duration.seconds(1) },
      fault: { abort: { httpStatus: 503, percentage: 0.0001 } },
    });
    svc.addRoute({ to: svc.version('v1') });
    const objs = synth(chart as Chart);
    assert.equal(find(objs, 'VirtualService', 'reviews').spec.http.length, 2);
  });
});

describe('authorization paths and JWT rules, at their edges', () => {
  /** A namespace "shop" with "reviews", and a maker of more services there to call it. */
  const callersOfReviews = () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', {});
    const mk = (name: string) =>
      new Microservice(chart, name, { namespace: ns, image: `${name}:1`, versions: { v1: {} } });
    return { chart, mk, svc: mk('reviews') };
  };

  it('refuses empty method and path lists, paths Istio cannot match, an empty issuer and JWKS ports out of range', () => {
    const { chart, mk, svc } = callersOfReviews();
    mk('a').calls(svc, { methods: [] });
    mk('b').calls(svc, { paths: [] });
    // Accepted: whole-segment templates, a prefix, a suffix, "*"; refused: the rest.
    mk('c').calls(svc, {
      paths: ['/a/{*}/b', '/a/{**}', 'a/{*}', '/a/{**}/b', '/a/x{*}', '/a*', '*.js', '*', '/a/*/b', 'a'],
    });
    for (const jwksUri of [
      'https://[]/jwks',
      'https://auth.example.com:1/j',
      'https://auth.example.com:65535/j',
      'https://auth.example.com:65536/j',
    ])
      svc.requireJwt({ issuer: 'https://auth.example.com/', jwksUri, paths: ['/admin'] });
    svc.requireJwt({ issuer: '', jwksUri: 'https://auth.example.com/j', paths: ['/admin'] });
    const path = (p: string) =>
      `[test/reviews] callers[2] (c).paths: "${p}" is not a path Istio's authorization can match; use an exact path "/a/b", a prefix "/a/*", a suffix "*.js", or whole-segment templates "/a/{*}/b", "/a/{**}"`;
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] callers[0] (a).methods: is an empty list, which allows nothing; leave methods out to allow any',
      '[test/reviews] callers[1] (b).paths: is an empty list, which allows nothing; leave paths out to allow any',
      path('a/{*}'),
      path('/a/{**}/b'),
      path('/a/x{*}'),
      path('/a/*/b'),
      path('a'),
      '[test/reviews] jwt[0].jwksUri: "https://[]/jwks" has no host, so istiod cannot fetch the keys and every token is refused; write the URL with its host, e.g. "https://auth.example.com/.well-known/jwks.json"',
      '[test/reviews] jwt[3].jwksUri: "https://auth.example.com:65536/j" has the port "65536", so istiod cannot fetch the keys and every token is refused; leave the port out, or use one from 1 to 65535',
      '[test/reviews] jwt[4].issuer: is empty; give the issuer of the tokens',
    ]);
  });

  it('renders each method and path once, sorted, whatever order a caller lists them in', () => {
    const { chart, mk, svc } = callersOfReviews();
    mk('a').calls(svc, { methods: ['POST', 'GET', 'POST'], paths: ['/b', '/a', '/b'] });
    assert.deepEqual(find(synth(chart), 'AuthorizationPolicy', 'reviews-allow-callers').spec.rules[0].to, [
      { operation: { methods: ['GET', 'POST'], paths: ['/a', '/b'] } },
    ]);
  });
});
