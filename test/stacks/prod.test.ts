/**
 * The prod stack (Pulumi.prod.yaml): EKS, images pushed to ECR and referenced by digest, a load
 * balanced gateway, no Kiali, and the shop exactly as `npm run synth` renders it for prod.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { ShopChart } from '../../charts/shop.js';
import { renderFiles } from '../../tools/synth.js';
import {
  byType,
  EKS_KUBECONFIG,
  installMocks,
  LB_HOSTNAME,
  one,
  type Registered,
  release,
  secretValue,
  settle,
  stackConfigFile,
  TLS_PEM,
  TLS_SECRETS,
  valueOf,
} from './mocks.js';

import type * as ProgramModule from '../../stacks/index.js';
type Program = typeof ProgramModule;

/** The shop's services, as charts/shop.ts declares them. */
const SHOP_SERVICES = ['storefront', 'catalog', 'reviews', 'ratings'];

let registered: Registered[];
let program: Program;
let images: Record<string, string>;

before(async () => {
  // Pulumi.prod.yaml plus the TLS secrets `pulumi config set --secret` adds (docs/pulumi.md).
  registered = await installMocks(
    'prod',
    { ...stackConfigFile('prod'), ...TLS_SECRETS.config },
    TLS_SECRETS.secretKeys,
  );
  program = await import('../../stacks/index.js');
  images = (await valueOf(program.images)).shop;
  await valueOf(program.addons);
  await settle();
});

const RELEASE = 'kubernetes:helm.sh/v3:Release';

describe('prod stack (EKS)', () => {
  it('creates an EKS cluster and ECR repositories — and no kind, no local image loads, no Kiali', () => {
    const types = new Set(registered.map((r) => r.type));
    for (const t of [
      'meshkit:cluster:Eks',
      'eks:index:Cluster',
      'aws:ecr/repository:Repository',
      'meshkit:mesh:Istio',
      'meshkit:app:MeshApp',
    ])
      assert.ok(types.has(t), `missing ${t}`);
    for (const t of ['meshkit:cluster:Kind', 'command:local:Command', 'meshkit:cluster:Existing'])
      assert.ok(!types.has(t), `unexpected ${t}`);
    assert.deepEqual(
      byType(registered, RELEASE)
        .map((r) => r.inputs.name)
        .sort(),
      [
        'istio-base',
        'istio-ingressgateway',
        'istiod',
        'jaeger',
        'metrics-server',
        'opentelemetry-collector',
        'prometheus',
      ],
    );
    const eks = one(registered, 'eks:index:Cluster', 'mesh-kit-prod').inputs;
    assert.deepEqual(
      [eks.version, eks.instanceType, eks.desiredCapacity, eks.minSize, eks.maxSize],
      ['1.35', 'm6i.large', 3, 3, 9],
    );
    assert.equal(eks.authenticationMode, 'API');
    // Pulumi.prod.yaml names no admin or viewer roles: only the creating (deploy) role has access.
    assert.deepEqual(eks.accessEntries, {});
    assert.deepEqual(
      byType(registered, 'aws:ecr/repository:Repository')
        .map((r) => r.inputs.name)
        .sort(),
      SHOP_SERVICES.map((s) => `mesh-kit-prod/shop-${s}`).sort(),
    );
  });

  it("gives prod its own, mutable ECR repositories, so staging's can neither clash with nor delete them", () => {
    for (const repo of byType(registered, 'aws:ecr/repository:Repository')) {
      // Staging and prod share the account and region: the names must differ per environment.
      assert.match(repo.inputs.name, /^mesh-kit-prod\/shop-[a-z]+$/);
      // The docker provider pushes the same content tag again; IMMUTABLE would reject it.
      assert.equal(repo.inputs.imageTagMutability, 'MUTABLE');
      assert.equal(repo.inputs.forceDelete, true);
    }
  });

  it('creates the gateway certificate Secret shop-tls (kubernetes.io/tls) in istio-system, secret, after Istio and before the shop', () => {
    const secret = one(registered, 'kubernetes:core/v1:Secret', 'ingress-tls');
    assert.deepEqual(secret.inputs.metadata, { name: 'shop-tls', namespace: 'istio-system' });
    assert.equal(secret.inputs.type, 'kubernetes.io/tls');
    assert.deepEqual(secretValue(secret.inputs.stringData), {
      'tls.crt': TLS_PEM.certificate,
      'tls.key': TLS_PEM.key,
    });
    assert.equal(secret.inputs.data, undefined);
    assert.ok(secret.dependencies.includes(release(registered, 'istio-ingressgateway').urn), 'after Istio');
    const shopNs = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-namespaces');
    assert.ok(shopNs.dependencies.includes(secret.urn), 'before the shop');
  });

  it('exposes the gateway through a Network Load Balancer with the production replicas', () => {
    const gw = release(registered, 'istio-ingressgateway').inputs.values;
    assert.equal(gw.service.type, 'LoadBalancer');
    assert.equal(gw.service.annotations['service.beta.kubernetes.io/aws-load-balancer-type'], 'nlb');
    assert.equal(gw.service.ports, undefined);
    assert.equal(gw.autoscaling.minReplicas, 2);
  });

  it('pushes every image to its ECR repository for linux/amd64, with the token as a secret, and runs it by digest', () => {
    for (const service of SHOP_SERVICES) {
      const image = one(registered, 'docker:index/image:Image', `images-shop-${service}`).inputs;
      assert.equal(image.skipPush, false);
      assert.equal(image.build.platform, 'linux/amd64');
      assert.match(
        image.imageName,
        new RegExp(
          `^123456789012\\.dkr\\.ecr\\.eu-west-1\\.amazonaws\\.com/mesh-kit-prod/shop-${service}:[0-9a-f]{12}$`,
        ),
      );
      const registry = secretValue<{ server: string; username: string; password: string }>(image.registry);
      assert.deepEqual(registry, {
        server: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/mesh-kit-prod/shop-${service}`,
        username: 'AWS',
        password: 'ecr-token-123',
      });
      assert.match(
        images[service],
        new RegExp(
          `^123456789012\\.dkr\\.ecr\\.eu-west-1\\.amazonaws\\.com/mesh-kit-prod/shop-${service}@sha256:[0-9a-f]{64}$`,
        ),
      );
    }
  });

  it('gives ConfigGroup exactly the objects `npm run synth` renders for prod with these images', () => {
    const app = new App();
    new ShopChart(app, 'shop', { environment: 'prod', images });
    const expected = [...renderFiles(app).values()].flatMap((y) => parseAllDocuments(y).map((d) => d.toJS()));
    const objs = [
      ...one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-namespaces').inputs.objs,
      ...one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-resources').inputs.objs,
    ];
    const key = (o: { kind: string; metadata: { namespace?: string; name: string } }) =>
      `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sort = (l: { kind: string; metadata: { namespace?: string; name: string } }[]) =>
      [...l].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(sort(objs), sort(expected));
    assert.ok(
      objs.some((o) => o.kind === 'HorizontalPodAutoscaler'),
      'prod autoscales',
    );
  });

  it('orders the mesh after the cluster and the shop after the mesh', () => {
    const deps = (r: Registered) => new Set(r.dependencies);
    const base = release(registered, 'istio-base');
    const istiod = release(registered, 'istiod');
    const gateway = release(registered, 'istio-ingressgateway');
    assert.ok(deps(istiod).has(base.urn));
    assert.ok(deps(gateway).has(istiod.urn));
    const shopNs = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-namespaces');
    for (const r of byType(registered, RELEASE))
      assert.ok(deps(shopNs).has(r.urn), `shop after ${r.inputs.name}`);
    for (const r of byType(registered, 'docker:index/image:Image'))
      assert.ok(deps(shopNs).has(r.urn), `shop after ${r.name}`);
  });

  it('keeps the kubeconfig secret, and reads the load balancer address of the gateway Service', async () => {
    assert.equal(await pulumi.isSecret(program.kubeconfig), true);
    assert.equal(await valueOf(program.kubeconfig), EKS_KUBECONFIG);
    assert.equal(await valueOf(program.ingressUrl), 'https://shop.example.com/');
    assert.ok(program.ingressAddress);
    assert.equal(await valueOf(program.ingressAddress), LB_HOSTNAME);
    const svc = registered.find((r) => r.read && r.type === 'kubernetes:core/v1:Service');
    assert.ok(svc, 'reads the gateway Service');
    assert.deepEqual(Object.keys(await valueOf(program.addons)).sort(), ['jaeger', 'prometheus']);
  });
});
