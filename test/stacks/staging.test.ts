/**
 * The staging stack (Pulumi.staging.yaml): the same cloud shape as prod, smaller, with Kiali, and the
 * shop as `npm run synth` renders it for staging.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { installMocks, one, type Registered, release, settle, stackConfigFile, valueOf } from './mocks.js';

import type * as ProgramModule from '../../stacks/index.js';
type Program = typeof ProgramModule;

let registered: Registered[];
let program: Program;

before(async () => {
  registered = await installMocks('staging', stackConfigFile('staging'));
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
});
