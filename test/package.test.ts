/**
 * mesh-kit as another project gets it: the tarball `npm pack` makes, installed into a new project
 * from the npm cache alone (`npm ci --offline`), used through the package's `exports` only.
 *
 * Offline install: `npm ci` in this repository stores the tarballs in the npm cache but not the
 * registry's package documents, which `npm install <name>@<version> --offline` needs to resolve a
 * version (it fails with ENOTCACHED on a fresh cache). The consumer therefore gets a lockfile made
 * from this repository's own (the same versions, resolved URLs and integrity hashes, only the
 * packages the consumer's dependencies reach) and `npm ci --offline` fetches nothing at all.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const PULUMI_PEERS = Object.keys(PKG.peerDependencies ?? {}).filter((n) => n.startsWith('@pulumi/'));

interface PackageJson {
  name: string;
  version: string;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  private?: boolean;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [k: string]: unknown;
}

/**
 * Environment for child npm processes: none of the npm_* variables `npm test` sets for its script
 * (they describe this repository), except where the user keeps the npm cache and their npmrc.
 */
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|userconfig)$/i.test(k),
  ),
);

function run(cmd: string, args: readonly string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: childEnv, ...options });
  const out = `${String(r.stdout)}${String(r.stderr)}`;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} (in ${String(options.cwd ?? ROOT)}) failed:\n${out}`);
  return String(r.stdout);
}

const NPM_CACHE = run('npm', ['config', 'get', 'cache'], { cwd: ROOT }).trim();

/** The export targets of a subpath of package.json, e.g. `{ types, import, default }` of ".". */
function exportTargets(subpath: string): Record<string, string> {
  const target = PKG.exports[subpath];
  assert.ok(target && typeof target === 'object', `package.json exports has no conditions for "${subpath}"`);
  return target;
}

/**
 * Every file of this package that the entry files reach through relative imports (static,
 * re-exports, dynamic imports with a literal), in compiled JavaScript or in declarations; and the
 * packages they import by name.
 */
function importGraph(entries: readonly string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    assert.ok(
      existsSync(file),
      `${relative(ROOT, file)} is imported but does not exist (run npx tsc --build)`,
    );
    files.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (fileName.startsWith('.')) {
        const target = resolve(dirname(file), fileName);
        visit(file.endsWith('.d.ts') ? target.replace(/\.js$/, '.d.ts') : target);
      } else {
        const parts = fileName.split('/');
        packages.add(fileName.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
      }
    }
  };
  entries.forEach(visit);
  return { files, packages };
}

/**
 * The entries of this repository's package-lock.json that installing `roots` (name → the path of
 * a package that requires them, '' for the consumer) reaches, by Node's lookup from each package's
 * folder upward; dev/peer flags dropped, npm works them out again.
 */
function lockClosure(roots: readonly [string, string][]): Record<string, LockEntry> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const out: Record<string, LockEntry> = {};
  const locate = (from: string, name: string): string | undefined => {
    for (let dir = from; ;) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) return undefined;
      const i = dir.lastIndexOf('/node_modules/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  };
  const visit = (from: string, name: string, optional: boolean) => {
    const path = locate(from, name);
    if (!path) {
      assert.ok(optional, `${name} (needed by ${from || 'the consumer'}) is not in package-lock.json`);
      return;
    }
    if (out[path]) return;
    const {
      dev: _dev,
      peer: _peer,
      devOptional: _devOptional,
      optional: _optional,
      ...entry
    } = lock.packages[path];
    out[path] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.peerDependencies ?? {}))
      visit(path, dep, entry.peerDependenciesMeta?.[dep]?.optional === true);
  };
  for (const [name, from] of roots) visit(from, name, false);
  return out;
}

/** The version this repository's lockfile has for a top-level package. */
function lockedVersion(name: string): string {
  const entry = lockClosure([[name, '']])[`node_modules/${name}`];
  assert.ok(entry?.version, `${name} is not in package-lock.json`);
  return entry.version;
}

interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

/** The TypeScript example of the README's section "Use it in your own project". */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Use it in your own project'));
  const code = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'the README has a section "Use it in your own project" with a TypeScript example');
  return code;
}

/**
 * TypeDoc with --emit none converts and validates (exports missing from the docs, broken links),
 * every warning an error (typedoc.json), without writing docs/api. It takes 10 s of CPU, mostly
 * parsing @pulumi/aws's declarations, so it starts now and runs beside the install below.
 */
const docsBuild = (async () => {
  const start = performance.now();
  const typedoc = join(ROOT, 'node_modules/typedoc/bin/typedoc');
  const child = spawn(process.execPath, [typedoc, '--emit', 'none'], { cwd: ROOT, env: childEnv });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  console.log(`# typedoc --emit none: ${Math.round(performance.now() - start)} ms`);
  return { code, output };
})();

// The package, packed once: its file list for the tests of what it holds, its tarball for the
// install. Built already (npm test compiles first): no prepack build here.
let work: string;
let consumer: string;
let tarball: string;
let packed: string[];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'mesh-kit-package-'));
  consumer = join(work, 'consumer');
  mkdirSync(join(consumer, 'src'), { recursive: true });
  const out = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', consumer], {
    cwd: ROOT,
  });
  const [pack] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  tarball = pack.filename;
  packed = pack.files.map((f) => f.path);
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('the published package', () => {
  const main = join(ROOT, exportTargets('.').import);
  const pulumiEntry = join(ROOT, exportTargets('./pulumi').import);

  it('is public, with types and import targets for "." and "./pulumi"', () => {
    assert.equal(
      PKG.private,
      undefined,
      'package.json must not say "private": a private package cannot be published',
    );
    for (const subpath of ['.', './pulumi']) {
      const { types, import: esm } = exportTargets(subpath);
      assert.ok(
        types?.endsWith('.d.ts') && esm?.endsWith('.js'),
        `exports["${subpath}"] needs types and import`,
      );
      for (const target of [types, esm])
        assert.ok(packed.includes(target.replace(/^\.\//, '')), `${target} packed`);
    }
  });

  it('packs exactly the files its two entry points reach: no tests, tools or source maps', () => {
    const js = importGraph([main, pulumiEntry]).files;
    // The declarations of every module loaded, and what they import (types-only modules included).
    const dts = importGraph([...js].map((f) => f.replace(/\.js$/, '.d.ts'))).files;
    const reached = new Set([...js, ...dts].map((f) => relative(ROOT, f)));
    const missing = [...reached].filter((f) => !packed.includes(f));
    assert.deepEqual(
      missing,
      [],
      'imported by an entry point but not packed: add them to "files" in package.json',
    );
    // A reached module's declarations (or the empty JavaScript of a types-only module) may come along.
    const counterpart = (f: string) =>
      f.endsWith('.d.ts') ? f.replace(/\.d\.ts$/, '.js') : f.replace(/\.js$/, '.d.ts');
    const extra = packed.filter(
      (f) => f.startsWith('lib/') && !reached.has(f) && !reached.has(counterpart(f)),
    );
    assert.deepEqual(
      extra,
      [],
      'packed but reached by no entry point: exclude them with a "!" pattern in "files" (or delete stale build output)',
    );
    assert.ok(packed.includes('README.md') && packed.includes('package.json') && packed.includes('LICENSE'));
  });

  it('needs only its dependencies and peers: Pulumi only behind "./pulumi"', () => {
    const declared = new Set([
      ...Object.keys(PKG.dependencies ?? {}),
      ...Object.keys(PKG.peerDependencies ?? {}),
    ]);
    const builtin = (p: string) => p.startsWith('node:');
    const constructsOnly = importGraph([main, main.replace(/\.js$/, '.d.ts')]).packages;
    const all = importGraph([main, pulumiEntry, pulumiEntry.replace(/\.js$/, '.d.ts')]).packages;
    assert.deepEqual(
      [...all].filter((p) => !builtin(p) && !declared.has(p)),
      [],
      'imported but not declared',
    );
    assert.deepEqual(
      [...constructsOnly].filter((p) => p.startsWith('@pulumi/')),
      [],
      'the constructs entry must not import Pulumi',
    );
    for (const peer of PULUMI_PEERS)
      assert.equal(PKG.peerDependenciesMeta?.[peer]?.optional, true, `${peer} optional`);
  });

  it('loads the constructs entry without loading any Pulumi module, tool, chart or stack', () => {
    // A resolve hook in the child records every module Node loads for the entry, dynamic ones included.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      const lib = await import(${JSON.stringify(new URL(`file://${main}`).href)});
      if (typeof lib.Microservice !== 'function') throw new Error('no Microservice export');
      console.log(JSON.stringify(loaded));`;
    const loaded = JSON.parse(
      run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT }),
    ) as string[];
    assert.ok(
      loaded.some((u) => u.includes('/node_modules/cdk8s/')),
      'the hook saw cdk8s load',
    );
    const forbidden = loaded.filter((u) =>
      /\/node_modules\/@pulumi\/|\/lib\/(tools|charts|stacks|test)\//.test(u),
    );
    assert.deepEqual(forbidden, []);
  });
});

describe('installed into a new project from the npm cache', () => {
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      types: ['node'],
      outDir: 'out',
      rootDir: 'src',
    },
    include: ['src'],
  };

  /** package.json and a lockfile for the consumer with these dependencies, then `npm ci --offline`. */
  function install(deps: readonly string[]): number {
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(join(consumer, tarball)))
      .digest('base64')}`;
    const spec = `file:${tarball}`;
    const dependencies = Object.fromEntries(deps.map((d) => [d, d === PKG.name ? spec : lockedVersion(d)]));
    const meshKit: LockEntry = {
      version: PKG.version,
      resolved: spec,
      integrity,
      dependencies: PKG.dependencies,
      peerDependencies: PKG.peerDependencies,
      peerDependenciesMeta: PKG.peerDependenciesMeta,
    };
    const roots: [string, string][] = deps.filter((d) => d !== PKG.name).map((d) => [d, '']);
    for (const dep of Object.keys(PKG.dependencies ?? {})) roots.push([dep, '']);
    const packages = {
      '': { name: 'consumer', dependencies },
      [`node_modules/${PKG.name}`]: meshKit,
      ...lockClosure(roots),
    };
    const manifest = { name: 'consumer', private: true, type: 'module', dependencies };
    writeFileSync(join(consumer, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(
      join(consumer, 'package-lock.json'),
      JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2),
    );
    const start = performance.now();
    // --omit=optional: cdk8s-plus-27's optional dependency is `backport`, a release tool that would
    // bring 150 packages and a third of the install time.
    const args = ['ci', '--offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'];
    const r = spawnSync('npm', [...args, '--cache', NPM_CACHE], {
      cwd: consumer,
      encoding: 'utf8',
      env: childEnv,
    });
    assert.equal(
      r.status,
      0,
      /ENOTCACHED/.test(r.stderr)
        ? `a package is not in the npm cache (${NPM_CACHE}): run npm ci in the repository first\n${r.stderr}`
        : `npm ${args.join(' ')} failed in ${consumer}:\n${r.stdout}${r.stderr}`,
    );
    return Math.round(performance.now() - start);
  }

  // This repository's TypeScript compiles the consumer: it resolves every import from the consumer's
  // folder, and installing the compiler there too would add 23 MB to unpack for nothing.
  const tsc = (project: string) => {
    const start = performance.now();
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: consumer });
    console.log(`# tsc -p ${project}: ${Math.round(performance.now() - start)} ms`);
  };

  before(() => {
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const ms = install([PKG.name, 'cdk8s', 'constructs', 'cdk8s-plus-27', '@types/node']);
    console.log(`# npm ci --offline of mesh-kit, cdk8s, constructs, cdk8s-plus-27, @types/node: ${ms} ms`);
  });

  it("synthesizes the README's two-service app through the public API, type-checked strictly, without Pulumi", () => {
    assert.ok(existsSync(join(consumer, 'node_modules', PKG.name, 'package.json')));
    assert.deepEqual(
      readdirSync(join(consumer, 'node_modules')).filter((d) => d === '@pulumi'),
      [],
      'no @pulumi/*',
    );

    // The README's example, as it stands, and the published types of what it uses.
    writeFileSync(join(consumer, 'src/app.ts'), readmeExample());
    writeFileSync(
      join(consumer, 'src/typed.ts'),
      `import type { App } from 'cdk8s';
import { renderObjects, type Manifest, type Microservice } from 'mesh-kit';

export function route(api: Microservice<'v1' | 'v2'>): void {
  api.version('v2');
  // @ts-expect-error: version handles are typed through the published declarations; v3 is not one
  api.version('v3');
}
export const render = (app: App): Manifest[] => renderObjects(app);
`,
    );
    tsc('tsconfig.json');
    run(process.execPath, ['out/app.js'], { cwd: consumer });
    const objects = parseAllDocuments(readFileSync(join(consumer, 'dist/demo.k8s.yaml'), 'utf8')).map(
      (d) => d.toJS() as KubeObject,
    );
    const named = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    assert.deepEqual(named('Deployment'), ['api-v1', 'api-v2', 'web-v1']);
    assert.deepEqual(named('Service'), ['api', 'web']);
    const image = (name: string) =>
      JSON.stringify(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec);
    assert.match(image('api-v1'), /registry\.example\.com\/api:1\.0\.0/);
    assert.match(image('api-v2'), /registry\.example\.com\/api:2\.0\.0/);
    assert.ok(named('AuthorizationPolicy').includes('allow-nothing'));
    const admitsWeb = objects.filter(
      (o) => o.kind === 'AuthorizationPolicy' && JSON.stringify(o.spec).includes('/sa/web"'),
    );
    assert.equal(admitsWeb.length, 1, 'api admits web by its identity');
    assert.match(JSON.stringify(admitsWeb[0].spec), /"methods":\["GET"\]/);
    const vs = objects.find((o) => o.kind === 'VirtualService' && o.metadata.name === 'api');
    assert.match(JSON.stringify(vs?.spec), /"weight":90.*"weight":10.*"timeout":"2s"/);

    // Nothing could load Pulumi here: it is not installed.
    const probe = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "await import('@pulumi/pulumi')"],
      {
        cwd: consumer,
        encoding: 'utf8',
      },
    );
    assert.match(probe.stderr, /ERR_MODULE_NOT_FOUND/);
  });

  it('reports a broken escape hatch and loads the CEL library from the installed package, with its own dependencies', () => {
    // The admission pass loads a kind's kubernetes-models validator and the CEL library only when
    // an object needs them (a relative require inside the package, which no import graph shows),
    // so a sample app never reaches them: this reaches both, as a user's app would.
    writeFileSync(
      join(consumer, 'src/lazy.ts'),
      `import { createRequire } from 'node:module';
import { App, Chart, JsonPatch } from 'cdk8s';
import { MeshNamespace, Microservice, ServicePort, renderObjects } from 'mesh-kit';

const app = new App();
const chart = new Chart(app, 'demo');
const api = new Microservice(chart, 'api', {
  namespace: new MeshNamespace(chart, 'demo'),
  image: 'registry.example.com/api:1.0.0',
  ports: [ServicePort.http(8080)],
  versions: { v1: {} },
});
api.deployment('v1').addJsonPatch(JsonPatch.replace('/spec/replicas', -1.5));
let message = 'no error';
try {
  renderObjects(app);
} catch (e) {
  message = (e as Error).message;
}
console.log(message.split('\\n').filter((l) => l.includes('spec.replicas')).join('\\n'));
// The CEL library's module, loaded as the admission pass loads it: from inside the package.
const require = createRequire(import.meta.url);
const entry = require.resolve('mesh-kit');
const library = createRequire(entry)('./admission/cel-library.js') as Record<string, unknown>;
console.log(Object.keys(library).length > 0 ? 'cel library loaded' : 'cel library empty');
`,
    );
    tsc('tsconfig.json');
    const out = run(process.execPath, ['out/lazy.js'], { cwd: consumer });
    assert.equal(
      out,
      '  [Deployment demo/api-v1] spec.replicas: a number where the schema wants an integer; write an integer\ncel library loaded\n',
    );
  });

  it('runs the Pulumi components from "mesh-kit/pulumi" once the optional peers are there', () => {
    // Installing the six peers the same way works but took 40 s more here (@pulumi/aws alone is
    // 11,000 files), so the consumer links the copies this repository installed: Node and TypeScript
    // follow the links to one @pulumi/pulumi, as they would to an installed one.
    mkdirSync(join(consumer, 'node_modules/@pulumi'));
    for (const peer of PULUMI_PEERS)
      symlinkSync(join(ROOT, 'node_modules', peer), join(consumer, 'node_modules', peer));
    writeFileSync(
      join(consumer, 'src/stack.ts'),
      `import * as pulumi from '@pulumi/pulumi';
import type { IstioMeshArgs } from 'mesh-kit/pulumi';

const registered: string[] = [];
await pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push(\`\${args.type} \${args.name}\`);
      return { id: \`\${args.name}-id\`, state: args.inputs };
    },
    call: (args) => args.inputs,
  },
  'consumer',
  'test',
  false,
);
// After the mocks: a component registers its children as it is constructed.
const { ExistingCluster, IstioMesh } = await import('mesh-kit/pulumi');
const cluster = new ExistingCluster('cluster', { kubeconfig: 'apiVersion: v1\\nkind: Config\\n' });
const args: IstioMeshArgs = { gatewayService: { type: 'NodePort', httpNodePort: 30080, httpsNodePort: 30443 } };
const mesh = new IstioMesh('mesh', args, { providers: { kubernetes: cluster.provider } });
await new Promise((done) => mesh.version.apply(done));
for (let i = 0; i < 20; i++) await new Promise((done) => setImmediate(done));
console.log(JSON.stringify(registered));
`,
    );
    // The Pulumi SDKs' own declarations are theirs to check (and take long): skipLibCheck here only.
    const pulumiConfig = {
      extends: './tsconfig.json',
      compilerOptions: { skipLibCheck: true },
      include: [],
      files: ['src/stack.ts'],
    };
    writeFileSync(join(consumer, 'tsconfig.pulumi.json'), JSON.stringify(pulumiConfig, null, 2));
    tsc('tsconfig.pulumi.json');
    const registered = JSON.parse(run(process.execPath, ['out/stack.js'], { cwd: consumer })) as string[];
    for (const resource of [
      'meshkit:cluster:Existing cluster',
      'pulumi:providers:kubernetes cluster-k8s',
      'meshkit:mesh:Istio mesh',
      'kubernetes:helm.sh/v3:Release mesh-base',
      'kubernetes:helm.sh/v3:Release mesh-istiod',
      'kubernetes:helm.sh/v3:Release mesh-gateway',
    ])
      assert.ok(registered.includes(resource), `${resource} registered; got ${registered.join(', ')}`);
  });
});

describe('API reference', () => {
  it('builds from the doc comments of both entry points without a warning (npm run docs)', async () => {
    const { code, output } = await docsBuild;
    assert.equal(code, 0, `typedoc failed:\n${output}`);
    assert.doesNotMatch(output, /warning|error/i);
  });
});
