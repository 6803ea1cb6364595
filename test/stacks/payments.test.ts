/**
 * A prod stack of the payments app (Pulumi.prod.yaml with `mesh-kit:apps` set to payments and the
 * ambient data plane its notifier needs): the stack installs the egress gateway its provider calls
 * leave through, and reports the api's HTTPS host, not the egress gateway's external host.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PAYMENTS_SERVICES } from '../../charts/payments.js';
import {
  byType,
  installMocks,
  one,
  type Registered,
  release,
  settle,
  stackConfigFile,
  TLS_SECRETS,
  valueOf,
} from './mocks.js';

import type * as ProgramModule from '../../stacks/index.js';
type Program = typeof ProgramModule;

let registered: Registered[];
let program: Program;

before(async () => {
  registered = await installMocks(
    'prod',
    {
      ...stackConfigFile('prod'),
      ...TLS_SECRETS.config,
      'mesh-kit:apps': JSON.stringify([{ name: 'payments' }]),
      'mesh-kit:dataPlane': 'ambient',
    },
    TLS_SECRETS.secretKeys,
  );
  program = await import('../../stacks/index.js');
  await valueOf(program.ingressUrls);
  await settle();
});

describe('prod stack of payments (mesh-kit:apps: [{ name: payments }], dataPlane ambient)', () => {
  it('installs the egress gateway (ClusterIP) besides the ingress gateway, and ztunnel', () => {
    const egress = release(registered, 'istio-egressgateway');
    assert.equal(egress.inputs.namespace, 'istio-system');
    assert.ok(release(registered, 'istio-ingressgateway'));
    assert.ok(release(registered, 'ztunnel'));
  });

  it("reports the api's HTTPS host, not the provider's (the egress Gateway is no ingress)", async () => {
    assert.deepEqual(await valueOf(program.ingressUrls), { payments: 'https://payments.example.com/' });
    assert.deepEqual(program.apps, {
      payments: {
        variant: 'prod',
        namespaces: ['payments', 'payments-notify'],
        hosts: ['payments.example.com'],
      },
    });
    const secret = one(registered, 'kubernetes:core/v1:Secret', 'ingress-tls');
    assert.deepEqual(secret.inputs.metadata, { name: 'payments-tls', namespace: 'istio-system' });
  });

  it('builds and pushes its three images to their own repositories', () => {
    assert.deepEqual(
      byType(registered, 'aws:ecr/repository:Repository')
        .map((r) => r.inputs.name as string)
        .sort(),
      PAYMENTS_SERVICES.map((s) => `mesh-kit-prod/payments-${s}`).sort(),
    );
  });
});
