/**
 * A dev stack of Istio's Bookinfo: Pulumi.dev.yaml with `mesh-kit:apps` set as
 * `pulumi config set --path 'apps[0].name' bookinfo` sets it. Bookinfo runs Istio's published
 * images: nothing is built, pushed or loaded into kind, and the Deployments run those images.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { APPS } from '../../charts/apps.js';
import { bookinfoImage, BOOKINFO_WORKLOADS } from '../../charts/bookinfo.js';
import { renderFiles } from '../../tools/synth.js';
import {
  byType,
  installMocks,
  one,
  type Registered,
  release,
  settle,
  stackConfigFile,
  valueOf,
} from './mocks.js';

import type * as ProgramModule from '../../stacks/index.js';
type Program = typeof ProgramModule;

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
};

let registered: Registered[];
let program: Program;
let images: Record<string, Record<string, string>>;
let objects: Obj[];

before(async () => {
  registered = await installMocks('dev', {
    ...stackConfigFile('dev'),
    // What `pulumi config set --path 'apps[0].name' bookinfo` writes.
    'mesh-kit:apps': JSON.stringify([{ name: 'bookinfo' }]),
  });
  program = await import('../../stacks/index.js');
  images = await valueOf(program.images);
  await valueOf(program.ingressUrls);
  await settle();
  objects = [
    ...one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'bookinfo-namespaces').inputs.objs,
    ...one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'bookinfo-resources').inputs.objs,
  ];
});

describe('dev stack of Bookinfo (mesh-kit:apps: [{ name: bookinfo }])', () => {
  it('builds nothing: no docker image, no ECR repository, no kind load — and no shop', () => {
    const types = new Set(registered.map((r) => r.type));
    for (const t of ['docker:index/image:Image', 'aws:ecr/repository:Repository', 'meshkit:cluster:Eks'])
      assert.ok(!types.has(t), `unexpected ${t}`);
    const commands = byType(registered, 'command:local:Command').map((r) => r.name);
    assert.deepEqual(commands, ['meshkit-create'], 'only the kind cluster itself');
    // The mesh and add-ons are the same as for any app.
    for (const name of ['istio-base', 'istiod', 'istio-ingressgateway', 'prometheus', 'kiali'])
      assert.ok(release(registered, name));
    assert.deepEqual(
      byType(registered, 'meshkit:app:MeshApp').map((r) => r.name),
      ['bookinfo'],
    );
    assert.ok(!registered.some((r) => r.name.startsWith('shop')), 'nothing of the shop');
  });

  it("runs Istio's published images, as the app's references give them", () => {
    const expected = Object.fromEntries(BOOKINFO_WORKLOADS.map((w) => [w, bookinfoImage(w)]));
    assert.deepEqual(images, { bookinfo: expected });
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), [...BOOKINFO_WORKLOADS].sort());
    for (const d of deployments) {
      const image = d.spec.template.spec.containers[0].image as string;
      assert.equal(image, bookinfoImage(d.metadata.name));
      assert.match(image, /\/examples-bookinfo-[a-z]+-v\d:\d+\.\d+\.\d+$/);
    }
  });

  it('deploys exactly what `npm run synth -- --app bookinfo --scenario all-v1` renders: its namespace first', () => {
    const app = new App();
    APPS.get('bookinfo').build(app, 'all-v1', {});
    const expected = [...renderFiles(app).values()].flatMap((y) => parseAllDocuments(y).map((d) => d.toJS()));
    const key = (o: Obj) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sort = (l: Obj[]) => [...l].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(sort(objects), sort(expected));
    const namespaces = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'bookinfo-namespaces').inputs.objs;
    assert.deepEqual(
      namespaces.map((o: Obj) => `${o.kind}/${o.metadata.name}`),
      ['Namespace/bookinfo'],
    );
    const gateway = objects.find((o) => o.kind === 'Gateway');
    assert.equal(gateway?.metadata.name, 'bookinfo-gateway');
    assert.equal(gateway?.metadata.namespace, 'bookinfo');
  });

  it('deploys Bookinfo after the mesh, the add-ons and metrics-server, its objects after its namespace', () => {
    const ns = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'bookinfo-namespaces');
    for (const r of byType(registered, 'kubernetes:helm.sh/v3:Release'))
      assert.ok(ns.dependencies.includes(r.urn), `after ${r.inputs.name}`);
    const rest = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'bookinfo-resources');
    assert.ok(rest.dependencies.includes(ns.urn));
  });

  it('reports where the product page answers: any host (*) on the kind gateway port, its first route', async () => {
    assert.equal(await valueOf(program.ingressUrl), 'http://localhost:8080/productpage');
    assert.deepEqual(await valueOf(program.ingressUrls), { bookinfo: 'http://localhost:8080/productpage' });
    assert.deepEqual(program.apps, {
      bookinfo: { variant: 'all-v1', namespaces: ['bookinfo'], hosts: ['*'] },
    });
    assert.equal(program.environment, 'dev');
  });
});
