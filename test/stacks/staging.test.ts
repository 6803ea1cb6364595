/**
 * The staging stack (Pulumi.staging.yaml): the same cloud shape as prod, smaller, with Kiali, and the
 * shop as `npm run synth` renders it for staging.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import {
  byType,
  installMocks,
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

before(async () => {
  registered = await installMocks(
    'staging',
    { ...stackConfigFile('staging'), ...TLS_SECRETS.config },
    TLS_SECRETS.secretKeys,
  );
  program = await import('../../stacks/index.js');
  await valueOf(program.images);
  await settle();
});

describe('staging stack (EKS)', () => {
  it('runs a smaller EKS cluster with one gateway replica and every add-on', async () => {
    const eks = one(registered, 'eks:index:Cluster', 'mesh-kit-staging').inputs;
    assert.deepEqual(
      [eks.instanceType, eks.desiredCapacity, eks.minSize, eks.maxSize],
      ['t3.large', 2, 2, 4],
    );
    assert.equal(release(registered, 'istio-ingressgateway').inputs.values.autoscaling.minReplicas, 1);
    assert.deepEqual(Object.keys(await valueOf(program.addons)).sort(), ['jaeger', 'kiali', 'prometheus']);
    assert.equal(await valueOf(program.ingressUrl), 'https://shop.staging.example.com/');
    assert.equal(await pulumi.isSecret(program.kubeconfig), true);
  });

  it('deploys the staging variant of the shop: two replicas, a TLS gateway', () => {
    const objs = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-resources').inputs.objs as {
      kind: string;
      metadata: { name: string };
      spec: { replicas?: number; servers?: { tls?: { credentialName?: string } }[] };
    }[];
    assert.equal(
      objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'storefront-v1')?.spec.replicas,
      2,
    );
    const gateway = objs.find((o) => o.kind === 'Gateway');
    assert.ok(gateway?.spec.servers?.some((s) => s.tls?.credentialName === 'shop-staging-tls'));
  });

  it("pushes to staging's own ECR repositories (mesh-kit-staging/shop-<service>), not prod's", () => {
    const repos = byType(registered, 'aws:ecr/repository:Repository');
    assert.deepEqual(
      repos.map((r) => r.inputs.name).sort(),
      SHOP_SERVICES.map((s) => `mesh-kit-staging/shop-${s}`).sort(),
    );
    for (const r of repos) assert.equal(r.inputs.imageTagMutability, 'MUTABLE');
    for (const service of SHOP_SERVICES)
      assert.match(
        one(registered, 'docker:index/image:Image', `images-shop-${service}`).inputs.imageName,
        new RegExp(`/mesh-kit-staging/shop-${service}:[0-9a-f]{12}$`),
      );
  });

  it('creates the Secret the staging Gateway names (shop-staging-tls) in istio-system, from the secret config', () => {
    const secret = one(registered, 'kubernetes:core/v1:Secret', 'ingress-tls');
    const gateway = (
      one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-resources').inputs.objs as {
        kind: string;
        spec: { servers?: { tls?: { credentialName?: string } }[] };
      }[]
    ).find((o) => o.kind === 'Gateway');
    const credentialNames = gateway?.spec.servers?.map((s) => s.tls?.credentialName).filter(Boolean);
    assert.deepEqual([...new Set(credentialNames)], [secret.inputs.metadata.name]);
    assert.equal(secret.inputs.metadata.name, 'shop-staging-tls');
    assert.equal(secret.inputs.metadata.namespace, 'istio-system');
    assert.equal(secret.inputs.type, 'kubernetes.io/tls');
    assert.deepEqual(secretValue(secret.inputs.stringData), {
      'tls.crt': TLS_PEM.certificate,
      'tls.key': TLS_PEM.key,
    });
    assert.ok(secret.additionalSecretOutputs.includes('stringData'));
  });
});
