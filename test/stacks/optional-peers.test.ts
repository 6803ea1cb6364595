/**
 * mesh-kit/pulumi loads @pulumi/aws, @pulumi/eks, @pulumi/docker and @pulumi/command only for the
 * components that use them (stacks/peers.ts): the kind stack never loads the AWS packages, a
 * stack on an existing cluster with prebuilt images loads none of the four, and a missing peer is
 * named with its install command. Each case is a fresh Node.js process with a module hook that
 * records the packages resolved (and can hide one, as if it were not installed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nodeModule from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const lib = (path: string) => new URL(`../../${path}`, import.meta.url).href;

/** The optional peers the script loaded, and what it printed; `hide` is resolved as missing. */
function run(body: string, hide?: string): { loaded: string[]; output: unknown } {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier === ${JSON.stringify(hide ?? null)}) {
          const e = new Error("Cannot find module '" + specifier + "'");
          e.code = 'MODULE_NOT_FOUND';
          throw e;
        }
        const found = next(specifier, context);
        const pkg = /node_modules\\/(@pulumi\\/(?:aws|eks|docker|command))\\//.exec(found.url);
        if (pkg) loaded.add(pkg[1]);
        return found;
      },
    });
    const { installMocks, settle, stackConfigFile, TLS_SECRETS } = await import('${lib('test/stacks/mocks.js')}');
    const output = await (async () => { ${body} })();
    await settle();
    console.log(JSON.stringify({ loaded: [...loaded].sort(), output }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { loaded: string[]; output: unknown };
}

// module.registerHooks (Node.js 22.15 / 23.5 and later) sees require() as well as import.
const hooks =
  'registerHooks' in nodeModule ? {} : { skip: 'needs module.registerHooks (Node.js 22.15 or later)' };

describe('mesh-kit/pulumi: optional peers load with the components that need them', hooks, () => {
  it('runs the dev stack (kind, images built and loaded) without @pulumi/aws or @pulumi/eks', () => {
    const { loaded } = run(`
      await installMocks('dev', stackConfigFile('dev'));
      await import('${lib('stacks/index.js')}');
    `);
    assert.deepEqual(loaded, ['@pulumi/command', '@pulumi/docker']);
  });

  it('runs the prod stack (EKS, images pushed to ECR) with the AWS packages and docker, not the kind commands', () => {
    const { loaded } = run(`
      await installMocks('prod', { ...stackConfigFile('prod'), ...TLS_SECRETS.config }, TLS_SECRETS.secretKeys);
      await import('${lib('stacks/index.js')}');
    `);
    assert.deepEqual(loaded, ['@pulumi/aws', '@pulumi/docker', '@pulumi/eks']);
  });

  it('builds Istio on an existing cluster from the core packages alone, and names a missing peer with its install command', () => {
    // One process for both: the existing cluster loads none of the four, and the EKS cluster, with
    // @pulumi/eks hidden as if not installed, fails before loading any.
    const { loaded, output } = run(
      `
      await installMocks('components', {});
      const c = await import('${lib('stacks/components.js')}');
      const cluster = new c.ExistingCluster('prod', { kubeconfig: 'apiVersion: v1' });
      new c.IstioMesh('mesh', { gatewayService: { type: 'LoadBalancer' } }, { provider: cluster.provider });
      const images = new c.ServiceImages('images', {
        apps: [], root: '.', environment: 'prod', registry: { type: 'ecr' }, platform: 'linux/amd64',
      });
      try {
        new c.EksCluster('eks', { desiredCapacity: 2 });
        return { images: Object.keys(images.images).length, eks: 'created' };
      } catch (e) {
        return { images: Object.keys(images.images).length, eks: e.message };
      }
    `,
      '@pulumi/eks',
    );
    assert.deepEqual(loaded, []);
    assert.deepEqual(output, {
      images: 0,
      eks: 'mesh-kit/pulumi: EksCluster needs the optional peer dependency @pulumi/eks, which is not installed; run: npm install @pulumi/eks@"^4.3.0"',
    });
  });
});
