/**
 * The components on their own: Istio in ambient mode (cni and ztunnel in the documented order), an
 * existing cluster from a secret kubeconfig, the add-ons without tracing, and the images of an app
 * of one's own (content tag, Dockerfile, args, target; references not built).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { ImageSource } from '../../constructs/index.js';
import {
  installMocks,
  KIND_KUBECONFIG,
  one,
  type Registered,
  release,
  secretValue,
  settle,
  valueOf,
} from './mocks.js';

import type * as ClusterModule from '../../stacks/cluster.js';
type Cluster = typeof ClusterModule;
import type * as IstioModule from '../../stacks/istio.js';
type Istio = typeof IstioModule;
import type * as AddonsModule from '../../stacks/addons.js';
type Addons = typeof AddonsModule;
import type * as ImagesModule from '../../stacks/images.js';
type Images = typeof ImagesModule;

let registered: Registered[];
let cluster: Cluster;
let istio: Istio;
let addons: Addons;
let images: Images;

before(async () => {
  registered = await installMocks('components', {});
  cluster = await import('../../stacks/cluster.js');
  istio = await import('../../stacks/istio.js');
  addons = await import('../../stacks/addons.js');
  images = await import('../../stacks/images.js');
});

describe('IstioMesh in ambient mode', () => {
  let mesh: InstanceType<Istio['IstioMesh']>;
  before(async () => {
    mesh = new istio.IstioMesh('ambient', {
      dataPlane: 'ambient',
      gatewayService: { type: 'LoadBalancer' },
      gatewayApiCrds: true,
    });
    await valueOf(mesh.version);
    await settle();
  });

  it('installs base → istiod → cni → ztunnel → gateway, the ambient profile on istiod and cni', () => {
    const names = ['istio-base', 'istiod', 'istio-cni', 'ztunnel', 'istio-ingressgateway'];
    const charts = ['base', 'istiod', 'cni', 'ztunnel', 'gateway'];
    const releases = names.map((n) => release(registered, n));
    releases.forEach((r, i) => {
      assert.equal(r.inputs.chart, charts[i]);
      assert.equal(r.inputs.version, '1.30.3');
      assert.equal(r.inputs.namespace, 'istio-system');
      if (i > 0) assert.ok(r.dependencies.includes(releases[i - 1].urn), `${names[i]} after ${names[i - 1]}`);
    });
    assert.equal(releases[1].inputs.values.profile, 'ambient');
    assert.equal(releases[2].inputs.values.profile, 'ambient');
    assert.deepEqual(releases[3].inputs.values, {});
    assert.ok(mesh.cni && mesh.ztunnel);
  });

  it('keeps the sidecar install free of cni and ztunnel', () => {
    const values = istio.meshValues({ gatewayService: istio.KIND_GATEWAY });
    assert.equal(values.cni, undefined);
    assert.equal(values.ztunnel, undefined);
    assert.equal((values.istiod as { profile?: string }).profile, undefined);
  });
});

describe('IstioMesh egress controls', () => {
  it('sets the mesh-wide outbound traffic policy in the istiod values only when asked', () => {
    const closed = istio.meshValues({
      gatewayService: istio.KIND_GATEWAY,
      outboundTrafficPolicy: 'REGISTRY_ONLY',
    });
    assert.deepEqual(
      (closed.istiod as { meshConfig: { outboundTrafficPolicy?: unknown } }).meshConfig.outboundTrafficPolicy,
      {
        mode: 'REGISTRY_ONLY',
      },
    );
    const open = istio.meshValues({ gatewayService: istio.KIND_GATEWAY });
    assert.equal(
      (open.istiod as { meshConfig: { outboundTrafficPolicy?: unknown } }).meshConfig.outboundTrafficPolicy,
      undefined,
    );
    assert.equal(open.egressGateway, undefined);
  });

  it('installs the egress gateway that EgressGateway.istio() selects, after the ingress gateway', async () => {
    const mesh = new istio.IstioMesh('egress', {
      gatewayService: { type: 'LoadBalancer' },
      gatewayApiCrds: false,
      egressGateway: true,
    });
    await valueOf(mesh.version);
    await settle();
    const egress = one(registered, 'kubernetes:helm.sh/v3:Release', 'egress-egress-gateway');
    assert.equal(egress.inputs.name, 'istio-egressgateway');
    assert.equal(egress.inputs.chart, 'gateway');
    assert.equal(egress.inputs.namespace, 'istio-system');
    assert.deepEqual(egress.inputs.values, { service: { type: 'ClusterIP' } });
    const istiod = one(registered, 'kubernetes:helm.sh/v3:Release', 'egress-istiod');
    assert.ok(egress.dependencies.includes(istiod.urn));
    assert.ok(mesh.egressGateway);
  });
});

describe('ExistingCluster', () => {
  it('makes the kubeconfig a secret and builds the provider from it', async () => {
    const existing = new cluster.ExistingCluster('existing', {
      kubeconfig: 'apiVersion: v1\nkind: Config\n',
      context: 'ci',
    });
    assert.equal(await pulumi.isSecret(existing.kubeconfig), true);
    await settle();
    const provider = one(registered, 'pulumi:providers:kubernetes', 'existing-k8s').inputs;
    assert.equal(secretValue(provider.kubeconfig), 'apiVersion: v1\nkind: Config\n');
    assert.equal(provider.context, 'ci');
  });
});

describe('KindCluster', () => {
  it('marks the create command’s stdout (the kubeconfig) as a secret output', async () => {
    const kind = new cluster.KindCluster('kind-x', {
      name: 'x',
      workers: 2,
      portMappings: [{ containerPort: 30080, hostPort: 80 }],
    });
    assert.equal(await pulumi.isSecret(kind.kubeconfig), true);
    const config = await valueOf(kind.config);
    await settle();
    // The engine keeps the command's stdout (the kubeconfig) secret in the state.
    assert.deepEqual(one(registered, 'command:local:Command', 'kind-x-create').additionalSecretOutputs, [
      'stdout',
    ]);
    assert.equal(
      secretValue(one(registered, 'pulumi:providers:kubernetes', 'kind-x-k8s').inputs.kubeconfig),
      KIND_KUBECONFIG,
    );
    assert.equal((config.match(/role: worker/g) ?? []).length, 2);
  });
});

describe('Observability without tracing', () => {
  it('installs Prometheus and Kiali only, Kiali without a tracing backend', async () => {
    const obs = new addons.Observability('notrace', { prometheus: true, tracing: false, kiali: true });
    await valueOf(obs.endpoints);
    await settle();
    assert.equal(obs.collector, undefined);
    assert.equal(obs.jaeger, undefined);
    assert.deepEqual(
      addons.addonValues({ prometheus: true, tracing: false, kiali: true }).kiali.external_services.tracing,
      {
        enabled: false,
      },
    );
    assert.throws(
      () => new addons.Observability('bad', { prometheus: false, tracing: false, kiali: true }),
      /Kiali needs Prometheus/,
    );
  });
});

describe('EKS access entries', () => {
  it('makes admin roles cluster admins and viewer roles read-only, cluster-wide, one entry per role', () => {
    const admin = 'arn:aws:iam::123456789012:role/team-admin';
    const preview = 'arn:aws:iam::123456789012:role/mesh-kit-preview';
    assert.deepEqual(cluster.accessEntries([admin], [preview]), {
      [admin]: {
        principalArn: admin,
        accessPolicies: {
          policy: {
            policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
            accessScope: { type: 'cluster' },
          },
        },
      },
      [preview]: {
        principalArn: preview,
        accessPolicies: {
          policy: {
            policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
            accessScope: { type: 'cluster' },
          },
        },
      },
    });
    assert.deepEqual(cluster.accessEntries(), {});
  });
});

describe('ServiceImages and the content tag', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'mesh-kit-images-'));
    mkdirSync(join(root, 'orders', 'src'), { recursive: true });
    mkdirSync(join(root, 'orders', 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(root, 'orders', 'Dockerfile'), 'FROM scratch\nCOPY src /src\n');
    writeFileSync(join(root, 'orders', 'src', 'main.js'), 'console.log(1)\n');
    writeFileSync(join(root, 'orders', 'README.md'), 'notes\n');
    writeFileSync(join(root, 'orders', 'node_modules', 'dep', 'index.js'), 'x\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('tags by the content of the inputs (the whole context without node_modules by default), the Dockerfile, args and target', () => {
    const whole = ImageSource.fromDockerfile({ context: 'orders' });
    const src = ImageSource.fromDockerfile({ context: 'orders', inputs: ['src'] });
    const tag = (image = whole) => images.contentTag(root, image);
    const [wholeTag, srcTag] = [tag(), tag(src)];
    assert.match(wholeTag, /^[0-9a-f]{12}$/);
    writeFileSync(join(root, 'orders', 'node_modules', 'dep', 'index.js'), 'y\n');
    assert.equal(tag(), wholeTag, 'node_modules is no input');
    writeFileSync(join(root, 'orders', 'README.md'), 'more notes\n');
    assert.notEqual(tag(), wholeTag, 'README.md is in the whole context');
    assert.equal(tag(src), srcTag, 'but not among the inputs src');
    writeFileSync(join(root, 'orders', 'src', 'main.js'), 'console.log(2)\n');
    assert.notEqual(tag(src), srcTag);
    const now = tag(src);
    writeFileSync(join(root, 'orders', 'Dockerfile'), 'FROM scratch AS base\nCOPY src /src\n');
    assert.notEqual(tag(src), now, 'the Dockerfile always counts');
    const args = ImageSource.fromDockerfile({ context: 'orders', inputs: ['src'], args: { MODE: 'a' } });
    const target = ImageSource.fromDockerfile({ context: 'orders', inputs: ['src'], target: 'base' });
    assert.equal(new Set([tag(src), tag(args), tag(target)]).size, 3);
  });

  it('names the app, the image and the path that does not exist', () => {
    assert.throws(
      () =>
        images.contentTag(
          root,
          ImageSource.fromDockerfile({ context: 'orders', inputs: ['lib'] }),
          'app "orders" image "api"',
        ),
      {
        message:
          'app "orders" image "api": input lib does not exist in the build context orders; list the files and folders its Dockerfile copies, relative to the context',
      },
    );
    assert.throws(
      () =>
        images.contentTag(
          root,
          ImageSource.fromDockerfile({ context: 'payments' }),
          'app "payments" image "api"',
        ),
      {
        message: `app "payments" image "api": build context payments is not a folder under ${root}; give ImageSource.fromDockerfile a context relative to the project root (where Pulumi.yaml is)`,
      },
    );
    assert.throws(
      () =>
        images.contentTag(
          root,
          ImageSource.fromDockerfile({ context: 'orders', dockerfile: 'api.Dockerfile' }),
        ),
      /image: Dockerfile api\.Dockerfile does not exist in the build context orders/,
    );
  });

  it('builds Dockerfile images as <server>/<app>-<key> with their Dockerfile, args and target, and passes references through', async () => {
    const built = new images.ServiceImages('team', {
      environment: 'staging',
      root,
      apps: [
        {
          app: 'orders',
          images: {
            api: ImageSource.fromDockerfile({
              context: 'orders',
              dockerfile: 'Dockerfile',
              inputs: ['src'],
              args: { MODE: 'release' },
              target: 'base',
            }),
            cache: ImageSource.fromReference('docker.io/library/redis:7.4'),
          },
        },
      ],
      registry: { type: 'generic', server: 'registry.example.com/team', username: 'ci', password: 'pw' },
    });
    const refs = await valueOf(built.refs);
    await settle();
    const image = one(registered, 'docker:index/image:Image', 'team-orders-api').inputs;
    const context = relative(process.cwd(), join(root, 'orders'));
    assert.deepEqual(image.build, {
      context,
      dockerfile: join(context, 'Dockerfile'),
      args: { MODE: 'release' },
      target: 'base',
    });
    assert.equal(image.imageName, `registry.example.com/team/orders-api:${built.tags.orders.api}`);
    assert.equal(image.skipPush, false);
    assert.deepEqual(Object.keys(refs.orders).sort(), ['api', 'cache']);
    assert.equal(refs.orders.cache, 'docker.io/library/redis:7.4');
    assert.match(refs.orders.api, /^registry\.example\.com\/team\/orders-api@sha256:[0-9a-f]{64}$/);
    assert.equal(
      registered.filter((r) => r.type === 'docker:index/image:Image' && r.name.startsWith('team-')).length,
      1,
      'the reference is not built',
    );
    assert.equal(images.ecrRepositoryName('prod', 'orders', 'api'), 'mesh-kit-prod/orders-api');
  });
});
