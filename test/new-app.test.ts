import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  ENTRY_MARKER,
  IMPORT_MARKER,
  identifiers,
  main,
  NODE_IMAGE,
  NewAppError,
  register,
  scaffoldFiles,
  write,
} from '../tools/new-app.js';
import { validateObjects } from './support/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NEW_APP = join(ROOT, 'lib', 'tools', 'new-app.js');
/** The app the end-to-end test scaffolds: a dash and a digit, to exercise the TypeScript names. */
const NAME = 'e2e-orders';

/**
 * A copy of this project to scaffold into: sources plus the build output (new-app reads the
 * registered apps from lib/, the type check below reads the declarations there). node_modules is
 * a symlink: nothing here writes to it, and Node and TypeScript follow it to one copy of each
 * package.
 */
function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'new-app-'));
  const skip = new Set(['node_modules', '.git', '.ci', 'dist', 'reports', '.stryker-tmp']);
  for (const entry of readdirSync(ROOT)) {
    if (!skip.has(entry)) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/**
 * Type-checks the scaffolded TypeScript and the changed charts/apps.ts with the project's compiler
 * options (tsconfig.json, strict and noUnused* included) against the declarations `npm run build`
 * wrote to lib/ for the rest of the project: what `tsc --build` rechecks after new-app,
 * without parsing the million lines of declarations the Pulumi stacks pull in. The files are copied
 * into a folder laid out as the project, whose other folders link to lib/, so that every relative
 * import resolves to a declaration; an import of anything not linked fails to resolve.
 *
 * Everything else in the project that imports the registry type-checks as before if the registry's
 * declarations are the same as before the app was added (tsc's incremental build relies on the
 * same fact to skip them): the check emits them and the caller compares them with lib's.
 */
function typeCheckScaffold(root: string, files: readonly string[]) {
  const check = join(root, 'scaffold-check');
  for (const file of files) {
    mkdirSync(dirname(join(check, file)), { recursive: true });
    cpSync(join(root, file), join(check, file));
  }
  mkdirSync(join(check, 'test'), { recursive: true });
  for (const folder of ['constructs', 'imports', 'test/support'])
    symlinkSync(join(root, 'lib', folder), join(check, folder), 'dir');
  for (const entry of readdirSync(join(root, 'lib', 'charts'))) {
    const source = `charts/${entry.replace(/\.d\.ts$/, '.ts')}`;
    if (entry.endsWith('.d.ts') && !files.includes(source))
      symlinkSync(join(root, 'lib', 'charts', entry), join(check, 'charts', entry));
  }
  const config = {
    extends: '../tsconfig.json',
    compilerOptions: {
      rootDir: '.',
      outDir: 'out',
      emitDeclarationOnly: true,
      sourceMap: false,
      incremental: false,
      tsBuildInfoFile: null,
    },
    // Not the project's folders (an extended config keeps its include): these files only.
    include: [],
    files,
  };
  writeFileSync(join(check, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return run(check, process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
}

/** The project's files (without build output and dependencies) and charts/apps.ts, to see that nothing changed. */
function snapshot(root: string): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (dir === root && (entry.name === 'node_modules' || entry.name === 'lib')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(root, path));
    }
  };
  walk(root);
  return `${files.sort().join('\n')}\n${readFileSync(join(root, 'charts', 'apps.ts'), 'utf8')}`;
}

const newApp = (args: string[], cwd = ROOT) =>
  spawnSync(process.execPath, [NEW_APP, ...args], { cwd, encoding: 'utf8' });

/** new-app's main() in this process (no process start per case): its exit status and stderr. */
async function newAppInProcess(args: string[]): Promise<{ status: number; stderr: string }> {
  const error = console.error;
  let stderr = '';
  console.error = (...parts: unknown[]) => {
    stderr += `${parts.join(' ')}\n`;
  };
  try {
    return { status: await main(args), stderr };
  } finally {
    console.error = error;
  }
}

/** Runs a command in `cwd` without blocking the event loop; resolves with its status and output. */
function run(cwd: string, file: string, args: string[]): Promise<{ status: number | null; output: string }> {
  // Without node:test's marker of a child test process, so that a nested `node --test` runs its files.
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe('npm run new-app', () => {
  let root: string;
  before(() => {
    root = copyProject();
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('prints usage for --help, and refuses usage errors with exit 2', () => {
    const help = newApp(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: npm run new-app -- <name> \[--root <dir>\]\n/);
    assert.match(help.stdout, /--root <dir> {2}the project to write into/);
    for (const [args, message] of [
      [[], 'new-app: give the app a name\nusage: '],
      [['orders', 'billing'], 'new-app: give exactly one name\nusage: '],
      [['orders', '--force'], "new-app: Unknown option '--force'"],
      [['orders', '--root', ''], 'new-app: --root needs a folder path, not an empty string\nusage: '],
    ] as const) {
      const r = newApp([
        ...args,
        ...((args as readonly string[]).includes('--root') ? [] : ['--root', root]),
      ]);
      assert.equal(r.status, 2, args.join(' '));
      assert.ok(r.stderr.startsWith(message), `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes('\nusage: npm run new-app -- <name> [--root <dir>]\n'), r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  it('refuses bad names, registered apps and existing files, writing nothing', async () => {
    const before = snapshot(root);
    const refuse = async (name: string, message: string) => {
      const r = await newAppInProcess([name, '--root', root]);
      assert.equal(r.stderr, `new-app: ${message}; nothing written\n`, name);
      assert.equal(r.status, 2, name);
      assert.equal(snapshot(root), before, `${name}: nothing written`);
    };
    const notAName = (name: string) =>
      `"${name}" is not an app name; use a DNS label that starts with a letter: at most 63 lower-case letters, digits and "-", e.g. orders`;
    for (const name of ['Orders', '1orders', 'orders-', 'my_orders', 'orders.v2', 'x'.repeat(64), '']) {
      await refuse(name, notAName(name));
    }
    for (const name of ['default', 'kube-system', 'kube-anything', 'istio-system']) {
      await refuse(
        name,
        `"${name}" is a namespace Kubernetes or Istio keeps for itself, and the app's name is its namespace; choose another name`,
      );
    }
    await refuse('bookinfo', 'app "bookinfo" is already registered in charts/apps.ts; choose another name');
    // The same refusal from the command line: exit status 2.
    const shop = newApp(['shop', '--root', root]);
    assert.equal(shop.status, 2);
    assert.equal(
      shop.stderr,
      'new-app: app "shop" is already registered in charts/apps.ts; choose another name; nothing written\n',
    );
    for (const path of ['charts/billing', 'apps-src/billing', 'test/apps/billing.test.ts']) {
      const full = join(root, path);
      const made = existsSync(dirname(full)) ? full : dirname(full);
      if (path.endsWith('.ts')) {
        mkdirSync(join(full, '..'), { recursive: true });
        writeFileSync(full, '');
      } else mkdirSync(full, { recursive: true });
      const withIt = snapshot(root);
      const r = await newAppInProcess(['billing', '--root', root]);
      assert.equal(
        r.stderr,
        `new-app: ${path} already exists; choose another name, or move it away first; nothing written\n`,
      );
      assert.equal(r.status, 2);
      assert.equal(snapshot(root), withIt);
      rmSync(made, { recursive: true });
    }
    assert.equal(snapshot(root), before);
    const unbuilt = mkdtempSync(join(tmpdir(), 'new-app-unbuilt-'));
    const r = newApp(['billing', '--root', unbuilt]);
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      `new-app: ${join(unbuilt, 'lib', 'charts', 'index.js')} does not exist; build that project first (npm run build in ${unbuilt}); nothing written\n`,
    );
    assert.deepEqual(readdirSync(unbuilt), []);
    rmSync(unbuilt, { recursive: true });
  });

  it('scaffolds an app that type-checks, lints, synthesizes with npm run synth, and passes its own test', async () => {
    const before = readFileSync(join(root, 'charts', 'apps.ts'), 'utf8');
    const declarations = readFileSync(join(root, 'lib', 'charts', 'apps.d.ts'), 'utf8');
    let start = performance.now();
    const lap = (what: string) => {
      console.log(`# ${what}: ${Math.round(performance.now() - start)} ms`);
      start = performance.now();
    };
    const r = newApp([NAME, '--root', root]);
    lap('new-app');
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    const written = [
      `charts/${NAME}/chart.ts`,
      `charts/${NAME}/environments.ts`,
      `charts/${NAME}/app.ts`,
      `apps-src/${NAME}/web/Dockerfile`,
      `apps-src/${NAME}/web/server.mjs`,
      `apps-src/${NAME}/api/Dockerfile`,
      `apps-src/${NAME}/api/server.mjs`,
      `test/apps/${NAME}.test.ts`,
      'charts/apps.ts',
    ];
    assert.deepEqual(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('  ') && !l.startsWith('  npm') && !l.startsWith('  edit'))
        .map((l) => l.trim()),
      written,
    );
    assert.match(r.stdout, new RegExp(`npm run synth -- --app ${NAME} --env dev`));
    for (const f of written) assert.ok(existsSync(join(root, f)), f);

    // Registered: exactly the import and the entry, each above its marker, nothing else changed.
    const after = readFileSync(join(root, 'charts', 'apps.ts'), 'utf8');
    const added = after.split('\n').filter((line) => !before.split('\n').includes(line));
    assert.deepEqual(added, [`import { E2E_ORDERS_APP } from './${NAME}/app.js';`, '  E2E_ORDERS_APP,']);
    assert.equal(after.split('\n').length, before.split('\n').length + 2);

    // Type-checks (the project's tsc and options) and lints (as npm test), side by side.
    const generated = written.filter((f) => /\.(ts|mjs)$/.test(f));
    const [tsc, prettier, eslint] = await Promise.all([
      typeCheckScaffold(
        root,
        written.filter((f) => f.endsWith('.ts')),
      ),
      run(root, process.execPath, [
        join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
        '--check',
        ...generated,
      ]),
      run(root, process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), ...generated]),
    ]);
    lap('tsc, prettier and eslint');
    assert.equal(tsc.status, 0, tsc.output);
    assert.equal(prettier.status, 0, prettier.output);
    assert.equal(eslint.status, 0, eslint.output);
    assert.equal(
      readFileSync(join(root, 'scaffold-check', 'out', 'charts', 'apps.d.ts'), 'utf8'),
      declarations,
      "charts/apps.ts's declarations changed: what imports the registry must be type-checked again",
    );
    rmSync(join(root, 'scaffold-check'), { recursive: true });

    // npm run synth -- --app <name> --env dev, straight after: its fast build compiles the new files.
    const synth = spawnSync('npm', ['run', '--silent', 'synth', '--', '--app', NAME, '--env', 'dev'], {
      cwd: root,
      encoding: 'utf8',
    });
    lap('npm run synth');
    assert.equal(synth.status, 0, synth.stderr);
    const out = join(root, 'dist', NAME, 'dev');
    const files = readdirSync(out).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files, [
      '00-namespace.k8s.yaml',
      '01-api.k8s.yaml',
      '02-web.k8s.yaml',
      '03-ingress.k8s.yaml',
    ]);
    const docs = files.flatMap((f) =>
      parseAllDocuments(readFileSync(join(out, f), 'utf8')).map((d) => d.toJS()),
    );
    validateObjects(docs);
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    for (const expected of [
      `Namespace/${NAME}`,
      'Deployment/web-v1',
      'Deployment/api-v1',
      'Service/web',
      'Service/api',
      'AuthorizationPolicy/api-allow-callers',
      'AuthorizationPolicy/web-allow-callers',
      'VirtualService/api',
      'EnvoyFilter/web-local-ratelimit',
    ]) {
      assert.ok(kinds.includes(expected), `${expected} in ${kinds.join(', ')}`);
    }
    const allowApi = docs.find(
      (d) => d.kind === 'AuthorizationPolicy' && d.metadata.name === 'api-allow-callers',
    );
    assert.deepEqual(allowApi.spec.rules[0].from, [
      { source: { principals: [`cluster.local/ns/${NAME}/sa/web`] } },
    ]);

    // The scaffolded test passes where it was written.
    const test = await run(root, process.execPath, [
      '--test',
      '--test-reporter=spec',
      join('lib', 'test', 'apps', `${NAME}.test.js`),
    ]);
    lap('its test');
    assert.equal(test.status, 0, test.output);
    assert.match(test.output, /ℹ pass 4\nℹ fail 0\n/);

    // Registered now: a second run refuses.
    const again = newApp([NAME, '--root', root]);
    assert.equal(again.status, 2);
    assert.equal(
      again.stderr,
      `new-app: app "${NAME}" is already registered in charts/apps.ts; choose another name; nothing written\n`,
    );
  });

  it('writes services that run: web calls api with the trace headers, both drain on SIGTERM', async () => {
    const src = join(root, 'apps-src', NAME);
    assert.ok(existsSync(src), 'scaffolded by the test before');
    const api = await startServer(join(src, 'api', 'server.mjs'), {});
    const web = await startServer(join(src, 'web', 'server.mjs'), {
      API_URL: `http://127.0.0.1:${api.port}`,
    });
    try {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const res = await get(web.port, '/', { traceparent, 'x-request-id': 'req-1', 'x-b3-sampled': '1' });
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), {
        service: 'web',
        version: 'dev',
        api: { service: 'api', version: 'dev', message: 'hello from api' },
      });
      const seen = api.logs.find((l) => l.msg === 'request' && l.path === '/hello');
      assert.equal(seen?.traceparent, traceparent, 'api got the trace headers web was called with');
      assert.equal(seen?.requestId, 'req-1');
      assert.equal((await get(web.port, '/readyz')).status, 200);
      assert.equal((await get(api.port, '/nothing')).status, 404);
    } finally {
      api.child.kill('SIGTERM');
      assert.equal(await api.exited, 0);
    }
    // api is gone: web answers 502 rather than hanging.
    const down = await get(web.port, '/');
    assert.equal(down.status, 502);
    assert.match(JSON.parse(down.body).error, /^api failed: /);
    web.child.kill('SIGTERM');
    assert.equal(await web.exited, 0);
    assert.ok(web.logs.some((l) => l.msg === 'stopped'));
  });
});

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/** Starts a scaffolded server on a free port of 127.0.0.1 and waits for its "listening" line. */
function startServer(file: string, env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DRAIN_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start`)), 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'listening') {
        clearTimeout(timer);
        resolve({ child, port: entry.port as number, logs, exited });
      }
    });
    child.on('error', reject);
  });
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('new-app, in-process', () => {
  it('registers by the markers: one import and one entry, deterministic, refusing a second time', () => {
    const text = readFileSync(join(ROOT, 'charts', 'apps.ts'), 'utf8');
    const once = register(text, 'billing');
    assert.equal(register(text, 'billing'), once);
    assert.ok(once.includes(`import { BILLING_APP } from './billing/app.js';\n${IMPORT_MARKER}\n`));
    assert.ok(once.includes(`  BILLING_APP,\n  ${ENTRY_MARKER}\n`));
    assert.throws(
      () => register(once, 'billing'),
      new NewAppError('charts/apps.ts already imports ./billing/app.js; choose another name'),
    );
    // Two apps in a row keep their order.
    const twice = register(once, 'payments');
    assert.ok(twice.includes('  BILLING_APP,\n  PAYMENTS_APP,\n'));
  });

  it('refuses a charts/apps.ts without its markers, pointing at registering by hand', () => {
    const text = readFileSync(join(ROOT, 'charts', 'apps.ts'), 'utf8');
    assert.throws(
      () => register(text.replace(ENTRY_MARKER, ''), 'billing'),
      new NewAppError(
        `charts/apps.ts has no line "${ENTRY_MARKER}"; put it back once (see README, "Your own app in five minutes"), or register the app by hand`,
      ),
    );
    assert.throws(
      () => register(text.replace(IMPORT_MARKER, `${IMPORT_MARKER}\n${IMPORT_MARKER}`), 'billing'),
      new NewAppError(
        `charts/apps.ts has more than one line "${IMPORT_MARKER}"; put it back once (see README, "Your own app in five minutes"), or register the app by hand`,
      ),
    );
  });

  it('takes back what it wrote when a write fails, charts/apps.ts included', () => {
    const root = mkdtempSync(join(tmpdir(), 'new-app-rollback-'));
    mkdirSync(join(root, 'charts'));
    writeFileSync(join(root, 'charts', 'apps.ts'), 'before\n');
    writeFileSync(join(root, 'blocker'), 'a file where a folder must go');
    const files = new Map([
      ['charts/billing/app.ts', 'written first'],
      ['blocker/inside.ts', 'cannot be written'],
    ]);
    assert.throws(() => write(root, { files, registry: 'after\n' }), /ENOTDIR|EEXIST/);
    assert.deepEqual(readdirSync(root).sort(), ['blocker', 'charts']);
    assert.deepEqual(readdirSync(join(root, 'charts')), ['apps.ts']);
    assert.equal(readFileSync(join(root, 'charts', 'apps.ts'), 'utf8'), 'before\n');
    rmSync(root, { recursive: true });
  });

  it('spells the name as TypeScript constants and classes', () => {
    assert.deepEqual(identifiers('orders'), { constant: 'ORDERS', pascal: 'Orders' });
    assert.deepEqual(identifiers('e2e-orders'), { constant: 'E2E_ORDERS', pascal: 'E2eOrders' });
  });

  it('writes Dockerfiles on the base services/ pins, running as non-root with an exec-form CMD', () => {
    for (const service of ['storefront', 'catalog', 'reviews', 'ratings']) {
      const text = readFileSync(join(ROOT, 'services', service, 'Dockerfile'), 'utf8');
      assert.match(text, new RegExp(`^ARG NODE_IMAGE=${NODE_IMAGE.replace(/\./g, '\\.')}$`, 'm'), service);
    }
    const files = scaffoldFiles('orders');
    for (const service of ['web', 'api']) {
      const text = files.get(`apps-src/orders/${service}/Dockerfile`)!;
      const instructions = text.split('\n').filter((l) => /^[A-Z]+ /.test(l));
      assert.deepEqual(
        instructions.map((l) => l.split(' ')[0]),
        ['ARG', 'FROM', 'RUN', 'ENV', 'WORKDIR', 'COPY', 'USER', 'EXPOSE', 'CMD'],
      );
      assert.ok(instructions.includes(`ARG NODE_IMAGE=${NODE_IMAGE}`));
      assert.ok(instructions.includes('FROM ${NODE_IMAGE}'));
      assert.ok(instructions.includes('COPY server.mjs ./'));
      assert.ok(instructions.includes('USER 10001:10001'));
      assert.ok(instructions.includes('EXPOSE 8080'));
      assert.ok(instructions.includes('CMD ["node", "server.mjs"]'));
      assert.match(
        text,
        new RegExp(`docker build -t localhost:5001/orders-${service}:dev apps-src/orders/${service}`),
      );
    }
  });
});
