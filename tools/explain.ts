/**
 * npm run explain -- --app <app> [--env <env> | --scenario <name>] [--from <caller>] --to <service | host>
 *   [--port N] [--method GET] [--path /p] [--header k=v]... [--jwt-claims '{"iss":…}'] [--format text|json]
 *
 * Asks the synthesized configuration of one app variant where a request goes and whether it is
 * allowed: the VirtualService route, destinations and weights, timeout, retries, faults, mirror,
 * the DestinationRule policy, rate limits, mTLS, Sidecar egress, JWT and authorization. Without
 * --from it answers for every caller of the app.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
// Only light modules here: the command line is checked before the charts, cdk8s and the explain
// model are loaded (runExplain imports them), so that --help or a wrong option answers at once (and
// the tests, which run explain many times, do not wait for the charts).
import type { Explanation } from '../constructs/index.js';
import { refuseRepeatedOptions, UsageError, VARIANT_OPTIONS } from './mesh/options.js';

const USAGE = `usage: npm run explain -- --app <app> [--env <env> | --scenario <name>] [--from <service[:version] | job | ingress | outside>] --to <service | host> [--port N] [--method GET] [--path /p] [--header k=v]... [--jwt-claims '{"iss":"…","sub":"…"}'] [--format text|json]`;

export interface ExplainCliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs the command line: what it prints and its exit code (2 for usage errors). */
export async function runExplain(argv: readonly string[]): Promise<ExplainCliResult> {
  try {
    const options = {
      ...VARIANT_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      port: { type: 'string' },
      method: { type: 'string' },
      path: { type: 'string' },
      header: { type: 'string', multiple: true },
      'jwt-claims': { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    } as const;
    const { values, tokens } = parseArgs({ args: [...argv], options, strict: true, tokens: true });
    refuseRepeatedOptions(tokens, options);
    if (values.help) return { stdout: `${USAGE}\n`, stderr: '', code: 0 };
    if (values.to === undefined || values.to.trim() === '')
      throw new UsageError('--to <service | host> is required');
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format ${format}: use text or json`);
    let port: number | undefined;
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) {
        throw new UsageError(`--port ${values.port}: give a port number from 1 to 65535`);
      }
    }
    const headers: Record<string, string> = {};
    for (const h of values.header ?? []) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new UsageError(`--header ${h}: write name=value, e.g. --header end-user=jason`);
      headers[h.slice(0, eq).toLowerCase()] = h.slice(eq + 1);
    }
    let jwtClaims: Record<string, unknown> | undefined;
    if (values['jwt-claims'] !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(values['jwt-claims']);
      } catch {
        throw new UsageError(
          `--jwt-claims: not JSON; write an object, e.g. '{"iss":"testing@secure.istio.io","sub":"alice"}'`,
        );
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new UsageError(
          `--jwt-claims: write a JSON object of claims, e.g. '{"iss":"testing@secure.istio.io","sub":"alice"}'`,
        );
      }
      jwtClaims = parsed as Record<string, unknown>;
    }
    const [
      { App },
      { explainAllCallers, explainRequest, formatAllCallers, formatExplanation, meshIndex },
      { select },
    ] = await Promise.all([import('cdk8s'), import('../constructs/index.js'), import('./mesh/variants.js')]);
    const selection = select(values, true);
    const definition = selection.app!;
    const app = new App();
    definition.build(app, selection.variant ?? definition.defaultVariant, {});
    const index = meshIndex(app);
    const request = {
      to: values.to,
      port,
      method: values.method,
      path: values.path,
      headers,
      jwtClaims,
    };
    const answers: Explanation[] =
      values.from === undefined
        ? explainAllCallers(index, request)
        : [explainRequest(index, { ...request, from: values.from })];
    const stdout =
      format === 'json'
        ? `${JSON.stringify(values.from === undefined ? answers : answers[0], null, 2)}\n`
        : `${values.from === undefined ? formatAllCallers(answers) : formatExplanation(answers[0])}\n`;
    return { stdout, stderr: '', code: 0 };
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      return { stdout: '', stderr: `explain: ${(e as Error).message}\n${USAGE}\n`, code: 2 };
    }
    const { ExplainError } = await import('../constructs/index.js');
    if (e instanceof ExplainError) return { stdout: '', stderr: `explain: ${e.message}\n`, code: 2 };
    const message = (e as Error).message ?? String(e);
    return {
      stdout: '',
      stderr: `explain: ${/^Validation failed/.test(message) ? message : ((e as Error).stack ?? message)}\n`,
      code: 1,
    };
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await runExplain(process.argv.slice(2));
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.code;
}
