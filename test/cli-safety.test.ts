import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../tools/bench.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tool = (name: string) => fileURLToPath(new URL(`../tools/${name}.js`, import.meta.url));
const SYNTH = tool('synth');
const ONE = ['--app', 'bookinfo', '--scenario', 'all-v1'];

function run(script: string, args: readonly string[], cwd = ROOT) {
  return spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8' });
}

/** A scratch folder holding one file of the user's, to prove it survives. */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-safety-'));
  writeFileSync(join(dir, 'notes.txt'), 'my work');
  return dir;
}

function refused(r: ReturnType<typeof run>, message: string): void {
  assert.equal(r.status, 2, `exit code 2 expected; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing written');
  assert.equal(r.stderr, `synth: nothing written.\n${message}\n`);
}

describe('npm run synth never replaces what it did not write', () => {
  it('refuses the current directory (--out .), and leaves it as it was', () => {
    const cwd = workspace();
    refused(
      run(SYNTH, [...ONE, '--out', '.'], cwd),
      '--out .: is the current directory, which synth would replace with manifests; name a new folder (synth creates it), e.g. --out dist/manifests',
    );
    assert.deepEqual(readdirSync(cwd), ['notes.txt']);
  });

  it('refuses an empty --out', () => {
    const r = run(SYNTH, [...ONE, '--out', ''], workspace());
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^synth: --out needs a folder path, not an empty string\nusage: npm run synth/);
  });

  it('refuses an ancestor of the current directory and the project root', () => {
    const cwd = workspace();
    const inner = join(cwd, 'a', 'b');
    mkdirSync(inner, { recursive: true });
    refused(
      run(SYNTH, [...ONE, '--out', '..'], inner),
      '--out ..: contains the current directory, which synth would replace with manifests; name a new folder (synth creates it), e.g. --out dist/manifests',
    );
    const r = run(SYNTH, [...ONE, '--out', ROOT], cwd);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /: is the project root, which synth would replace with manifests; name a new folder/,
    );
    assert.ok(readFileSync(join(ROOT, 'package.json'), 'utf8').includes('"name": "mesh-kit"'));
  });

  it('refuses an existing file and keeps it', () => {
    const cwd = workspace();
    refused(
      run(SYNTH, [...ONE, '--out', 'notes.txt'], cwd),
      '--out notes.txt: is an existing file, which synth would delete; name a new folder (synth creates it), e.g. --out dist/manifests',
    );
    assert.equal(readFileSync(join(cwd, 'notes.txt'), 'utf8'), 'my work');
  });

  it('refuses a path below a file', () => {
    const cwd = workspace();
    refused(
      run(SYNTH, [...ONE, '--out', 'notes.txt/out'], cwd),
      `--out notes.txt/out: is below ${join(cwd, 'notes.txt')}, which is a file, not a folder; name a folder path`,
    );
  });

  it('refuses a folder of other files, and a symbolic link', () => {
    const cwd = workspace();
    mkdirSync(join(cwd, 'work'));
    for (const f of ['a.txt', 'b.yaml', 'c.json', 'd.md']) writeFileSync(join(cwd, 'work', f), f);
    refused(
      run(SYNTH, [...ONE, '--out', 'work'], cwd),
      '--out work: is a folder that synth did not create (it has no .mesh-kit-synth file), and replacing it would delete a.txt, b.yaml, c.json and 1 more; name a new folder (synth creates it), e.g. --out dist/manifests, or empty this one',
    );
    assert.deepEqual(readdirSync(join(cwd, 'work')), ['a.txt', 'b.yaml', 'c.json', 'd.md']);
    symlinkSync(join(cwd, 'work'), join(cwd, 'link'));
    refused(
      run(SYNTH, [...ONE, '--out', 'link'], cwd),
      '--out link: is a symbolic link; name the folder itself, or a new folder',
    );
  });

  it('writes a new or empty folder, marks it, replaces it next time, and refuses it once someone adds a file', () => {
    const cwd = workspace();
    mkdirSync(join(cwd, 'empty'));
    for (const out of ['fresh/nested', 'empty']) {
      const first = run(SYNTH, [...ONE, '--out', out], cwd);
      assert.equal(first.status, 0, first.stderr);
      assert.ok(readdirSync(join(cwd, out)).includes('.mesh-kit-synth'));
      assert.doesNotMatch(first.stdout, /mesh-kit-synth/, 'the marker is not reported as a manifest');
      const again = run(SYNTH, [...ONE, '--out', out], cwd);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stdout, first.stdout);
    }
    writeFileSync(join(cwd, 'empty', 'kustomization.yaml'), 'resources: []\n');
    refused(
      run(SYNTH, [...ONE, '--out', 'empty'], cwd),
      '--out empty: holds files synth did not write (kustomization.yaml), which replacing the folder would delete; move them elsewhere, or name a new folder',
    );
    assert.ok(readdirSync(join(cwd, 'empty')).includes('kustomization.yaml'));
  });

  it('takes dist/<app>/<variant> written before folders were marked as its own, but no other folder', () => {
    const cwd = workspace();
    const legacy = join(cwd, 'dist', 'bookinfo', 'all-v1');
    mkdirSync(legacy, { recursive: true });
    writeFileSync(join(legacy, '00-namespace.k8s.yaml'), 'old');
    const r = run(SYNTH, ONE, cwd);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(readFileSync(join(legacy, '00-namespace.k8s.yaml'), 'utf8'), 'old');
    // The same files under a name given with --out are not recognizably synth's: refused.
    mkdirSync(join(cwd, 'mine'));
    writeFileSync(join(cwd, 'mine', '00-namespace.k8s.yaml'), 'hand-written');
    assert.equal(run(SYNTH, [...ONE, '--out', 'mine'], cwd).status, 2);
    assert.equal(readFileSync(join(cwd, 'mine', '00-namespace.k8s.yaml'), 'utf8'), 'hand-written');
  });

  it('checks every folder before writing any', () => {
    const cwd = workspace();
    const blocked = join(cwd, 'dist', 'bookinfo', 'reviews-v3');
    mkdirSync(blocked, { recursive: true });
    writeFileSync(join(blocked, 'todo.txt'), 'mine');
    const r = run(SYNTH, ['--app', 'bookinfo'], cwd);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /--out dist\/bookinfo\/reviews-v3: is a folder that synth did not create \(it has no \.mesh-kit-synth file\), and replacing it would delete todo\.txt;/,
    );
    assert.deepEqual(readdirSync(join(cwd, 'dist', 'bookinfo')), ['reviews-v3'], 'no other variant written');
  });

  it('names a path outside the working directory as given, not as ../..', () => {
    const cwd = workspace();
    refused(
      run(SYNTH, [...ONE, '--out', '/'], cwd),
      '--out /: contains the current directory, which synth would replace with manifests; name a new folder (synth creates it), e.g. --out dist/manifests',
    );
  });

  it('says where a folder cannot be created, with exit code 2 and no stack trace', () => {
    const r = run(SYNTH, [...ONE, '--out', '/proc/mesh-kit-out'], workspace());
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^synth bookinfo scenario=all-v1: nothing written\.\n--out \/proc\/mesh-kit-out: a folder cannot be created there \(ENOENT: no such file or directory, mkdir '\/proc\/mesh-kit-out\.tmp-\d+-[0-9a-f]{8}'\); name a folder you can write\n$/,
    );
  });

  it('gives the output folder the mode a new folder gets (not the 0700 of a temporary one), and names a folder outside the working directory in full', () => {
    const cwd = workspace();
    const outside = join(mkdtempSync(join(tmpdir(), 'cli-safety-out-')), 'manifests');
    // umask 022, whatever the test's own: the old mkdtemp gave 0700 under any umask.
    const r = spawnSync(
      'sh',
      ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, SYNTH, ...ONE, '--out', outside],
      {
        cwd,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(outside).mode & 0o777, 0o755);
    assert.ok(r.stdout.startsWith(`wrote ${join(outside, '00-')}`), r.stdout);
  });
});

describe('npm run graph --out', () => {
  const GRAPH = tool('graph');
  it('refuses a folder, a path below a file and an unwritable place with exit code 2 and no stack trace', () => {
    const cwd = workspace();
    mkdirSync(join(cwd, 'pictures.svg'));
    const cases: [string, string][] = [
      [
        'pictures.svg',
        'graph: --out pictures.svg: is a folder; name a file in it, e.g. pictures.svg/mesh.svg\n',
      ],
      [
        'notes.txt/mesh.svg',
        'graph: --out notes.txt/mesh.svg: a part of its path is a file, not a folder; name a file in a folder\n',
      ],
      [
        '/proc/mesh.svg',
        'graph: --out /proc/mesh.svg: cannot be created there (its folder takes no new files)\n',
      ],
      // Node's recursive mkdir never returns here; graph creates folders one level at a time.
      [
        '/proc/nowhere/mesh.svg',
        'graph: --out /proc/nowhere/mesh.svg: cannot be created there (its folder takes no new files)\n',
      ],
    ];
    for (const [out, message] of cases) {
      const r = run(GRAPH, ['--app', 'shop', '--out', out], cwd);
      assert.equal(r.status, 2, out);
      assert.equal(r.stderr, message);
    }
  });

  it('never replaces a file it did not write, nor follows a link, but draws again over its own output', () => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'architecture.svg'), '<svg><title>drawn by hand</title></svg>');
    symlinkSync('notes.txt', join(cwd, 'link.svg'));
    const cases: [string, string][] = [
      [
        'architecture.svg',
        'graph: --out architecture.svg: is a file graph did not write, and writing would replace it; name a new file, or remove it first\n',
      ],
      [
        'link.svg',
        'graph: --out link.svg: is a symbolic link, and writing would replace the file it points to; name a new file\n',
      ],
    ];
    for (const [out, message] of cases) {
      const r = run(GRAPH, ['--app', 'shop', '--env', 'dev', '--out', out], cwd);
      assert.equal(r.status, 2, out);
      assert.equal(r.stderr, message);
    }
    assert.equal(
      readFileSync(join(cwd, 'architecture.svg'), 'utf8'),
      '<svg><title>drawn by hand</title></svg>',
    );
    assert.equal(readFileSync(join(cwd, 'notes.txt'), 'utf8'), 'my work');
    for (const out of ['mesh.svg', 'mesh.mmd', 'mesh.dot']) {
      for (const round of [1, 2]) {
        const r = run(GRAPH, ['--app', 'shop', '--env', 'dev', '--out', out], cwd);
        assert.equal(r.status, 0, `${out} round ${round}: ${r.stderr}`);
      }
    }
    // The same pictures as a Windows checkout (git's autocrlf) holds them: still graph's own.
    for (const out of ['mesh.mmd', 'mesh.dot']) {
      writeFileSync(join(cwd, out), readFileSync(join(cwd, out), 'utf8').replace(/\n/g, '\r\n'));
      const r = run(GRAPH, ['--app', 'shop', '--env', 'dev', '--out', out], cwd);
      assert.equal(r.status, 0, `${out} with CRLF: ${r.stderr}`);
    }
    writeFileSync(join(cwd, 'empty.dot'), '');
    assert.equal(run(GRAPH, ['--app', 'shop', '--env', 'dev', '--out', 'empty.dot'], cwd).status, 0);
    assert.match(readFileSync(join(cwd, 'empty.dot'), 'utf8'), /^digraph mesh \{\n/);
  });

  it('refuses a folder it may not write (when not running as root, who may write anywhere)', (t) => {
    if (process.getuid?.() === 0) return t.skip('root bypasses file permissions');
    const cwd = workspace();
    mkdirSync(join(cwd, 'locked'));
    chmodSync(join(cwd, 'locked'), 0o500);
    const r = run(GRAPH, ['--app', 'shop', '--out', 'locked/mesh.svg'], cwd);
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      'graph: --out locked/mesh.svg: cannot be written (permission denied); choose a folder you can write\n',
    );
  });
});

describe('npm run bench options', () => {
  it('refuses counts that are not whole numbers of 1 or more, or more than fit in memory', () => {
    const limit = 32000;
    const expect = (argv: string[], error: string) =>
      assert.deepEqual(parseBenchArgs(argv, limit), { error });
    for (const bad of ['-1', '0', 'abc', '1.5', '0x10', ''])
      expect(['--services', bad], `--services must be a whole number of 1 or more, not "${bad}"`);
    expect(['--services', '5', '--services', '6'], '--services is given more than once; give it once');
    expect(
      ['--namespaces-of=5', '--namespaces-of', '6'],
      '--namespaces-of is given more than once; give it once',
    );
    expect(
      ['--services', '1e9'],
      "--services 1e9 is more than 32000, the most that fit in this process's heap (about 128 KiB per service, about 4000 MB in all); raise the heap with NODE_OPTIONS=--max-old-space-size=<MB> for more",
    );
    expect(
      ['--services', '32001'],
      "--services 32001 is more than 32000, the most that fit in this process's heap (about 128 KiB per service, about 4000 MB in all); raise the heap with NODE_OPTIONS=--max-old-space-size=<MB> for more",
    );
    assert.deepEqual(parseBenchArgs(['--services', '32000'], limit), { services: 32000, perNamespace: 100 });
    expect(['--namespaces-of', '0'], '--namespaces-of must be a whole number of 1 or more, not "0"');
    // More per namespace than there are services: one namespace.
    assert.deepEqual(parseBenchArgs(['--services', '10', '--namespaces-of', '11'], limit), {
      services: 10,
      perNamespace: 11,
    });
    expect(['--service', '10'], "Unknown option '--service'");
  });

  it('runs a tiny app with --namespaces-of', () => {
    const r = run(tool('bench'), ['--services', '3', '--namespaces-of', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^services=3 objects=\d+ /m);
  });
});

describe('every command line tool', () => {
  const tools: [string, string][] = [
    ['synth', 'usage: npm run synth -- [--app <name>]'],
    ['graph', 'usage: npm run graph -- --app <app>'],
    ['diff', 'usage: npm run diff -- --base <git-ref>'],
    ['bench', 'usage: npm run bench -- [--services N] [--namespaces-of K]'],
  ];
  const dev = fileURLToPath(new URL('../services/dev.js', import.meta.url));
  const all: [string, string][] = [
    ...tools.map(([n, u]): [string, string] => [tool(n), u]),
    [dev, 'usage: npm run dev'],
  ];

  it('prints its usage and exits 0 with --help', () => {
    for (const [script, usage] of all) {
      const r = run(script, ['--help']);
      assert.equal(r.status, 0, `${script}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(usage), `${script} --help printed: ${r.stdout}`);
    }
  });

  it('refuses an option given twice (parseArgs would keep the last one silently), with exit code 2', () => {
    const cases: [string, string[], string][] = [
      [
        'synth',
        ['--app', 'shop', '--app', 'bookinfo'],
        'synth: --app is given more than once; give it once\n',
      ],
      [
        'graph',
        ['--app', 'shop', '--out', 'a.svg', '--out', 'b.svg'],
        'graph: --out is given more than once; give it once\n',
      ],
      [
        'diff',
        ['--base', 'HEAD', '--base', 'HEAD~1'],
        'diff: --base is given more than once; give it once\n',
      ],
      [
        'explain',
        ['--app', 'shop', '--to', 'reviews', '--to', 'ratings'],
        'explain: --to is given more than once; give it once\n',
      ],
      [
        'new-app',
        ['orders', '--root', 'a', '--root', 'b'],
        'new-app: --root is given more than once; give it once',
      ],
    ];
    const cwd = workspace();
    for (const [name, args, message] of cases) {
      const r = run(tool(name), args, cwd);
      assert.equal(r.status, 2, `${name}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(message), `${name} printed: ${r.stderr}`);
    }
    assert.deepEqual(readdirSync(cwd), ['notes.txt']);
  });

  it('prints its usage and exits 2 on an unknown option', () => {
    for (const [script, usage] of all) {
      const r = run(script, ['--frobnicate']);
      assert.equal(r.status, 2, `${script}: ${r.stderr}`);
      assert.match(r.stderr, /Unknown option '--frobnicate'/);
      assert.ok(r.stderr.includes(usage), `${script} printed: ${r.stderr}`);
    }
  });
});

describe('Node.js version', () => {
  const require = createRequire(import.meta.url);
  const check = require(join(ROOT, 'tools', 'require-node.cjs')) as { problem(v: string): string | null };

  it('stops on Node.js before 22.12 with a message that says so', () => {
    assert.equal(
      check.problem('v20.20.2'),
      'mesh-kit needs Node.js 22.12 or later (found v20.20.2); install Node.js 24 LTS (https://nodejs.org/) and run the command again',
    );
    assert.match(check.problem('v21.7.3') ?? '', /found v21\.7\.3/);
    assert.match(check.problem('v22.11.0') ?? '', /found v22\.11\.0/);
    assert.equal(check.problem('v22.12.0'), null);
    assert.equal(check.problem('v23.0.0'), null);
    assert.equal(check.problem('v24.11.1'), null);
  });

  it('runs first in every npm script', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const [name, script] of Object.entries(pkg.scripts)) {
      assert.ok(
        script.startsWith('node tools/require-node.cjs && '),
        `npm run ${name} checks the Node.js version first`,
      );
    }
  });

  it('stops `npm test` at once on an older Node.js, where the machine has one', (t) => {
    const old = (process.env.PATH ?? '')
      .split(delimiter)
      .map((dir) => join(dir, 'node'))
      .find((node) => {
        const v = spawnSync(node, ['--version'], { encoding: 'utf8' });
        return v.status === 0 && Number(/^v(\d+)/.exec(v.stdout)?.[1]) < 22;
      });
    if (!old) return t.skip('no Node.js older than 22 on PATH');
    const npm = join(dirname(old), 'npm');
    const r = spawnSync(npm, ['test'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(old)}${delimiter}${process.env.PATH}` },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /mesh-kit needs Node\.js 22\.12 or later \(found v\d+\.\d+\.\d+\)/);
  });
});
