/**
 * The app registry: every app `npm run synth`, `diff`, `graph`, `cdk8s synth` and the Pulumi stacks
 * (stack config `mesh-kit:apps`) know. Register an app of your own by adding its definition here;
 * `npm run new-app -- <name>` writes one and adds it for you. See README, "Your own app in five
 * minutes".
 */
import { AppRegistry, ImageSource, MeshAppDefinition } from '../constructs/index.js';
import {
  BOOKINFO_SCENARIOS,
  BOOKINFO_WORKLOADS,
  BookinfoChart,
  type BookinfoScenario,
  bookinfoImage,
} from './bookinfo.js';
import { ENVIRONMENTS, type ShopEnvironment } from './environments.js';
import { PAYMENTS_ENVIRONMENTS, type PaymentsEnvironment } from './payments-environments.js';
import { PAYMENTS_SERVICES, PaymentsChart } from './payments.js';
import { SHOP_SERVICES, ShopChart } from './shop.js';
// new-app: imports (npm run new-app adds one line above this one)

/** The bookshop of services/: four services built from services/<name>/Dockerfile. */
export const SHOP_APP = MeshAppDefinition.define({
  name: 'shop',
  description: 'storefront → catalog, reviews (v1, v2, v3) → ratings, built from services/',
  variantFlag: 'env',
  variants: Object.keys(ENVIRONMENTS),
  defaultVariant: 'dev',
  images: Object.fromEntries(
    SHOP_SERVICES.map((service) => [
      service,
      ImageSource.fromDockerfile({
        context: 'services',
        dockerfile: `${service}/Dockerfile`,
        // What services/<name>/Dockerfile copies: the workspace files, shared/ and its own folder.
        inputs: ['package.json', 'package-lock.json', 'tsconfig.json', '.dockerignore', 'shared', service],
      }),
    ]),
  ),
  build: (app, variant, options) =>
    new ShopChart(app, 'shop', {
      environment: variant as ShopEnvironment['name'],
      images: options.images,
      dataPlane: options.dataPlane,
    }),
});

/** Istio's Bookinfo with Istio's published images (nothing to build), one variant per routing task. */
export const BOOKINFO_APP = MeshAppDefinition.define({
  name: 'bookinfo',
  description: "Istio's Bookinfo sample, one variant per traffic-management task",
  variantFlag: 'scenario',
  variants: BOOKINFO_SCENARIOS,
  defaultVariant: 'all-v1',
  images: Object.fromEntries(BOOKINFO_WORKLOADS.map((w) => [w, ImageSource.fromReference(bookinfoImage(w))])),
  build: (app, variant, options) =>
    new BookinfoChart(app, 'bookinfo', {
      scenario: variant as BookinfoScenario,
      images: options.images,
      dataPlane: options.dataPlane,
    }),
});

/**
 * Payments: an api (HTTPS ingress, JWT on /admin, local rate limits) calling an external payment
 * provider, a ledger with a persistent volume, and a notifier in an ambient namespace; built from
 * services/payments-<name>/. Its data planes are its own (sidecars for the api and the ledger, ambient
 * for the notifier), so a stack's `dataPlane` for it is refused rather than ignored.
 */
export const PAYMENTS_APP = MeshAppDefinition.define({
  name: 'payments',
  description: 'api → ledger, api → notifier (ambient), api → external payment provider, from services/',
  variantFlag: 'env',
  variants: Object.keys(PAYMENTS_ENVIRONMENTS),
  defaultVariant: 'dev',
  images: Object.fromEntries(
    PAYMENTS_SERVICES.map((service) => [
      service,
      ImageSource.fromDockerfile({
        context: 'services',
        dockerfile: `payments-${service}/Dockerfile`,
        // What services/payments-<name>/Dockerfile copies: the workspace files, shared/,
        // payments-shared/ and its own folder.
        inputs: [
          'package.json',
          'package-lock.json',
          'tsconfig.json',
          '.dockerignore',
          'shared',
          'payments-shared',
          `payments-${service}`,
        ],
      }),
    ]),
  ),
  build: (app, variant, options) => {
    if (options.dataPlane !== undefined) {
      throw new Error(
        'app "payments" chooses its data planes itself (sidecars for api and ledger, ambient for the notifier); remove its dataPlane',
      );
    }
    new PaymentsChart(app, 'payments', {
      environment: variant as PaymentsEnvironment['name'],
      images: options.images,
    });
  },
});

/** Every app this project knows, in the order the tools list them. */
export const APPS = new AppRegistry([
  SHOP_APP,
  BOOKINFO_APP,
  PAYMENTS_APP,
  // new-app: apps (npm run new-app adds one entry above this one)
]);
