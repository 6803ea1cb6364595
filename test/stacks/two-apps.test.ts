/**
 * A staging stack of two apps: the shop (built from its Dockerfiles, pushed to ECR, HTTPS) and
 * Bookinfo in the reviews-v3 variant (Istio's images, plain HTTP on any host), as
 * `pulumi config set --path 'apps[1].name' bookinfo` and `... 'apps[1].variant' reviews-v3` add it.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { bookinfoImage } from '../../charts/bookinfo.js';
import {
  byType,
  installMocks,
  LB_HOSTNAME,
  one,
  type Registered,
  settle,
  stackConfigFile,
  TLS_SECRETS,
  valueOf,
} from './mocks.js';

import type * as ProgramModule from '../../stacks/index.js';
type Program = typeof ProgramModule;

/** The shop's services, as charts/shop.ts declares them. */
const SHOP_SERVICES = ['storefront', 'catalog', 'reviews', 'ratings'];

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

const objectsOf = (app: string): Obj[] => [
  ...one(registered, 'kubernetes:yaml/v2:ConfigGroup', `${app}-namespaces`).inputs.objs,
  ...one(registered, 'kubernetes:yaml/v2:ConfigGroup', `${app}-resources`).inputs.objs,
];

before(async () => {
  registered = await installMocks(
    'staging',
    {
      ...stackConfigFile('staging'),
      ...TLS_SECRETS.config,
      'mesh-kit:apps': JSON.stringify([{ name: 'shop' }, { name: 'bookinfo', variant: 'reviews-v3' }]),
    },
    TLS_SECRETS.secretKeys,
  );
  program = await import('../../stacks/index.js');
  images = await valueOf(program.images);
  await valueOf(program.ingressUrls);
  await settle();
});

describe('staging stack of the shop and Bookinfo', () => {
  it('deploys both apps, each in its own namespace, as its own component', () => {
    assert.deepEqual(
      byType(registered, 'meshkit:app:MeshApp').map((r) => r.name),
      ['shop', 'bookinfo'],
    );
    const namespaces = (app: string) =>
      one(registered, 'kubernetes:yaml/v2:ConfigGroup', `${app}-namespaces`).inputs.objs.map(
        (o: Obj) => o.metadata.name,
      );
    assert.deepEqual([namespaces('shop'), namespaces('bookinfo')], [['shop'], ['bookinfo']]);
    assert.deepEqual(program.apps, {
      shop: { variant: 'staging', namespaces: ['shop'], hosts: ['shop.staging.example.com'] },
      bookinfo: { variant: 'reviews-v3', namespaces: ['bookinfo'], hosts: ['*'] },
    });
  });

  it("builds and pushes the shop's four images only; Bookinfo's are Istio's, used as given", () => {
    assert.deepEqual(
      byType(registered, 'aws:ecr/repository:Repository')
        .map((r) => r.inputs.name)
        .sort(),
      SHOP_SERVICES.map((s) => `mesh-kit-staging/shop-${s}`).sort(),
    );
    assert.equal(byType(registered, 'docker:index/image:Image').length, SHOP_SERVICES.length);
    assert.deepEqual(Object.keys(images), ['shop', 'bookinfo']);
    for (const s of SHOP_SERVICES)
      assert.match(images.shop[s], new RegExp(`/mesh-kit-staging/shop-${s}@sha256:[0-9a-f]{64}$`));
    assert.equal(images.bookinfo['reviews-v3'], bookinfoImage('reviews-v3'));
    const shopDeployment = objectsOf('shop').find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'reviews-v2',
    );
    assert.equal(shopDeployment?.spec.template.spec.containers[0].image, images.shop.reviews);
  });

  it('gives each app its variant: staging for the shop, reviews-v3 routing for Bookinfo', () => {
    const reviews = objectsOf('bookinfo').find(
      (o) => o.kind === 'VirtualService' && o.metadata.name === 'reviews',
    );
    const destinations = reviews?.spec.http.flatMap((h: { route: { destination: { subset: string } }[] }) =>
      h.route.map((r) => r.destination.subset),
    );
    assert.deepEqual(destinations, ['v3']);
    const storefront = objectsOf('shop').find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'storefront-v1',
    );
    assert.equal(storefront?.spec.replicas, 2);
  });

  it("creates the one certificate Secret the shop's Gateway names, before both apps", () => {
    const secret = one(registered, 'kubernetes:core/v1:Secret', 'ingress-tls');
    assert.deepEqual(secret.inputs.metadata, { name: 'shop-staging-tls', namespace: 'istio-system' });
    for (const app of ['shop', 'bookinfo'])
      assert.ok(
        one(registered, 'kubernetes:yaml/v2:ConfigGroup', `${app}-namespaces`).dependencies.includes(
          secret.urn,
        ),
      );
  });

  it("reports a URL per app: the shop's HTTPS host, Bookinfo's product page on the load balancer", async () => {
    assert.deepEqual(await valueOf(program.ingressUrls), {
      shop: 'https://shop.staging.example.com/',
      bookinfo: `http://${LB_HOSTNAME}/productpage`,
    });
    // The first app's, as before there were several.
    assert.equal(await valueOf(program.ingressUrl), 'https://shop.staging.example.com/');
  });

  it('keeps the state of the one-app stack: the former component type and resource names as aliases', () => {
    const shop = one(registered, 'meshkit:app:MeshApp', 'shop');
    assert.ok(shop.aliases.some((a) => a.type === 'meshkit:app:Shop'));
    for (const s of SHOP_SERVICES) {
      assert.ok(
        one(registered, 'docker:index/image:Image', `images-shop-${s}`).aliases.some(
          (a) => a.name === `images-${s}`,
        ),
      );
      assert.ok(
        one(registered, 'aws:ecr/repository:Repository', `images-shop-${s}`).aliases.some(
          (a) => a.name === `images-${s}`,
        ),
      );
    }
  });
});
