/**
 * npm run bench -- [--services N] [--namespaces-of K]
 *
 * Builds a generated app of N services that uses every feature of the constructs, synthesizes and
 * validates it, and in the same run serializes the same plain objects with the fast YAML writer
 * alone, as the floor. The last line is the figure:
 *   services=N objects=M bytes=B synth_ms=X admission_ms=A admission_share=S% floor_ms=Y ratio=X/Y peak_rss_mb=Z
 * where admission_ms is the part of synth_ms spent in the admission pass, and admission_share
 * that part in percent of synth_ms (at most 15 % is the aim).
 */
// Only light modules here: the options are checked before cdk8s, the constructs and the charts are
// loaded (main imports bench-app.js), so that --help or a wrong count answers at once.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { refuseRepeatedOptions } from './mesh/options.js';

const USAGE =
  'usage: npm run bench -- [--services N] [--namespaces-of K]   (defaults: 1000 services, 100 per namespace)\n' +
  '       npm run bench -- --loop [--rounds N] [--tsc] [--no-warmup] [--no-diff]   (the edit loop: synth, edit, graph, diff side by side)\n' +
  '       npm run bench -- --helm [--services N] [--rounds R]   (this whole process beside helm template)';

/**
 * Heap one service of the bench app needs at its peak: 10,000 services peak at about 680 MB of RSS
 * (README's table), so 128 KiB leaves room for the heap's own overhead and the floor pass.
 */
const HEAP_BYTES_PER_SERVICE = 128 * 1024;

const VALUE_FLAGS = new Set(['--services', '--namespaces-of']);

/** The most services that fit in this process's heap limit (NODE_OPTIONS=--max-old-space-size raises it). */
export function maxServices(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.max(1, Math.floor(heapLimitBytes / HEAP_BYTES_PER_SERVICE / 1000) * 1000);
}

/**
 * "--services -1" would be read as a flag without its value followed by an option "-1": keep the
 * number with its flag ("--services=-1"), so that the message is about the number.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (VALUE_FLAGS.has(argv[i]) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

/** The bench's options, or a message saying what is wrong with them. */
export function parseBenchArgs(
  argv: readonly string[],
  limit = maxServices(),
): { services: number; perNamespace: number } | { help: true } | { error: string } {
  let values;
  try {
    const options = {
      services: { type: 'string', default: '1000' },
      'namespaces-of': { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    } as const;
    let tokens;
    ({ values, tokens } = parseArgs({ args: joinNegativeValues(argv), options, strict: true, tokens: true }));
    refuseRepeatedOptions(tokens, options);
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (values.help) return { help: true };
  const whole = (flag: string, text: string, max: number, why: string): number | string => {
    // Digits, or digits with an exponent ("1e4"): a whole number, however written.
    const n = /^\d+(e\d+)?$/i.test(text.trim()) ? Number(text) : NaN;
    if (!(n >= 1)) return `--${flag} must be a whole number of 1 or more, not "${text}"`;
    if (n > max) return `--${flag} ${text} is more than ${max}${why}`;
    return n;
  };
  const heapMb = Math.round((limit * HEAP_BYTES_PER_SERVICE) / 2 ** 20);
  const services = whole(
    'services',
    values.services,
    limit,
    `, the most that fit in this process's heap (about ${HEAP_BYTES_PER_SERVICE / 1024} KiB per service, about ${heapMb} MB in all); raise the heap with NODE_OPTIONS=--max-old-space-size=<MB> for more`,
  );
  if (typeof services === 'string') return { error: services };
  // More per namespace than there are services just means one namespace.
  const perNamespace = whole('namespaces-of', values['namespaces-of'], Number.MAX_SAFE_INTEGER, '');
  if (typeof perNamespace === 'string') return { error: perNamespace };
  return { services, perNamespace };
}

async function main(): Promise<void> {
  // The side-by-side figures (tools/bench-loop.ts, tools/bench-helm.ts), loaded only when asked for.
  const mode = process.argv[2];
  if (mode === '--loop' || mode === '--helm') {
    const run =
      mode === '--loop'
        ? import('./bench-loop.js').then((m) => m.main(process.argv.slice(3)))
        : import('./bench-helm.js').then((m) => m.main(process.argv.slice(3)));
    run.catch((e: unknown) => {
      console.error(`bench ${mode}: ${(e as Error).message}`);
      process.exit(1);
    });
    return;
  }
  const args = parseBenchArgs(process.argv.slice(2));
  if ('help' in args) {
    console.log(USAGE);
    return;
  }
  if ('error' in args) {
    console.error(`bench: ${args.error}\n${USAGE}`);
    process.exit(2);
  }
  const { measure } = await import('./bench-app.js');
  console.log(measure(args.services, args.perNamespace));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
