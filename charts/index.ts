import { type App } from 'cdk8s';
import { BOOKINFO_SCENARIOS, BookinfoChart, type BookinfoScenario } from './bookinfo.js';
import { ENVIRONMENTS, type ShopEnvironment } from './environments.js';
import { ShopChart } from './shop.js';

export * from './bookinfo.js';
export * from './environments.js';
export * from './shop.js';

/** A sample app and the variants (environments or scenarios) it synthesizes in. */
export interface SampleApp {
  readonly name: string;
  /** What a variant is called on the command line: --env or --scenario. */
  readonly variantFlag: 'env' | 'scenario';
  readonly variants: readonly string[];
  readonly defaultVariant: string;
  /** Adds the app's chart(s) for one variant to `app`. */
  build(app: App, variant: string): void;
}

export const SAMPLE_APPS: readonly SampleApp[] = [
  {
    name: 'shop',
    variantFlag: 'env',
    variants: Object.keys(ENVIRONMENTS),
    defaultVariant: 'dev',
    build: (app, variant) => new ShopChart(app, 'shop', { environment: variant as ShopEnvironment['name'] }),
  },
  {
    name: 'bookinfo',
    variantFlag: 'scenario',
    variants: BOOKINFO_SCENARIOS,
    defaultVariant: 'all-v1',
    build: (app, variant) => new BookinfoChart(app, 'bookinfo', { scenario: variant as BookinfoScenario }),
  },
];
