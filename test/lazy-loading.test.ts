/**
 * The admission pass loads the CEL library (@bufbuild/cel and protobuf) and kubernetes-models'
 * validators only when an object needs them: a synth whose objects all pass the fast paths loads
 * neither, and one that needs them still gets every check with the same messages. Each case runs
 * in a fresh Node.js process, with a module hook that records every module resolved, since a
 * module once loaded stays loaded for the rest of a process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nodeModule from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const lib = (path: string) => new URL(`../${path}`, import.meta.url).href;

/** The packages the script loaded (of those named), and what it printed. */
function run(body: string): { loaded: string[]; output: unknown } {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const found = next(specifier, context);
        const pkg = /node_modules\\/(@bufbuild\\/[^/]+|kubernetes-models)\\//.exec(found.url);
        if (pkg) loaded.add(pkg[1]);
        return found;
      },
    });
    const output = await (async () => { ${body} })();
    console.log(JSON.stringify({ loaded: [...loaded].sort(), output }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { loaded: string[]; output: unknown };
}

// module.registerHooks (Node.js 22.15 / 23.5 and later) sees require() as well as import, which
// is how the admission pass loads these; mesh-kit itself runs from 22.12 on, where this is skipped.
const hooks =
  'registerHooks' in nodeModule ? {} : { skip: 'needs module.registerHooks (Node.js 22.15 or later)' };

describe('admission pass: loading what a run needs', hooks, () => {
  it('synthesizes every sample app in every variant without the CEL library or kubernetes-models', () => {
    const { loaded, output } = run(`
      const { App } = await import('cdk8s');
      const { APPS } = await import('${lib('charts/index.js')}');
      const { renderObjects } = await import('${lib('constructs/index.js')}');
      let objects = 0;
      for (const sample of APPS.apps)
        for (const variant of sample.variants) {
          const app = new App();
          sample.build(app, variant);
          objects += renderObjects(app).length;
        }
      return objects;
    `);
    assert.ok((output as number) > 500, `only ${String(output)} objects synthesized`);
    assert.deepEqual(loaded, []);
  });

  it("loads a kind's validator when an object needs it, and reports what it finds", () => {
    const { loaded, output } = run(`
      const { admissionProblems } = await import('${lib('constructs/admission/index.js')}');
      return admissionProblems([
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: 'shop' } },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'api', namespace: 'shop' },
          spec: { replicas: -1.5, selector: {}, template: {} },
        },
      ]);
    `);
    assert.deepEqual(output, [
      '[Deployment shop/api] spec.selector: is empty, and the API server refuses an empty selector; select the pods by their app and version labels',
      '[Deployment shop/api] spec.replicas: a number where the schema wants an integer; write an integer',
    ]);
    assert.deepEqual(loaded, ['kubernetes-models']);
  });

  it('loads the CEL library for a rule the native evaluator leaves to it, and only then', () => {
    const { loaded, output } = run(`
      const { evaluate } = await import('${lib('constructs/admission/cel.js')}');
      const schema = { type: 'object', properties: { selector: { type: 'object' }, port: { type: 'integer' } } };
      // A pinned rule (AuthorizationPolicy's spec), which the native evaluator decides.
      const pinned = {
        rule: '(has(self.selector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1',
        message: 'only one of targetRefs or selector can be set',
      };
      const native = evaluate(pinned, { selector: {} }, schema) ?? 'holds';
      const before = [...loaded];
      // double() is the library's alone.
      const library = evaluate({ rule: 'double(self.port) > 0.5', message: 'positive' }, { port: 0 }, schema);
      return { native, before, library };
    `);
    assert.deepEqual(output, { native: 'holds', before: [], library: 'positive' });
    assert.ok(loaded.includes('@bufbuild/cel'), `loaded: ${loaded.join(', ')}`);
    assert.deepEqual(
      loaded.filter((p) => !p.startsWith('@bufbuild/')),
      [],
    );
  });
});
