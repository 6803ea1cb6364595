/**
 * The components on their own: Istio in ambient mode (cni and ztunnel in the documented order), an
 * existing cluster from a secret kubeconfig, and the add-ons without tracing.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
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

let registered: Registered[];
let cluster: Cluster;
let istio: Istio;
let addons: Addons;

before(async () => {
  registered = await installMocks('components', {});
  cluster = await import('../../stacks/cluster.js');
  istio = await import('../../stacks/istio.js');
  addons = await import('../../stacks/addons.js');
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
