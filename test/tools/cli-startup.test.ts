/**
 * The command-line tools answer --help, a wrong option, a bad value and a refused --out from their
 * command line alone, without loading cdk8s, the constructs or the charts: that is what makes them
 * answer at once (about 0.05 s of CPU instead of 0.4 s), and what keeps the test suites, which
 * spawn the tools many times, fast. A resolve hook in each child records every module it loads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const script = (path: string) => fileURLToPath(new URL(`../../${path}.js`, import.meta.url));

/** Records the URL of every module the process resolves, static and dynamic, into $LOADED_FILE. */
const HOOK = `data:text/javascript,${encodeURIComponent(`
  import { registerHooks } from 'node:module';
  import { writeFileSync } from 'node:fs';
  const loaded = [];
  registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
  process.on('exit', () => writeFileSync(process.env.LOADED_FILE, JSON.stringify(loaded)));
`)}`;

/** What must not load before the command line is known good: the charts and all they pull in. */
const HEAVY =
  /\/node_modules\/(cdk8s|cdk8s-plus-27|constructs|@bufbuild|kubernetes-models)\/|\/lib\/(charts|constructs|imports)\//;

function run(path: string, args: readonly string[], cwd = ROOT) {
  const file = join(mkdtempSync(join(tmpdir(), 'cli-startup-')), 'loaded.json');
  const r = spawnSync(process.execPath, ['--import', HOOK, script(path), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, LOADED_FILE: file },
  });
  return { ...r, loaded: JSON.parse(readFileSync(file, 'utf8')) as string[] };
}

describe('the command-line tools check their command line before loading the charts', () => {
  const work = mkdtempSync(join(tmpdir(), 'cli-startup-out-'));
  mkdirSync(join(work, 'pictures.svg'));
  writeFileSync(join(work, 'notes.txt'), 'mine');
  const cases: [string, string[], number, RegExp][] = [
    ['tools/graph', ['--help'], 0, /^usage: npm run graph/],
    ['tools/graph', ['--frobnicate'], 2, /^graph: Unknown option '--frobnicate'/],
    ['tools/graph', ['--app', 'shop'], 2, /^graph: --out <file.svg\|file.mmd\|file.dot> is required/],
    ['tools/graph', ['--app', 'shop', '--out', 'mesh.png'], 2, /^graph: --out mesh.png: use a .svg/],
    [
      'tools/graph',
      ['--app', 'shop', '--out', join(work, 'pictures.svg')],
      2,
      /: is a folder; name a file in it/,
    ],
    [
      'tools/graph',
      ['--app', 'shop', '--out', join(work, 'notes.txt', 'mesh.svg')],
      2,
      /: a part of its path is a file, not a folder/,
    ],
    ['tools/diff', ['--help'], 0, /^usage: npm run diff/],
    ['tools/diff', ['--frobnicate'], 2, /^diff: Unknown option '--frobnicate'/],
    ['tools/diff', ['--app', 'shop'], 2, /^diff: --base <git-ref> is required/],
    ['tools/diff', ['--base', 'HEAD', '--format', 'yaml'], 2, /^diff: unknown format "yaml"/],
    ['tools/bench', ['--help'], 0, /^usage: npm run bench/],
    ['tools/bench', ['--services', '0'], 2, /^bench: --services must be a whole number of 1 or more/],
    ['tools/explain', ['--help'], 0, /^usage: npm run explain/],
    ['tools/explain', ['--frobnicate'], 2, /^explain: Unknown option '--frobnicate'/],
    ['tools/explain', ['--app', 'shop'], 2, /^explain: --to <service \| host> is required/],
    [
      'tools/explain',
      ['--app', 'shop', '--to', 'reviews', '--port', '0'],
      2,
      /^explain: --port 0: give a port/,
    ],
    ['tools/new-app', ['--help'], 0, /^usage: npm run new-app/],
    ['services/dev', ['--help'], 0, /^usage: npm run dev/],
  ];
  for (const [path, args, status, answer] of cases) {
    it(`${path} ${args.join(' ')}`, () => {
      const r = run(path, args);
      assert.equal(r.status, status, r.stderr);
      assert.match(status === 0 ? r.stdout : r.stderr, answer);
      assert.deepEqual(
        r.loaded.filter((u) => HEAVY.test(u)),
        [],
      );
    });
  }

  it('sees the charts load once the command line asks for them (the hook works)', () => {
    const r = run('tools/explain', ['--app', 'nope', '--to', 'reviews']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^explain: unknown app "nope"/);
    assert.ok(r.loaded.some((u) => u.includes('/lib/charts/apps.js')));
    assert.ok(r.loaded.some((u) => u.includes('/node_modules/cdk8s/')));
  });
});
