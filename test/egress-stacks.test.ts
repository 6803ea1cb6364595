/**
 * The stacks' egress settings: the mesh-wide outbound traffic policy, and the egress gateway,
 * installed for the apps that route through `EgressGateway.istio()` unless the stack refuses it.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { Chart } from 'cdk8s';
import { APPS } from '../charts/apps.js';
import {
  AppRegistry,
  EgressGateway,
  ExternalService,
  ExternalTls,
  MeshAppDefinition,
  MeshNamespace,
  Microservice,
} from '../constructs/index.js';
import { installMocks, stackConfigFile } from './stacks/mocks.js';

import type * as ConfigModule from '../stacks/config.js';
let config: typeof ConfigModule;

before(async () => {
  await installMocks('egress-stacks', {});
  config = await import('../stacks/config.js');
});

/** An app whose api calls a provider, through the egress gateway in variant "gateway". */
const PAYMENTS = MeshAppDefinition.define({
  name: 'pay',
  variants: ['direct', 'gateway'],
  build: (app, variant) => {
    const chart = new Chart(app, 'pay');
    const ns = new MeshNamespace(chart, 'pay');
    const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
    const provider = new ExternalService(chart, 'provider', {
      namespace: ns,
      hosts: ['api.provider.example'],
      ...(variant === 'gateway'
        ? { tls: ExternalTls.originate(), egressGateway: EgressGateway.istio() }
        : {}),
    });
    api.calls(provider);
  },
});
const REGISTRY = new AppRegistry([...APPS.apps, PAYMENTS]);

/** The dev stack's config with `values` on top (keys without the project prefix). */
function read(values: Record<string, unknown>) {
  pulumi.runtime.setAllConfig({
    ...stackConfigFile('dev'),
    ...Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        `mesh-kit:${k}`,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    ),
  });
  return config.readStackConfig(new pulumi.Config('mesh-kit'), 'dev', REGISTRY);
}

function problems(values: Record<string, unknown>): string[] {
  try {
    read(values);
  } catch (e) {
    assert.ok(e instanceof config.StackConfigError, String(e));
    return [...e.problems];
  }
  throw new Error('expected a StackConfigError');
}

describe('stack egress settings', () => {
  it('installs the egress gateway for an app that routes through it, and only then', () => {
    const gateway = read({ apps: [{ name: 'pay', variant: 'gateway' }] });
    assert.equal(gateway.egressGateway, true);
    assert.deepEqual(gateway.apps[0].egressHosts, ['api.provider.example']);
    const direct = read({ apps: [{ name: 'pay', variant: 'direct' }] });
    assert.equal(direct.egressGateway, false);
    assert.equal(direct.apps[0].egressHosts, undefined);
    assert.equal(
      read({ apps: [{ name: 'pay', variant: 'direct' }], egressGateway: 'true' }).egressGateway,
      true,
    );
  });

  it('refuses to leave out the egress gateway an app needs, and a value that is not a boolean', () => {
    assert.deepEqual(problems({ apps: [{ name: 'pay', variant: 'gateway' }], egressGateway: 'false' }), [
      'mesh-kit:egressGateway: is false, but app pay sends api.provider.example through the egress gateway (EgressGateway.istio()), whose pods the stack would not install, so those calls fail; remove it with `pulumi config rm egressGateway` (the stack installs the gateway such apps need)',
    ]);
    assert.deepEqual(problems({ egressGateway: 'yes' }), [
      'mesh-kit:egressGateway: must be true or false, got "yes"; set it with `pulumi config set egressGateway true`',
    ]);
  });

  it('reads the mesh-wide outbound traffic policy', () => {
    assert.equal(read({}).outboundTrafficPolicy, undefined);
    assert.equal(read({ outboundTrafficPolicy: 'REGISTRY_ONLY' }).outboundTrafficPolicy, 'REGISTRY_ONLY');
    assert.deepEqual(problems({ outboundTrafficPolicy: 'registry_only' }), [
      'mesh-kit:outboundTrafficPolicy: "registry_only" is not supported; use one of ALLOW_ANY, REGISTRY_ONLY; set it with `pulumi config set outboundTrafficPolicy REGISTRY_ONLY`, or remove it for Istio\'s ALLOW_ANY',
    ]);
  });
});
