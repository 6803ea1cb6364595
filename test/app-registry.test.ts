import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { App, Chart } from 'cdk8s';
import {
  APPS,
  BOOKINFO_APP,
  BOOKINFO_WORKLOADS,
  bookinfoImage,
  PAYMENTS_APP,
  PAYMENTS_SERVICES,
  SHOP_APP,
  SHOP_SERVICES,
} from '../charts/index.js';
import {
  type AppBuildOptions,
  AppRegistry,
  DockerfileImage,
  ImageSource,
  MeshAppDefinition,
  type MeshAppProps,
  MeshNamespace,
  Microservice,
  ReferenceImage,
  renderObjects,
} from '../constructs/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A valid definition, with `overrides` on top. */
function props(overrides: Partial<Record<keyof MeshAppProps, unknown>> = {}): MeshAppProps {
  return {
    name: 'orders',
    variants: ['dev', 'prod'],
    build: () => undefined,
    ...overrides,
  } as MeshAppProps;
}

const refused = (overrides: Partial<Record<keyof MeshAppProps, unknown>>, message: string) =>
  assert.throws(() => MeshAppDefinition.define(props(overrides)), new Error(message));

describe('MeshAppDefinition.define', () => {
  it('refuses a name that is not a DNS label', () => {
    const fix = 'name is not a DNS label; use at most 63 lower-case letters, digits and "-", e.g. "orders"';
    refused({ name: 'Orders' }, `app "Orders": ${fix}`);
    refused({ name: 'orders_v2' }, `app "orders_v2": ${fix}`);
    refused({ name: 'x'.repeat(64) }, `app "${'x'.repeat(64)}": ${fix}`);
    // Missing, it says so (never `app "undefined"`): test/input-checks.test.ts has the other types.
    refused(
      { name: undefined },
      'MeshAppDefinition.define: name: is required but missing; give a DNS label, e.g. "orders"',
    );
    assert.throws(
      () => MeshAppDefinition.define(undefined as unknown as MeshAppProps),
      new Error(
        'MeshAppDefinition.define: props: is required but missing; pass e.g. { name: "orders", variants: ["dev"], build: (app, variant) => new OrdersChart(app, "orders") }',
      ),
    );
  });

  it('refuses a variant flag the tools do not offer', () => {
    refused(
      { variantFlag: 'environment' },
      'app "orders": variantFlag "environment" is neither "env" nor "scenario"; use one of them, or leave it out for "env"',
    );
  });

  it('refuses empty, malformed and repeated variants and a default that is not one of them', () => {
    const empty =
      'app "orders": variants is empty; list the variants it synthesizes in, e.g. ["dev", "prod"]';
    refused({ variants: [] }, empty);
    refused({ variants: 'dev' }, empty);
    refused(
      { variants: ['dev', 'Prod'] },
      'app "orders": variant "Prod" is not a DNS label; use lower-case letters, digits and "-"',
    );
    refused(
      { variants: ['dev', 'dev'] },
      'app "orders": variant "dev" is listed twice; list each variant once',
    );
    refused(
      { defaultVariant: 'staging' },
      'app "orders": defaultVariant "staging" is not one of its variants; use one of dev, prod',
    );
  });

  it('refuses images that are not a map of DNS-label keys to ImageSources', () => {
    refused(
      { images: [ImageSource.fromReference('nginx')] },
      'app "orders": images is not a map of image key to ImageSource; write e.g. { web: ImageSource.fromDockerfile({ context: "apps/web" }) }',
    );
    refused(
      { images: { Web: ImageSource.fromReference('nginx') } },
      'app "orders": image key "Web" is not a DNS label; name images after their service',
    );
    refused(
      { images: { web: 'nginx:1.27' } },
      'app "orders": images.web is not an ImageSource; use ImageSource.fromDockerfile({...}) or ImageSource.fromReference("...")',
    );
  });

  it('refuses a build that is not a function', () => {
    refused(
      { build: undefined },
      'app "orders": build: is required but missing; give (app, variant, options) => new YourChart(app, ...)',
    );
    refused(
      { build: 'orders' },
      'app "orders": build: expected a function, got the string "orders"; give (app, variant, options) => new YourChart(app, ...)',
    );
  });

  it('keeps a frozen copy, with the defaults filled in', () => {
    const variants = ['dev', 'prod'];
    const images = { web: ImageSource.fromReference('nginx:1.27') };
    const app = MeshAppDefinition.define(props({ variants, images, description: 'Orders' }));
    variants.push('qa');
    (images as Record<string, ImageSource>).api = ImageSource.fromReference('nginx');
    assert.deepEqual(app.variants, ['dev', 'prod']);
    assert.deepEqual(Object.keys(app.images), ['web']);
    assert.ok(Object.isFrozen(app.variants) && Object.isFrozen(app.images));
    assert.equal(app.variantFlag, 'env');
    assert.equal(app.defaultVariant, 'dev');
    assert.equal(app.description, 'Orders');
  });
});

describe('MeshAppDefinition.build', () => {
  /** A definition whose build records its calls and adds one chart. */
  function recording(variantFlag: 'env' | 'scenario') {
    const calls: [string, AppBuildOptions][] = [];
    const app = MeshAppDefinition.define({
      name: 'orders',
      variantFlag,
      variants: ['dev', 'prod'],
      defaultVariant: 'prod',
      build: (cdk8sApp: App, variant, options) => {
        calls.push([variant, options]);
        const chart = new Chart(cdk8sApp, 'orders');
        new Microservice(chart, 'api', {
          namespace: new MeshNamespace(chart, 'namespace', { name: 'orders' }),
          image: options.images?.api ?? 'registry.example.com/api:1.0.0',
          versions: { v1: {} },
        });
      },
    });
    return { app, calls };
  }

  it('refuses a variant the app does not have, naming the flag and the variants', () => {
    const env = recording('env');
    assert.throws(
      () => env.app.build(new App(), 'qa'),
      new Error('app "orders": unknown env "qa"; use one of dev, prod'),
    );
    const scenario = recording('scenario');
    assert.throws(
      () => scenario.app.build(new App(), 'qa'),
      new Error('app "orders": unknown scenario "qa"; use one of dev, prod'),
    );
    assert.deepEqual([...env.calls, ...scenario.calls], [], 'the chart is not built');
  });

  it('builds the default variant, passing the options through', () => {
    const { app, calls } = recording('env');
    const cdk8sApp = new App();
    app.build(cdk8sApp, undefined, { images: { api: 'registry.example.com/api@sha256:' + 'a'.repeat(64) } });
    assert.deepEqual(calls, [
      ['prod', { images: { api: `registry.example.com/api@sha256:${'a'.repeat(64)}` } }],
    ]);
    const deployment = renderObjects(cdk8sApp).find((o) => o.kind === 'Deployment');
    assert.equal(
      (deployment as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec
        .template.spec.containers[0]!.image,
      `registry.example.com/api@sha256:${'a'.repeat(64)}`,
    );
  });
});

describe('ImageSource', () => {
  const dockerfile = (p: unknown, message: string) =>
    assert.throws(() => ImageSource.fromDockerfile(p as never), new Error(message));

  it('fromDockerfile refuses a missing context, an empty Dockerfile, inputs outside the context, bad args and targets', () => {
    const where = 'ImageSource.fromDockerfile';
    const context = `${where}: context is empty; give the build context, e.g. "services"`;
    // Missing, it says so; test/input-checks.test.ts has the other types.
    dockerfile(undefined, `${where}: props: is required but missing; pass e.g. { context: "services" }`);
    dockerfile({}, `${where}: context: is required but missing; give the build context, e.g. "services"`);
    dockerfile({ context: '' }, context);
    dockerfile({ context: '  ' }, context);
    dockerfile(
      { context: 'apps/web', dockerfile: '' },
      `${where}: dockerfile is empty; give the Dockerfile's path relative to the context, or leave it out for "Dockerfile"`,
    );
    dockerfile(
      { context: 'apps/web', inputs: [] },
      `${where}: inputs is empty, so no change would rebuild the image; list what the Dockerfile copies, or leave it out for the whole context`,
    );
    for (const input of ['../shared', 'src/../../x', '/etc/passwd', '']) {
      dockerfile(
        { context: 'apps/web', inputs: ['server.mjs', input] },
        `${where}: inputs[1] ${JSON.stringify(input)} is not a path inside the context; write it relative to the context, without ".."`,
      );
    }
    dockerfile(
      { context: 'apps/web', args: { NODE_MAJOR: 24 } },
      `${where}: args.NODE_MAJOR is not a string; build arguments are strings, e.g. "24"`,
    );
    dockerfile(
      { context: 'apps/web', target: 'build stage' },
      `${where}: target "build stage" is not a build stage name; give the name after AS in the Dockerfile's FROM line, e.g. "runtime"`,
    );
  });

  it('fromDockerfile keeps a frozen copy with the defaults filled in', () => {
    const inputs = ['server.mjs'];
    const image = ImageSource.fromDockerfile({ context: 'apps/web', inputs, target: 'runtime' });
    inputs.push('more');
    assert.ok(image instanceof DockerfileImage);
    assert.equal(image.kind, 'dockerfile');
    assert.equal(image.dockerfile, 'Dockerfile');
    assert.deepEqual(image.inputs, ['server.mjs']);
    assert.deepEqual(image.args, {});
    assert.equal(image.target, 'runtime');
    assert.equal(ImageSource.fromDockerfile({ context: 'apps/web' }).inputs, undefined);
  });

  it('fromReference takes what docker pull takes and refuses the rest', () => {
    for (const ok of [
      'nginx',
      'nginx:1.27.3-alpine',
      'docker.io/istio/examples-bookinfo-ratings-v1:1.20.3',
      'localhost:5001/orders-web:dev',
      `registry.example.com/team/api@sha256:${'0'.repeat(64)}`,
      `registry.example.com/team/api:1.0.0@sha256:${'0'.repeat(64)}`,
    ]) {
      const image = ImageSource.fromReference(ok);
      assert.ok(image instanceof ReferenceImage);
      assert.equal(image.kind, 'reference');
      assert.equal(image.reference, ok);
    }
    for (const bad of ['', 'Nginx', 'nginx:', 'nginx:1 2', 'nginx@sha256:abc', 'https://docker.io/nginx']) {
      assert.throws(
        () => ImageSource.fromReference(bad as string),
        new Error(
          `ImageSource.fromReference: "${String(bad)}" is not an image reference; write [registry/]name[:tag][@sha256:digest], e.g. docker.io/istio/examples-bookinfo-ratings-v1:1.20.3`,
        ),
        String(bad),
      );
    }
    // Missing, it says so, never `"undefined" is not an image reference`.
    assert.throws(
      () => ImageSource.fromReference(undefined as unknown as string),
      new Error(
        'ImageSource.fromReference: reference: is required but missing; pass an image reference, e.g. "docker.io/istio/examples-bookinfo-ratings-v1:1.20.3"',
      ),
    );
  });
});

describe('AppRegistry', () => {
  const app = (name: string) => MeshAppDefinition.define(props({ name }));

  it('refuses what is not an app and a second app of the same name', () => {
    assert.throws(
      () => new AppRegistry([{ name: 'orders' } as MeshAppDefinition]),
      new Error('AppRegistry.register: not an app; build it with MeshAppDefinition.define({...})'),
    );
    assert.throws(
      () => new AppRegistry([app('orders'), app('orders')]),
      new Error('AppRegistry: app "orders" is registered twice; give each app its own name'),
    );
    const registry = new AppRegistry([app('orders')]);
    assert.throws(
      () => registry.register(app('orders')),
      new Error('AppRegistry: app "orders" is registered twice; give each app its own name'),
    );
  });

  it('finds apps by name, in the order registered, and names the registered ones for an unknown name', () => {
    const orders = app('orders');
    const billing = app('billing');
    const registry = new AppRegistry([orders]).register(billing);
    assert.deepEqual(
      registry.apps.map((a) => a.name),
      ['orders', 'billing'],
    );
    (registry.apps as MeshAppDefinition[]).pop();
    assert.equal(registry.apps.length, 2, 'apps is a copy');
    assert.equal(registry.get('billing'), billing);
    assert.equal(registry.find('billing'), billing);
    assert.equal(registry.find('shop'), undefined);
    assert.throws(
      () => registry.get('shop'),
      new Error('unknown app "shop"; registered apps: orders, billing'),
    );
    assert.throws(
      () => new AppRegistry().get('shop'),
      new Error('unknown app "shop"; registered apps: none'),
    );
  });
});

describe('the registered apps', () => {
  it('are the shop, Bookinfo and payments (and whatever new-app added)', () => {
    assert.equal(APPS.get('shop'), SHOP_APP);
    assert.equal(APPS.get('bookinfo'), BOOKINFO_APP);
    assert.equal(APPS.get('payments'), PAYMENTS_APP);
    assert.deepEqual(
      APPS.apps.slice(0, 3).map((a) => a.name),
      ['shop', 'bookinfo', 'payments'],
    );
  });

  it('payments: environments dev and prod; three images built from services/payments-<service>/Dockerfile', () => {
    assert.equal(PAYMENTS_APP.variantFlag, 'env');
    assert.deepEqual(PAYMENTS_APP.variants, ['dev', 'prod']);
    assert.equal(PAYMENTS_APP.defaultVariant, 'dev');
    assert.deepEqual(Object.keys(PAYMENTS_APP.images), ['api', 'ledger', 'notifier']);
    for (const service of PAYMENTS_SERVICES) {
      const image = PAYMENTS_APP.images[service];
      assert.ok(image instanceof DockerfileImage, service);
      assert.equal(image.dockerfile, `payments-${service}/Dockerfile`);
      assert.ok(existsSync(join(ROOT, image.context, image.dockerfile)), `${image.dockerfile} exists`);
      // Exactly what the Dockerfile copies, so a change to any of it (and nothing else) rebuilds it.
      const dockerfile = readFileSync(join(ROOT, image.context, image.dockerfile), 'utf8');
      const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
      assert.deepEqual(
        copied.map((c) => c.replace(/\/$/, '')).sort(),
        (image.inputs ?? []).filter((i) => i !== '.dockerignore').sort(),
      );
    }
  });

  it('the shop: environments dev, staging, prod; four images built from services/<service>/Dockerfile', () => {
    assert.equal(SHOP_APP.variantFlag, 'env');
    assert.deepEqual(SHOP_APP.variants, ['dev', 'staging', 'prod']);
    assert.equal(SHOP_APP.defaultVariant, 'dev');
    assert.deepEqual(Object.keys(SHOP_APP.images), [...SHOP_SERVICES]);
    assert.deepEqual(Object.keys(SHOP_APP.images), ['storefront', 'catalog', 'reviews', 'ratings']);
    for (const service of SHOP_SERVICES) {
      const image = SHOP_APP.images[service];
      assert.ok(image instanceof DockerfileImage, service);
      assert.equal(image.context, 'services');
      assert.equal(image.dockerfile, `${service}/Dockerfile`);
      assert.ok(existsSync(join(ROOT, image.context, image.dockerfile)), `${image.dockerfile} exists`);
      for (const input of image.inputs ?? []) {
        assert.ok(existsSync(join(ROOT, image.context, input)), `input ${input} of ${service} exists`);
      }
      assert.ok(image.inputs?.includes(service) && image.inputs.includes('shared'));
    }
  });

  it('the shop: the stacks’ images replace the chart’s in its Deployments', () => {
    const app = new App();
    const images = Object.fromEntries(SHOP_SERVICES.map((s) => [s, `registry.example.com/built/${s}:abc`]));
    SHOP_APP.build(app, 'staging', { images });
    const deployments = renderObjects(app).filter((o) => o.kind === 'Deployment') as unknown as {
      metadata: { labels: { app: string } };
      spec: { template: { spec: { containers: { image: string }[] } } };
    }[];
    const ours = deployments.filter((d) =>
      (SHOP_SERVICES as readonly string[]).includes(d.metadata.labels.app),
    );
    assert.equal(ours.length, 6, 'storefront, catalog, ratings and three reviews');
    for (const d of ours) {
      assert.equal(d.spec.template.spec.containers[0]!.image, images[d.metadata.labels.app]);
    }
  });

  it('Bookinfo: scenarios; six references to Istio’s published images, the ones its Deployments run', () => {
    assert.equal(BOOKINFO_APP.variantFlag, 'scenario');
    assert.equal(BOOKINFO_APP.defaultVariant, 'all-v1');
    assert.deepEqual(Object.keys(BOOKINFO_APP.images), [...BOOKINFO_WORKLOADS]);
    assert.equal(Object.keys(BOOKINFO_APP.images).length, 6);
    for (const workload of BOOKINFO_WORKLOADS) {
      const image = BOOKINFO_APP.images[workload];
      assert.ok(image instanceof ReferenceImage, workload);
      assert.equal(image.reference, bookinfoImage(workload));
    }
    const app = new App();
    BOOKINFO_APP.build(app);
    const running = Object.fromEntries(
      (
        renderObjects(app).filter((o) => o.kind === 'Deployment') as unknown as {
          metadata: { name: string };
          spec: { template: { spec: { containers: { image: string }[] } } };
        }[]
      ).map((d) => [d.metadata.name, d.spec.template.spec.containers[0]!.image]),
    );
    assert.deepEqual(
      running,
      Object.fromEntries(
        BOOKINFO_WORKLOADS.map((w) => [w, (BOOKINFO_APP.images[w] as ReferenceImage).reference]),
      ),
    );
  });
});
