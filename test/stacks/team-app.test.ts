/**
 * A team's own app, end to end under the mocks: registered (here in a registry of the test's own,
 * as charts/apps.ts registers the project's), chosen with `mesh-kit:apps` on a dev stack, its image
 * built from its Dockerfile as `orders-api` and loaded into kind, its Gateway API Gateway's
 * certificate Secret created in its namespace, and its URL reported.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { APPS } from '../../charts/apps.js';
import { AppRegistry } from '../../constructs/index.js';
import {
  byType,
  installMocks,
  one,
  type Registered,
  secretValue,
  settle,
  stackConfigFile,
  TLS_PEM,
  TLS_SECRETS,
  valueOf,
} from './mocks.js';
import { makeProject, ORDERS } from './team-app.js';

import type * as ProgramModule from '../../stacks/program.js';
type Stack = ReturnType<(typeof ProgramModule)['createStack']>;

let registered: Registered[];
let root: string;
let stack: Stack;
let images: Record<string, Record<string, string>>;

before(async () => {
  root = makeProject();
  registered = await installMocks(
    'orders-dev',
    {
      ...stackConfigFile('dev'),
      ...TLS_SECRETS.config,
      'mesh-kit:apps': JSON.stringify([{ name: 'orders', variant: 'gateway-api' }]),
    },
    TLS_SECRETS.secretKeys,
  );
  const { readStackConfig } = await import('../../stacks/config.js');
  const { createStack, projectRoot } = await import('../../stacks/program.js');
  // Pulumi.yaml is all a project root needs.
  assert.equal(projectRoot(join(root, 'orders', 'src')), root);
  const config = readStackConfig(
    new pulumi.Config('mesh-kit'),
    'orders-dev',
    new AppRegistry([...APPS.apps, ORDERS]),
  );
  stack = createStack(config, root);
  images = await valueOf(stack.images);
  await valueOf(stack.ingressUrls);
  await settle();
});

after(() => rmSync(root, { recursive: true, force: true }));

describe("a team's own app on a dev stack", () => {
  it('builds its one Dockerfile image as orders-api, tagged by content, and loads it into kind', () => {
    const image = one(registered, 'docker:index/image:Image', 'images-orders-api').inputs;
    const context = relative(process.cwd(), join(root, 'orders'));
    assert.deepEqual(image.build, { context, dockerfile: join(context, 'Dockerfile') });
    assert.match(image.imageName, /^localhost:5001\/orders-api:[0-9a-f]{12}$/);
    assert.equal(image.skipPush, true);
    assert.deepEqual(images, { orders: { api: image.imageName } });
    const load = one(registered, 'command:local:Command', 'images-orders-api-load').inputs;
    assert.equal(load.create, `kind load docker-image ${image.imageName} --name 'meshkit'`);
    assert.equal(byType(registered, 'docker:index/image:Image').length, 1);
  });

  it('runs the built image in its Deployment, in the variant given', () => {
    const objs = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'orders-resources').inputs.objs as {
      kind: string;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      spec: any;
    }[];
    const deployment = objs.find((o) => o.kind === 'Deployment');
    assert.equal(deployment?.spec.template.spec.containers[0].image, images.orders.api);
    assert.ok(objs.some((o) => o.kind === 'HTTPRoute'));
  });

  it('creates the certificate Secret its Gateway API Gateway names, in its namespace, once that exists', () => {
    const secret = one(registered, 'kubernetes:core/v1:Secret', 'ingress-tls');
    assert.deepEqual(secret.inputs.metadata, { name: 'orders-tls', namespace: 'orders' });
    assert.deepEqual(secretValue(secret.inputs.stringData), {
      'tls.crt': TLS_PEM.certificate,
      'tls.key': TLS_PEM.key,
    });
    const ns = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'orders-namespaces');
    assert.ok(secret.dependencies.includes(ns.urn), 'after the namespace');
    assert.ok(!ns.dependencies.includes(secret.urn));
  });

  it("reports its URL: the Gateway's host over HTTPS, the path of its first route", async () => {
    assert.deepEqual(await valueOf(stack.ingressUrls), { orders: 'https://orders.example.com/orders' });
    assert.equal(await valueOf(stack.ingressUrl), 'https://orders.example.com/orders');
    assert.deepEqual(stack.appSummaries, {
      orders: { variant: 'gateway-api', namespaces: ['orders'], hosts: ['orders.example.com'] },
    });
  });
});
