/** The explanation as a few readable lines, for `npm run explain`. */
import type { Explanation } from './explain.js';
import { expectArgument, refuseArgument } from '../describe-value.js';
import { isRecord } from './objects.js';

/** Refuses what explainRequest did not return: a JavaScript caller's answer of another shape. */
function expectExplanation(fn: string, arg: string, e: unknown): void {
  if (isRecord(e) && isRecord(e.request) && isRecord(e.request.headers) && isRecord(e.caller)) return;
  refuseArgument(
    fn,
    arg,
    e,
    'an Explanation',
    'pass what explainRequest (or, for formatAllCallers, explainAllCallers) returns',
  );
}

/** A policy's settings as "tcp.maxConnections 100, http.http1MaxPendingRequests 10": flat and short. */
function fields(v: Record<string, unknown>): string {
  const out: string[] = [];
  const walk = (x: unknown, prefix: string) => {
    if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
      for (const [k, y] of Object.entries(x)) walk(y, prefix ? `${prefix}.${k}` : k);
    } else {
      out.push(`${prefix} ${typeof x === 'string' ? x : JSON.stringify(x)}`);
    }
  };
  walk(v, '');
  // A single setting such as { mode: ISTIO_MUTUAL } or { simple: LEAST_REQUEST } reads as its value.
  return out.length === 1 && !out[0].includes('.') ? out[0].split(' ').slice(1).join(' ') : out.join(', ');
}

function weightText(w: number | null): string {
  return w === null ? '' : ` ${w}%`;
}

/** One request's answer: the verdict first, then routing, resilience and security, one topic a line. */
export function formatExplanation(e: Explanation): string {
  expectExplanation('formatExplanation', 'e', e);
  const r = e.request;
  const extra = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .concat(r.jwt ? ['with a JWT'] : []);
  const verdict = e.allowed === true ? 'ALLOWED' : e.allowed === false ? `DENIED (${e.deniedAt})` : 'UNKNOWN';
  const lines = [
    `${e.caller.name} → ${r.to}: ${r.method} ${r.path} port ${r.port}${extra.length ? ` (${extra.join(', ')})` : ''}`,
    // An allowed request's reasons are on the authz lines; a refusal says why at once.
    `  verdict   ${verdict}${e.decidedBy ? ` by ${e.decidedBy}` : ''}${e.allowed === true ? '' : `: ${e.reason}`}`,
  ];
  if (e.virtualService) {
    lines.push(
      `  route     ${e.virtualService}, route ${typeof e.route === 'string' ? JSON.stringify(e.route) : `#${String(e.route)}`}${e.matchedBy ? ` (${e.matchedBy})` : ''}`,
    );
  } else if (e.destinations.length > 0) {
    lines.push('  route     no VirtualService applies');
  }
  if (e.destinations.length > 0) {
    lines.push(
      `  to        ${e.destinations
        .map(
          (d) =>
            `${d.service}${d.version ? ` ${d.version}` : d.deployments.length > 0 ? ` (${d.deployments.join(', ')})` : ''}${weightText(d.weight)}`,
        )
        .join(', ')}`,
    );
  }
  const resilience: string[] = [];
  if (e.timeout) resilience.push(`timeout ${e.timeout}`);
  if (e.retries) {
    const rt = e.retries as {
      attempts?: number;
      perTryTimeout?: string;
      retryOn?: string;
      default?: boolean;
    };
    resilience.push(
      `retries ${rt.attempts ?? '?'}${rt.perTryTimeout ? ` × ${rt.perTryTimeout}` : ''}${rt.retryOn ? ` on ${rt.retryOn}` : ''}${rt.default ? " (Istio's default)" : ''}`,
    );
  }
  if (e.fault?.delay)
    resilience.push(`fault delay ${e.fault.delay.fixedDelay} for ${e.fault.delay.percentage ?? '?'}%`);
  if (e.fault?.abort)
    resilience.push(`fault abort ${e.fault.abort.httpStatus ?? '?'} for ${e.fault.abort.percentage ?? '?'}%`);
  if (e.mirror)
    resilience.push(
      `mirror ${e.mirror.percentage}% to ${e.mirror.service}${e.mirror.version ? ` ${e.mirror.version}` : ''}`,
    );
  if (resilience.length > 0) lines.push(`  requests  ${resilience.join('; ')}`);
  const tp = e.trafficPolicy;
  if (tp?.destinationRule) {
    const parts = [
      tp.connectionPool && `connection pool ${fields(tp.connectionPool)}`,
      tp.outlierDetection && `outlier detection ${fields(tp.outlierDetection)}`,
      tp.loadBalancer && `load balancer ${fields(tp.loadBalancer)}`,
      tp.tls && `tls ${fields(tp.tls)}`,
    ].filter(Boolean);
    lines.push(`  policy    ${tp.destinationRule}${parts.length ? `: ${parts.join('; ')}` : ''}`);
  }
  for (const l of e.rateLimits) {
    const what =
      l.kind === 'local'
        ? `local ${l.counts}: ${l.bucket?.maxTokens} tokens, ${l.bucket?.tokensPerFill} per ${l.bucket?.fillInterval}`
        : `global ${l.domain} ${l.counts}: ${l.limit === null || l.limit === undefined ? 'no limit' : l.limit === 'unlimited' ? 'unlimited' : `${l.limit.requestsPerUnit} per ${l.limit.unit.toLowerCase()}`}`;
    lines.push(`  limit     ${what} (${l.filter})${l.note ? `; ${l.note}` : ''}`);
  }
  if (e.mtls) {
    lines.push(
      `  mTLS      ${e.mtls.mode} (${e.mtls.source ?? "Istio's default"}); the caller sends ${e.mtls.callerSendsMtls ? 'mTLS' : 'plaintext'}${e.mtls.accepted ? '' : ': refused'}`,
    );
  }
  if (e.egress) {
    lines.push(
      `  egress    ${e.egress.allowed ? `allowed by Sidecar ${e.egress.sidecar} (${e.egress.matchedHost})` : `not imported by Sidecar ${e.egress.sidecar} (${e.egress.outboundTrafficPolicy})`}`,
    );
  }
  if (e.jwt && e.jwt.outcome !== 'none')
    lines.push(`  JWT       ${e.jwt.outcome}: ${e.jwt.reason}${e.jwt.policy ? ` (${e.jwt.policy})` : ''}`);
  for (const a of e.authorization) {
    lines.push(
      `  authz     ${a.at}${a.peer ? ` sees ${a.peer}` : ' sees no peer identity'}: ${a.allowed === true ? 'allow' : a.allowed === false ? 'deny' : 'unknown'} — ${a.reason}`,
    );
  }
  if (e.external) {
    const x = e.external;
    lines.push(
      `  external  ${x.serviceEntry ? `ServiceEntry ${x.serviceEntry}: ${x.location}, resolution ${x.resolution}${x.protocol ? `, port ${r.port} ${x.protocol}` : ''}` : `no ServiceEntry declares ${x.host} port ${r.port}`}`,
    );
  }
  if (e.waypoint) lines.push(`  waypoint  ${e.waypoint}`);
  for (const n of e.notes) lines.push(`  note      ${n}`);
  return lines.join('\n');
}

/** Every caller's verdict in one line each, then each answer: who may send this request. */
export function formatAllCallers(answers: readonly Explanation[]): string {
  expectArgument(
    Array.isArray(answers),
    'formatAllCallers',
    'answers',
    answers,
    'an array',
    'pass what explainAllCallers returns',
  );
  answers.forEach((e, i) => expectExplanation('formatAllCallers', `answers[${i}]`, e));
  if (answers.length === 0) return '';
  const r = answers[0].request;
  const width = Math.max(...answers.map((e) => e.caller.name.length));
  const rows = answers.map((e) => {
    const verdict = e.allowed === true ? 'ALLOWED' : e.allowed === false ? 'DENIED ' : 'UNKNOWN';
    const why =
      e.allowed === false
        ? `${e.deniedAt}${e.egressAllowed ? '' : ' (not in its Sidecar egress)'}${e.decidedBy ? `, ${e.decidedBy}` : ''}`
        : (e.decidedBy ?? '');
    return `  ${e.caller.name.padEnd(width)}  ${verdict}  ${why}`.trimEnd();
  });
  return [
    `${r.method} ${r.path} to ${r.to}, from every caller:`,
    ...rows,
    '',
    ...answers.map(formatExplanation).join('\n\n').split('\n'),
  ].join('\n');
}
