import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD = join(ROOT, 'tools', 'build.mjs');

function build(root: string, ...args: string[]) {
  return spawnSync(process.execPath, [BUILD, '--root', root, ...args], { encoding: 'utf8' });
}

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'fast-build-'));
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ include: ['src'] }));
  // package.json makes lib/**/*.js ES modules, as in this repository.
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  mkdirSync(join(root, 'src', 'nested'), { recursive: true });
  writeFileSync(
    join(root, 'src', 'nested', 'port.ts'),
    [
      'export enum Protocol { HTTP = "http", GRPC = "grpc" }',
      'export interface Named { readonly name: string }',
      'export class Port implements Named {',
      '  readonly kind = "port";',
      '  constructor(readonly number: number, private readonly protocol: Protocol) {}',
      '  get name(): string { return `${this.protocol}-${this.number}`; }',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(root, 'src', 'main.ts'),
    [
      "import { type Named, Port, Protocol } from './nested/port.js';",
      'const p: Named = new Port(8080, Protocol.GRPC);',
      'console.log(p.name);',
      '',
    ].join('\n'),
  );
  return root;
}

describe('the fast build (tools/build.mjs)', () => {
  it('transpiles to lib/ as tsc lays it out, with source maps, and the output runs', () => {
    const root = project();
    const r = build(root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /build: transpiled 2 files/);
    const run = spawnSync(process.execPath, [join(root, 'lib', 'src', 'main.js')], { encoding: 'utf8' });
    assert.equal(run.stdout, 'grpc-8080\n', run.stderr);
    const map = JSON.parse(readFileSync(join(root, 'lib', 'src', 'nested', 'port.js.map'), 'utf8'));
    assert.deepEqual(map.sources, ['../../../src/nested/port.ts']);
    assert.match(
      readFileSync(join(root, 'lib', 'src', 'nested', 'port.js'), 'utf8'),
      /sourceMappingURL=port\.js\.map/,
    );
  });

  it('transpiles only what changed: nothing on a second run or a touch, one file after an edit', () => {
    const root = project();
    assert.equal(build(root).status, 0);
    const again = build(root);
    assert.equal(again.status, 0);
    assert.equal(again.stderr, '', 'nothing changed, nothing transpiled or printed');
    // Same text with a new modification time (a `git checkout` of the same content): no work.
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'src', 'main.ts'), later, later);
    assert.equal(build(root).stderr, '');
    writeFileSync(
      join(root, 'src', 'main.ts'),
      "import { Port, Protocol } from './nested/port.js';\nconsole.log(new Port(9090, Protocol.HTTP).name);\n",
    );
    const edited = build(root);
    assert.match(edited.stderr, /^build: transpiled src\/main\.ts in \d+ ms/);
    const run = spawnSync(process.execPath, [join(root, 'lib', 'src', 'main.js')], { encoding: 'utf8' });
    assert.equal(run.stdout, 'http-9090\n');
  });

  it('rebuilds an output that was deleted, and removes the output of a deleted source', () => {
    const root = project();
    assert.equal(build(root).status, 0);
    rmSync(join(root, 'lib', 'src', 'main.js'));
    assert.match(build(root).stderr, /transpiled src\/main\.ts/);
    rmSync(join(root, 'src', 'main.ts'));
    assert.equal(build(root).status, 0);
    assert.equal(existsSync(join(root, 'lib', 'src', 'main.js')), false);
    assert.equal(existsSync(join(root, 'lib', 'src', 'main.js.map')), false);
    assert.equal(existsSync(join(root, 'lib', 'src', 'nested', 'port.js')), true);
  });

  it('--reuse copies what another checkout built from the same text, unless something rewrote it', () => {
    const a = project();
    assert.equal(build(a).status, 0);
    // b: a's sources, one of them edited (a base ref in diff's worktree).
    const b = mkdtempSync(join(tmpdir(), 'fast-build-'));
    for (const f of ['src', 'tsconfig.json', 'package.json'])
      cpSync(join(a, f), join(b, f), { recursive: true });
    writeFileSync(
      join(b, 'src', 'main.ts'),
      "import { Port } from './nested/port.js';\nconsole.log(new Port(1, 'x' as never).number);\n",
    );
    const r = build(b, '--reuse', a);
    assert.match(r.stderr, /^build: transpiled src\/main\.ts in/, 'only the edited file is transpiled');
    const port = join('lib', 'src', 'nested', 'port.js');
    assert.equal(readFileSync(join(b, port), 'utf8'), readFileSync(join(a, port), 'utf8'));
    const run = spawnSync(process.execPath, [join(b, 'lib', 'src', 'main.js')], { encoding: 'utf8' });
    assert.equal(run.stdout, '1\n');
    // An output rewritten since a's build (tsc writes lib/ too) is not copied: c transpiles it itself.
    const c = mkdtempSync(join(tmpdir(), 'fast-build-'));
    for (const f of ['src', 'tsconfig.json', 'package.json'])
      cpSync(join(a, f), join(c, f), { recursive: true });
    writeFileSync(join(a, port), '// something else\n');
    assert.match(build(c, '--reuse', a).stderr, /^build: transpiled src\/nested\/port\.ts in/);
    assert.match(readFileSync(join(c, port), 'utf8'), /class Port/);
  });

  it('does not type-check, but fails on a syntax error naming file, line and column', () => {
    const root = project();
    writeFileSync(join(root, 'src', 'main.ts'), "const n: number = 'not a number';\nconsole.log(n);\n");
    const typeError = build(root);
    assert.equal(typeError.status, 0, 'type errors are for npm run typecheck and npm test');
    writeFileSync(join(root, 'src', 'main.ts'), 'const n = ;\n');
    const syntax = build(root);
    assert.equal(syntax.status, 1);
    assert.match(syntax.stderr, /build failed: 1 syntax error\(s\)\nsrc\/main\.ts:1:11: Unexpected ";"/);
    // The broken file is tried again on the next run, not remembered as built.
    assert.equal(build(root).status, 1);
  });

  it('is what the run-the-code scripts use, while typecheck and test keep tsc', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['synth', 'dev', 'diff', 'graph', 'bench']) {
      assert.match(pkg.scripts[name], /&& node tools\/build\.mjs && /, name);
      assert.doesNotMatch(pkg.scripts[name], /\btsc\b|npm run --silent build/, name);
    }
    assert.match(pkg.scripts.typecheck, /\btsc -p tsconfig\.json --noEmit\b/);
    assert.match(pkg.scripts.test, /\btsc -p tsconfig\.json\b/);
    const cdk8s = readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8');
    assert.match(cdk8s, /^app: node tools\/build\.mjs && node lib\/tools\/cdk8s-app\.js$/m);
  });
});
