/**
 * npm run bench -- --loop [--rounds N] [--tsc] [--no-warmup] [--no-diff]
 *
 * The edit loop, measured side by side in one run: the commands a developer types, as whole
 * processes (npm included), interleaved round by round so that they share the machine's load.
 *
 *   synth           npm run synth -- --app shop --env dev, nothing edited
 *   synth-edit      the same after a number in charts/environments.ts was changed
 *   synth-edit-tsc  (--tsc) the same edit, then `tsc --build` and synth: the loop before the fast build
 *   graph           npm run graph -- --app shop --env dev --out <tmp>.svg
 *   synth-app       npm run synth -- --app shop (its three variants), the yardstick of:
 *   diff            npm run diff -- --base HEAD~1 --app shop
 *   (synth-app and diff only in a git checkout with a parent commit, and not with --no-diff)
 *
 * All but diff run in a temporary copy of the project (node_modules linked), so the edit never
 * touches the checkout; diff runs in the checkout, which it leaves as it was. The last lines are the
 * ratios the targets are stated in.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USAGE = 'usage: npm run bench -- --loop [--rounds N] [--tsc] [--no-warmup] [--no-diff]';
/** What the copy needs to build, type-check (--tsc) and synthesize: everything tsconfig.json includes. */
const COPIED = [
  'charts',
  'constructs',
  'imports',
  'tools',
  'test',
  'stacks',
  'services',
  'examples',
  'package.json',
  'tsconfig.json',
  'cdk8s.yaml',
];

interface Command {
  readonly name: string;
  readonly cwd: string;
  readonly argv: readonly string[];
  /** Runs before each timed run, untimed: the edit. */
  readonly prepare?: () => void;
}

function npm(args: string[]): string[] {
  const execpath = process.env.npm_execpath;
  return execpath && /\.c?js$/.test(execpath) ? [process.execPath, execpath, ...args] : ['npm', ...args];
}

function runTimed(c: Command): number {
  c.prepare?.();
  const t0 = performance.now();
  const r = spawnSync(c.argv[0], c.argv.slice(1), { cwd: c.cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (r.error || r.status !== 0) {
    const output = `${r.error?.message ?? ''}${r.stderr}${r.stdout}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${c.name} failed (${c.argv.join(' ')}):\n${output}`);
  }
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function hasParent(): boolean {
  return spawnSync('git', ['rev-parse', '--verify', '--quiet', 'HEAD~1'], { cwd: PROJECT_ROOT }).status === 0;
}

export function main(argv: string[]): void {
  let values: { rounds?: string; tsc?: boolean; warmup?: boolean; diff?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rounds: { type: 'string', default: '5' },
        tsc: { type: 'boolean' },
        warmup: { type: 'boolean', default: true },
        diff: { type: 'boolean', default: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowNegative: true,
    }));
  } catch (e) {
    console.error(`bench --loop: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(
      `bench --loop: --rounds must be a whole number of 1 or more, not "${values.rounds}"\n${USAGE}`,
    );
    process.exit(2);
  }

  const tmp = mkdtempSync(join(tmpdir(), 'bench-loop-'));
  try {
    const copy = join(tmp, 'project');
    for (const f of COPIED) {
      if (existsSync(join(PROJECT_ROOT, f)))
        cpSync(join(PROJECT_ROOT, f), join(copy, f), { recursive: true });
    }
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    const chart = join(copy, 'charts', 'environments.ts');
    const original = readFileSync(chart, 'utf8');
    const number = /storefrontRequestsPerSecond: (\d+)/;
    if (!number.test(original))
      throw new Error('charts/environments.ts has no storefrontRequestsPerSecond to edit');
    let edits = 0;
    // A different number on every run, as a developer trying values would type.
    const edit = () =>
      writeFileSync(chart, original.replace(number, `storefrontRequestsPerSecond: ${51 + (edits++ % 40)}`));

    const dev = ['--app', 'shop', '--env', 'dev'];
    const out = (name: string) => ['--out', join(tmp, name)];
    const commands: Command[] = [
      { name: 'synth', cwd: copy, argv: npm(['run', '--silent', 'synth', '--', ...dev, ...out('a')]) },
    ];
    if (values.tsc) {
      const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      commands.push({
        name: 'synth-edit-tsc',
        cwd: copy,
        argv: [
          'sh',
          '-c',
          `"${process.execPath}" "${tsc}" --build tsconfig.json && "${process.execPath}" lib/tools/synth.js ${[...dev, ...out('c')].join(' ')}`,
        ],
        prepare: edit,
      });
    }
    commands.push(
      {
        name: 'synth-edit',
        cwd: copy,
        argv: npm(['run', '--silent', 'synth', '--', ...dev, ...out('b')]),
        prepare: edit,
      },
      {
        name: 'graph',
        cwd: copy,
        argv: npm(['run', '--silent', 'graph', '--', ...dev, '--out', join(tmp, 'graph.svg')]),
      },
    );
    if (values.diff && hasParent()) {
      // The diff's yardstick: one synth of the same variants, as each of the two refs needs.
      commands.push(
        { name: 'synth-app', cwd: copy, argv: npm(['run', '--silent', 'synth', '--', '--app', 'shop']) },
        {
          name: 'diff',
          cwd: PROJECT_ROOT,
          argv: npm(['run', '--silent', 'diff', '--', '--base', 'HEAD~1', '--app', 'shop']),
        },
      );
    }

    // The copy's first build always; then, unless --no-warmup, one untimed round (file caches, git).
    runTimed({ ...commands[0], argv: [process.execPath, join(copy, 'tools', 'build.mjs'), '--quiet'] });
    if (values.tsc) runTimed({ ...commands[0], argv: ['sh', '-c', 'npx tsc --build tsconfig.json'] });
    if (values.warmup) for (const c of commands) runTimed(c);
    const times = new Map<string, number[]>(commands.map((c) => [c.name, []]));
    for (let i = 0; i < rounds; i++) {
      for (const c of commands) times.get(c.name)!.push(runTimed(c));
    }

    console.log(`edit loop, ${rounds} rounds, median (min … max) of whole commands:`);
    for (const c of commands) {
      const t = times.get(c.name)!;
      console.log(
        `  ${c.name.padEnd(15)} ${fmt(median(t))}  (${fmt(Math.min(...t))} … ${fmt(Math.max(...t))})`,
      );
    }
    const m = (name: string) => median(times.get(name)!);
    console.log(`edit_ratio=${(m('synth-edit') / m('synth')).toFixed(2)} (target ≤ 1.5: synth-edit / synth)`);
    if (values.tsc) {
      console.log(
        `tsc_edit_ratio=${(m('synth-edit-tsc') / m('synth')).toFixed(2)} (before: synth-edit-tsc / synth)`,
      );
    }
    console.log(`graph_ratio=${(m('graph') / m('synth')).toFixed(2)} (target ≤ 1.5: graph / synth)`);
    if (times.has('diff')) {
      const extra = m('diff') - 2 * m('synth-app');
      console.log(`diff_extra_s=${(extra / 1000).toFixed(2)} (target ≤ 3: diff - 2 × synth-app)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
