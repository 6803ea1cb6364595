/**
 * Stack configuration: the three stack files read cleanly, and bad or missing config fails before any
 * resource exists, naming every key and its fix.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { ApiObject, Chart } from 'cdk8s';
import { APPS } from '../../charts/apps.js';
import { BookinfoChart } from '../../charts/bookinfo.js';
import { ENVIRONMENTS } from '../../charts/environments.js';
import { ShopChart } from '../../charts/shop.js';
import { AppRegistry, MeshAppDefinition } from '../../constructs/index.js';
import { installMocks, REPO_ROOT, stackConfigFile, TLS_PEM, TLS_SECRETS, valueOf } from './mocks.js';

import type * as ConfigModule from '../../stacks/config.js';
type Config = typeof ConfigModule;
let config: Config;

before(async () => {
  await installMocks('config', {});
  config = await import('../../stacks/config.js');
});

/** Reads `values` (keys without the project prefix) as stack `stack` would. */
function read(values: Record<string, unknown>, stack = 'test', secretKeys: string[] = []) {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        `mesh-kit:${k}`,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    ),
    secretKeys.map((k) => `mesh-kit:${k}`),
  );
  return config.readStackConfig(new pulumi.Config('mesh-kit'), stack);
}

/** A stack file's project keys (Pulumi.<stack>.yaml), without the `mesh-kit:` prefix, for `read`. */
function fileValues(stack: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stackConfigFile(stack))
      .filter(([k]) => k.startsWith('mesh-kit:'))
      .map(([k, v]) => [k.slice('mesh-kit:'.length), v]),
  );
}

function problems(values: Record<string, unknown>, stack = 'test'): string[] {
  try {
    read(values, stack);
  } catch (e) {
    assert.ok(e instanceof config.StackConfigError, String(e));
    assert.match(e.message, new RegExp(`^stack "${stack}" has \\d+ configuration problems?:`));
    return [...e.problems];
  }
  throw new Error('expected a StackConfigError');
}

describe('stack configuration', () => {
  it('reads dev as kind with every add-on, staging and prod as EKS with ECR', () => {
    // staging and prod also need the TLS secrets, which no stack file can hold for every stack.
    const load = (stack: string) => {
      const tls = stack === 'dev' ? { config: {}, secretKeys: [] } : TLS_SECRETS;
      pulumi.runtime.setAllConfig({ ...stackConfigFile(stack), ...tls.config }, [...tls.secretKeys]);
      return config.readStackConfig(new pulumi.Config('mesh-kit'), stack);
    };
    const dev = load('dev');
    assert.equal(dev.environment, 'dev');
    assert.equal(dev.cluster.type, 'kind');
    assert.deepEqual(dev.registry, { type: 'kind' });
    assert.deepEqual(dev.addons, { prometheus: true, tracing: true, kiali: true });
    assert.equal(dev.imagePlatform, undefined);
    assert.equal(dev.dataPlane, 'sidecar');
    for (const stack of ['staging', 'prod']) {
      const c = load(stack);
      assert.equal(c.environment, stack);
      assert.equal(c.cluster.type, 'eks');
      assert.deepEqual(c.registry, { type: 'ecr' });
      assert.equal(c.imagePlatform, 'linux/amd64');
    }
    assert.equal(dev.tls, undefined);
    const secretOf = (stack: string) => {
      const tls = load(stack).tls;
      return tls?.mode === 'config' ? [tls.credentialName, tls.namespace] : undefined;
    };
    assert.deepEqual(
      [secretOf('staging'), secretOf('prod')],
      [
        ['shop-staging-tls', 'istio-system'],
        ['shop-tls', 'istio-system'],
      ],
    );
    // No stack file names its apps: the registry's first, the shop, in the environment's variant.
    for (const stack of ['dev', 'staging', 'prod'])
      assert.deepEqual(
        load(stack).apps.map((a) => [a.app.name, a.variant]),
        [['shop', stack]],
      );
    assert.deepEqual(
      [
        dev.tracingSamplingPercentage,
        load('staging').tracingSamplingPercentage,
        load('prod').tracingSamplingPercentage,
      ],
      [100, 10, 1],
    );
    assert.equal(load('prod').gatewayReplicas, 2);
    assert.equal(load('prod').addons.kiali, false);
  });

  it('names the missing keys and how to set them', () => {
    assert.deepEqual(problems({}, 'dev'), [
      'mesh-kit:environment: is missing; use one of dev, staging, prod; set it with `pulumi config set environment dev`',
      'mesh-kit:cluster: is missing; set it with `pulumi config set --path cluster.type kind` (or eks, existing)',
    ]);
  });

  it('rejects unknown values, fields, bad numbers and unpinned node images, all at once', () => {
    const found = problems({
      environment: 'qa',
      cluster: { type: 'kind', nodeImage: 'kindest/node:v1.35.0', httpHostPort: 70000, color: 'red' },
      addons: { kiali: true, prometheus: false },
      dataPlane: 'proxyless',
    });
    const has = (re: RegExp) =>
      assert.ok(
        found.some((p) => re.test(p)),
        `no problem matching ${re} in:\n${found.join('\n')}`,
      );
    has(
      /^mesh-kit:environment: "qa" is not supported; use one of dev, staging, prod; set it with `pulumi config set environment dev`$/,
    );
    has(
      /^mesh-kit:cluster\.color: is not a known field .*; remove it with `pulumi config rm --path cluster\.color`$/,
    );
    has(
      /^mesh-kit:cluster\.nodeImage: "kindest\/node:v1\.35\.0" is not pinned by digest; use an image from kind's release notes/,
    );
    has(
      /^mesh-kit:cluster\.httpHostPort: must be a whole number from 1 to 65535, got 70000; set it with `pulumi config set --path cluster\.httpHostPort 8080`$/,
    );
    has(/^mesh-kit:addons\.kiali: is true but addons\.prometheus is false/);
    has(/^mesh-kit:dataPlane: "proxyless" is not supported; use one of sidecar, ambient/);
    assert.equal(found.length, 6);
  });

  it('refuses a setting the project does not read, naming the one it resembles', () => {
    const values = { ...fileValues('dev'), gatewayReplica: '3', colour: 'red' };
    assert.deepEqual(problems(values, 'dev'), [
      'mesh-kit:gatewayReplica: is not a setting of this project; did you mean mesh-kit:gatewayReplicas?; remove it with `pulumi config rm gatewayReplica` and set gatewayReplicas instead',
      'mesh-kit:colour: is not a setting of this project; remove it with `pulumi config rm colour` (the settings: environment, cluster, apps, addons, dataPlane, registry, registryPassword, kubeconfig, outboundTrafficPolicy, egressGateway, gatewayReplicas, imagePlatform, tracingSamplingPercentage, tls, tlsCertificate, tlsKey)',
    ]);
    // Another namespace's keys (a provider's) are not the project's to judge.
    pulumi.runtime.setAllConfig({ ...stackConfigFile('dev'), 'kubernetes:context': 'kind-meshkit' });
    assert.equal(config.readStackConfig(new pulumi.Config('mesh-kit'), 'dev').environment, 'dev');
  });

  it('reads the EKS admin and viewer roles, and refuses what is not a list of IAM role ARNs', () => {
    const eks = (extra: Record<string, unknown>) => ({
      environment: 'staging',
      cluster: { type: 'eks', ...extra },
      tls: { mode: 'existing' },
    });
    const admin = 'arn:aws:iam::123456789012:role/platform/team-admin';
    const preview = 'arn:aws:iam::123456789012:role/mesh-kit-preview';
    const c = read(eks({ adminRoleArns: [admin], viewerRoleArns: [preview] }), 'staging').cluster;
    assert.equal(c.type, 'eks');
    assert.deepEqual([c.adminRoleArns, c.viewerRoleArns], [[admin], [preview]]);
    const none = read(eks({}), 'staging').cluster;
    assert.deepEqual(none.type === 'eks' && [none.adminRoleArns, none.viewerRoleArns], [[], []]);
    assert.deepEqual(
      problems(
        eks({ adminRoleArns: admin, viewerRoleArns: ['arn:aws:iam::123456789012:user/alice'] }),
        'staging',
      ),
      [
        `mesh-kit:cluster.adminRoleArns: must be a list of IAM role ARNs, got "${admin}"; set each with \`pulumi config set --path 'cluster.adminRoleArns[0]' arn:aws:iam::<account>:role/<name>\``,
        'mesh-kit:cluster.viewerRoleArns: must be a list of IAM role ARNs, got ["arn:aws:iam::123456789012:user/alice"]; set each with `pulumi config set --path \'cluster.viewerRoleArns[0]\' arn:aws:iam::<account>:role/<name>`',
      ],
    );
  });

  it('rejects a cluster that is not an object, and a cluster type it does not know', () => {
    assert.match(
      problems({ environment: 'dev', cluster: '"kind"' })[0],
      /^mesh-kit:cluster: must be an object, got "\\"kind\\""; set its fields with `pulumi config set --path cluster\.<field> <value>`$/,
    );
    assert.match(
      problems({ environment: 'dev', cluster: { type: 'gke' } })[0],
      /^mesh-kit:cluster\.type: "gke" is not supported; use one of kind, eks, existing/,
    );
  });

  it('needs the kubeconfig secret for an existing cluster and the password secret for a generic registry', () => {
    const found = problems({
      environment: 'staging',
      cluster: { type: 'existing' },
      registry: { type: 'generic', server: 'registry.example.com/shop', username: 'ci' },
      tls: { mode: 'existing' },
    });
    assert.deepEqual(found, [
      'mesh-kit:kubeconfig: is missing (cluster.type is existing); store it as a secret with `pulumi config set --secret kubeconfig < ~/.kube/config`',
      'mesh-kit:registryPassword: is missing (registry.type is generic); store it as a secret with `pulumi config set --secret registryPassword <password or token>`',
    ]);
  });

  it('reads secrets as secrets', async () => {
    const c = read(
      {
        environment: 'staging',
        cluster: { type: 'existing', context: 'staging' },
        kubeconfig: 'apiVersion: v1',
        registry: { type: 'generic', server: 'registry.example.com/shop', username: 'ci' },
        registryPassword: 's3cret',
        tls: { mode: 'existing' },
      },
      'staging',
      ['kubeconfig', 'registryPassword'],
    );
    assert.equal(c.cluster.type, 'existing');
    assert.ok(c.cluster.type === 'existing' && c.registry.type === 'generic');
    assert.equal(await pulumi.isSecret(c.cluster.kubeconfig), true);
    assert.equal(await valueOf(c.cluster.kubeconfig), 'apiVersion: v1');
    assert.equal(await pulumi.isSecret(c.registry.password), true);
    assert.equal(c.cluster.context, 'staging');
  });

  it('refuses a registry that does not fit the cluster', () => {
    assert.match(
      problems({ environment: 'dev', cluster: { type: 'kind' }, registry: { type: 'ecr' } }).join('\n'),
      /registry\.type: is ecr, but kind clusters load the images into their nodes/,
    );
    assert.match(
      problems({ environment: 'prod', cluster: { type: 'eks' }, registry: { type: 'kind' } }).join('\n'),
      /registry\.type: is kind, but the cluster is not a kind cluster/,
    );
  });

  it('needs the TLS certificate and key secrets where the environment serves HTTPS, naming the Secret and the fix', () => {
    assert.deepEqual(problems(fileValues('prod'), 'prod'), [
      'mesh-kit:tlsCertificate: is missing (app shop serves HTTPS with the Secret shop-tls in istio-system); store the certificate chain as a secret with `pulumi config set --secret tlsCertificate < cert.pem`, or manage the Secret yourself with `pulumi config set --path tls.mode existing`',
      'mesh-kit:tlsKey: is missing (app shop serves HTTPS with the Secret shop-tls in istio-system); store the private key as a secret with `pulumi config set --secret tlsKey < key.pem`, or manage the Secret yourself with `pulumi config set --path tls.mode existing`',
    ]);
    // Swapped files are caught before anything is deployed.
    const swapped = problems({
      ...fileValues('staging'),
      tlsCertificate: TLS_PEM.key,
      tlsKey: TLS_PEM.certificate,
    });
    assert.equal(swapped.length, 2);
    assert.match(
      swapped[0],
      /^mesh-kit:tlsCertificate: is not a PEM certificate chain \(no "-----BEGIN CERTIFICATE-----" line\)/,
    );
    assert.match(swapped[1], /^mesh-kit:tlsKey: is not a PEM private key/);
  });

  it("reads the TLS certificate and key as secrets, and names the Secret as the app's Gateway does", async () => {
    const c = read(
      {
        environment: 'staging',
        cluster: { type: 'eks' },
        tlsCertificate: TLS_PEM.certificate,
        tlsKey: TLS_PEM.key,
      },
      'staging',
      ['tlsCertificate', 'tlsKey'],
    );
    assert.ok(c.tls?.mode === 'config');
    assert.equal(c.tls.credentialName, 'shop-staging-tls');
    assert.equal(c.tls.namespace, 'istio-system');
    assert.equal(await pulumi.isSecret(c.tls.certificate), true);
    assert.equal(await pulumi.isSecret(c.tls.key), true);
    assert.equal(await valueOf(c.tls.key), TLS_PEM.key);
  });

  it('leaves the Secret to its owner with tls.mode existing, and refuses TLS config where there is no HTTPS', () => {
    const c = read({ environment: 'prod', cluster: { type: 'eks' }, tls: { mode: 'existing' } }, 'prod');
    assert.deepEqual(c.tls, {
      mode: 'existing',
      credentials: [{ name: 'shop-tls', namespace: 'istio-system' }],
    });
    assert.match(
      problems({ environment: 'prod', cluster: { type: 'eks' }, tls: { mode: 'acme' } })[0],
      /^mesh-kit:tls\.mode: "acme" is not supported; use one of config, existing/,
    );
    assert.deepEqual(problems({ environment: 'dev', cluster: { type: 'kind' }, tlsKey: TLS_PEM.key }), [
      'mesh-kit:tlsKey: is set, but no app of the stack serves HTTPS (no Gateway of shop (dev) names a certificate); remove it with `pulumi config rm tlsKey`',
    ]);
  });
});

describe('mesh-kit:apps', () => {
  /** Problems of a dev kind stack with these extra values, against `registry` (the project's by default). */
  function appProblems(values: Record<string, unknown>, registry?: AppRegistry): string[] {
    pulumi.runtime.setAllConfig(
      Object.fromEntries(
        Object.entries({ environment: 'dev', cluster: { type: 'kind' }, ...values }).map(([k, v]) => [
          `mesh-kit:${k}`,
          typeof v === 'string' ? v : JSON.stringify(v),
        ]),
      ),
    );
    try {
      config.readStackConfig(new pulumi.Config('mesh-kit'), 'dev', registry);
    } catch (e) {
      assert.ok(e instanceof config.StackConfigError, String(e));
      return [...e.problems];
    }
    throw new Error('expected a StackConfigError');
  }

  /** The apps of a stack as read: [name, variant]. */
  function appsOf(values: Record<string, unknown>, stack = 'dev', registry?: AppRegistry) {
    pulumi.runtime.setAllConfig(
      Object.fromEntries(
        Object.entries(values).map(([k, v]) => [
          `mesh-kit:${k}`,
          typeof v === 'string' ? v : JSON.stringify(v),
        ]),
      ),
    );
    return config
      .readStackConfig(new pulumi.Config('mesh-kit'), stack, registry)
      .apps.map((a) => [a.app.name, a.variant, a.dataPlane ?? 'own']);
  }

  const KNOWN = 'registered apps: shop, bookinfo, payments (charts/apps.ts)';

  it("gives each app the stack's environment as its variant where it has one, else its default", () => {
    const dev = { environment: 'dev', cluster: { type: 'kind' } };
    assert.deepEqual(appsOf({ ...dev, apps: [{ name: 'bookinfo' }, { name: 'shop' }] }), [
      ['bookinfo', 'all-v1', 'own'],
      ['shop', 'dev', 'own'],
    ]);
    assert.deepEqual(
      appsOf({
        ...dev,
        dataPlane: 'ambient',
        apps: [{ name: 'bookinfo', variant: 'reviews-80-20', dataPlane: 'ambient' }],
      }),
      [['bookinfo', 'reviews-80-20', 'ambient']],
    );
    // Ambient with its waypoint (a Gateway of class istio-waypoint), which is no ingress.
    const ambient = config.readStackConfig(new pulumi.Config('mesh-kit'), 'dev').apps[0];
    assert.deepEqual(
      ambient.gateways.map((g) => `${g.kind} ${g.namespace}/${g.name} ${g.hosts.join(',')} ${g.path}`),
      ['istio bookinfo/bookinfo-gateway * /productpage'],
    );
    const prod = { environment: 'prod', cluster: { type: 'eks' }, tls: { mode: 'existing' } };
    assert.deepEqual(appsOf({ ...prod, apps: [{ name: 'shop', variant: 'staging' }] }, 'prod'), [
      ['shop', 'staging', 'own'],
    ]);
  });

  it('refuses unknown apps, variants and fields, a missing name and an entry that is not an object, all at once', () => {
    assert.deepEqual(
      appProblems({
        apps: [
          { name: 'orders' },
          { name: 'bookinfo', variant: 'dev', color: 'red' },
          { variant: 'dev' },
          'shop',
          { name: 'shop', dataPlane: 'proxyless' },
        ],
      }),
      [
        `mesh-kit:apps[0].name: "orders" is not a registered app; set it with \`pulumi config set --path 'apps[0].name' <app>\` (${KNOWN})`,
        "mesh-kit:apps[1].color: is not a known field (known: name, variant, dataPlane); remove it with `pulumi config rm --path 'apps[1].color'`",
        'mesh-kit:apps[1].variant: "dev" is not a variant of app bookinfo; use one of all-v1, reviews-v2-v3, reviews-50-v3, reviews-80-20, reviews-90-10, reviews-v3, reviews-jason-v2-v3, reviews-test-v2, ratings-test-delay, ratings-test-abort; set it with `pulumi config set --path \'apps[1].variant\' all-v1`, or remove it for the default',
        `mesh-kit:apps[2].name: is missing; set it with \`pulumi config set --path 'apps[2].name' <app>\` (${KNOWN})`,
        `mesh-kit:apps[3]: must be an object { name, variant }, got "shop"; set it with \`pulumi config set --path 'apps[3].name' <app>\` (${KNOWN})`,
        "mesh-kit:apps[4].dataPlane: \"proxyless\" is not supported; use one of sidecar, ambient; set it with `pulumi config set --path 'apps[4].dataPlane' sidecar`, or remove it for the app's own choice",
      ],
    );
  });

  it('refuses a list that is not one, an empty list, an app listed twice and an ambient app without ambient', () => {
    assert.deepEqual(appProblems({ apps: 'bookinfo' }), [
      `mesh-kit:apps: must be a list of { name, variant }, got "bookinfo"; set its entries with \`pulumi config set --path 'apps[0].name' <app>\` (${KNOWN})`,
    ]);
    assert.deepEqual(appProblems({ apps: [] }), [
      `mesh-kit:apps: is empty; set its entries with \`pulumi config set --path 'apps[0].name' <app>\` (${KNOWN})`,
    ]);
    assert.deepEqual(
      appProblems({ apps: [{ name: 'bookinfo' }, { name: 'bookinfo', variant: 'reviews-v3' }] }),
      [
        'mesh-kit:apps[1].name: "bookinfo" is listed twice (apps[0] too); list each app once: remove one of the two from mesh-kit:apps in the stack file',
      ],
    );
    assert.deepEqual(appProblems({ apps: [{ name: 'bookinfo', dataPlane: 'ambient' }] }), [
      'mesh-kit:apps[0].dataPlane: is ambient, but the mesh is installed without ztunnel (mesh-kit:dataPlane is sidecar); install the ambient data plane with `pulumi config set dataPlane ambient`, or run the app with sidecars',
    ]);
    // payments runs its notifier in an ambient namespace of its own choice.
    assert.deepEqual(appProblems({ apps: [{ name: 'payments' }] }), [
      'mesh-kit:apps[0]: app payments (env dev) runs the namespace payments-notify in ambient mode, but the mesh is installed without ztunnel (mesh-kit:dataPlane is sidecar); install the ambient data plane with `pulumi config set dataPlane ambient`',
    ]);
    // With ztunnel the app is fine; what is left is its certificate (HTTPS in dev too).
    assert.deepEqual(
      appProblems({ apps: [{ name: 'payments' }], dataPlane: 'ambient' }).map((p) => p.split(':')[1]),
      ['tlsCertificate', 'tlsKey'],
    );
  });

  it("refuses two apps in one namespace or on one host of the stack's gateway, and an app that does not render", () => {
    // A second Bookinfo under another name: the same namespace, the same any-host Gateway.
    const copy = MeshAppDefinition.define({
      name: 'bookinfo-copy',
      variants: ['all-v1'],
      build: (app, _variant, options) => new BookinfoChart(app, 'copy', { images: options.images }),
    });
    const broken = MeshAppDefinition.define({
      name: 'broken',
      variants: ['v1'],
      build: () => {
        throw new Error('broken: no chart yet');
      },
    });
    const registry = new AppRegistry([...APPS.apps, copy, broken]);
    assert.deepEqual(appProblems({ apps: [{ name: 'bookinfo' }, { name: 'bookinfo-copy' }] }, registry), [
      'mesh-kit:apps[1]: app bookinfo-copy creates the namespace bookinfo, as app bookinfo (apps[0]) does; two apps cannot share a namespace: give one a namespace of its own in its chart, or deploy them in separate stacks',
      "mesh-kit:apps[1]: app bookinfo-copy's Gateway answers * on the stack's ingress gateway, as app bookinfo (apps[0]) does, and Istio applies only one of the two; give the apps different hosts in their charts (their variants), or deploy them in separate stacks",
    ]);
    assert.deepEqual(appProblems({ apps: [{ name: 'broken' }] }, registry), [
      'mesh-kit:apps[0]: app broken (env v1) does not render: broken: no chart yet; fix its chart; `npm run synth -- --app broken --env v1` shows the same',
    ]);
  });

  it('takes the TLS Secret from the Gateways of the apps; one certificate cannot serve two Secrets', () => {
    // A second shop with a host and certificate of its own.
    const other = MeshAppDefinition.define({
      name: 'other',
      variants: ['prod'],
      build: (app) =>
        new ShopChart(app, 'other', {
          environment: {
            ...ENVIRONMENTS.prod,
            namespace: 'other',
            ingressHosts: ['other.example.com'],
            tlsCredentialName: 'other-tls',
          },
        }),
    });
    const registry = new AppRegistry([...APPS.apps, other]);
    const prod = {
      environment: 'prod',
      cluster: { type: 'eks' },
      apps: [{ name: 'shop' }, { name: 'other' }],
      tlsCertificate: TLS_PEM.certificate,
      tlsKey: TLS_PEM.key,
    };
    assert.deepEqual(appProblems(prod, registry), [
      'mesh-kit:tls.mode: is config, but the apps read 2 certificate Secrets (shop-tls in istio-system (app shop), other-tls in istio-system (app other)) and tlsCertificate and tlsKey make one; manage the Secrets yourself with `pulumi config set --path tls.mode existing` (e.g. cert-manager), or deploy the apps in separate stacks',
    ]);
    pulumi.runtime.setAllConfig(
      Object.fromEntries(
        Object.entries({ ...prod, tlsCertificate: undefined, tlsKey: undefined, tls: { mode: 'existing' } })
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [`mesh-kit:${k}`, typeof v === 'string' ? v : JSON.stringify(v)]),
      ),
    );
    assert.deepEqual(config.readStackConfig(new pulumi.Config('mesh-kit'), 'prod', registry).tls, {
      mode: 'existing',
      credentials: [
        { name: 'shop-tls', namespace: 'istio-system' },
        { name: 'other-tls', namespace: 'istio-system' },
      ],
    });
    // Bookinfo alone on prod serves plain HTTP: no certificate wanted.
    assert.deepEqual(
      appProblems({
        environment: 'prod',
        cluster: { type: 'eks' },
        apps: [{ name: 'bookinfo' }],
        tlsKey: TLS_PEM.key,
      }),
      [
        'mesh-kit:tlsKey: is set, but no app of the stack serves HTTPS (no Gateway of bookinfo (all-v1) names a certificate); remove it with `pulumi config rm tlsKey`',
      ],
    );
  });

  it('refuses to create the TLS Secret in a namespace that neither Istio nor an app creates', () => {
    // A Gateway API Gateway whose certificate lives in a namespace of its own ("certs").
    const certs = MeshAppDefinition.define({
      name: 'certs',
      variants: ['dev'],
      build: (app) => {
        const chart = new Chart(app, 'certs');
        new ApiObject(chart, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
        new ApiObject(chart, 'gateway', {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'web', namespace: 'web' },
          spec: {
            gatewayClassName: 'istio',
            listeners: [
              {
                name: 'https',
                port: 443,
                protocol: 'HTTPS',
                hostname: 'web.example.com',
                tls: {
                  mode: 'Terminate',
                  certificateRefs: [{ kind: 'Secret', name: 'web-tls', namespace: 'certs' }],
                },
              },
            ],
          },
        });
        return chart;
      },
    });
    const registry = new AppRegistry([certs]);
    const values = { apps: [{ name: 'certs' }], tlsCertificate: TLS_PEM.certificate, tlsKey: TLS_PEM.key };
    assert.deepEqual(appProblems(values, registry), [
      "mesh-kit:tls.mode: is config, but app certs reads its certificate Secret web-tls from namespace certs, which neither Istio (istio-system) nor any app of the stack creates, so the stack has nowhere to create it; point the Gateway's certificateRef at a namespace the app creates, or manage the Secret yourself with `pulumi config set --path tls.mode existing`",
    ]);
    // Managed by the platform (e.g. cert-manager in certs), the Secret is no concern of the stack.
    pulumi.runtime.setAllConfig({
      'mesh-kit:environment': 'dev',
      'mesh-kit:cluster': '{"type":"kind"}',
      'mesh-kit:apps': '[{"name":"certs"}]',
      'mesh-kit:tls': '{"mode":"existing"}',
    });
    assert.deepEqual(config.readStackConfig(new pulumi.Config('mesh-kit'), 'dev', registry).tls, {
      mode: 'existing',
      credentials: [{ name: 'web-tls', namespace: 'certs' }],
    });
  });

  it("takes the mesh's trace sampling from the environment, or from tracingSamplingPercentage", () => {
    pulumi.runtime.setAllConfig({
      'mesh-kit:environment': 'prod',
      'mesh-kit:cluster': '{"type":"eks"}',
      'mesh-kit:tls': '{"mode":"existing"}',
      'mesh-kit:tracingSamplingPercentage': '12.5',
    });
    assert.equal(
      config.readStackConfig(new pulumi.Config('mesh-kit'), 'prod').tracingSamplingPercentage,
      12.5,
    );
    assert.deepEqual(appProblems({ tracingSamplingPercentage: '101' }), [
      'mesh-kit:tracingSamplingPercentage: must be a percentage from 0 to 100, got "101"; set it with `pulumi config set tracingSamplingPercentage 100` (or remove it for the environment\'s 100)',
    ]);
  });
});

describe('stacks/', () => {
  it('names no app: every app comes from the registry and mesh-kit:apps', () => {
    const dir = join(REPO_ROOT, 'stacks');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 8, files.join(', '));
    for (const f of files) {
      const source = readFileSync(join(dir, f), 'utf8');
      for (const app of APPS.apps.map((a) => a.name))
        assert.doesNotMatch(source, new RegExp(`\\b${app}\\b`, 'i'), `stacks/${f} names the app ${app}`);
    }
  });
});
