import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  BOOKINFO_IMAGES,
  DataPlane,
  Duration,
  type HttpRoute,
  IstioIngress,
  MeshNamespace,
  Microservice,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';

/**
 * The traffic-management tasks of Istio's docs, each the routing of one
 * samples/bookinfo/networking/virtual-service-<scenario>.yaml (every other service on v1).
 */
export const BOOKINFO_SCENARIOS = [
  'all-v1',
  'reviews-v2-v3',
  'reviews-50-v3',
  'reviews-80-20',
  'reviews-90-10',
  'reviews-v3',
  'reviews-jason-v2-v3',
  'reviews-test-v2',
  'ratings-test-delay',
  'ratings-test-abort',
] as const;
export type BookinfoScenario = (typeof BOOKINFO_SCENARIOS)[number];

export interface BookinfoChartProps extends ChartProps {
  /**
   * Which traffic-management task's routing to apply.
   * @default "all-v1"
   */
  readonly scenario?: BookinfoScenario;
  /**
   * The namespace Bookinfo runs in.
   * @default "bookinfo"
   */
  readonly namespaceName?: string;
  /**
   * The data plane of the namespace.
   * @default DataPlane.sidecar()
   */
  readonly dataPlane?: DataPlane;
  /**
   * Image reference per `<service>-<version>` (e.g. `reviews-v2`), replacing Istio's published
   * image of that workload (a mirror, or an image of your own).
   * @default registry.istio.io/release/examples-bookinfo-<service>-<version> at BOOKINFO_IMAGES.tag
   */
  readonly images?: Readonly<Partial<Record<string, string>>>;
}

/** Bookinfo's workloads, `<service>-<version>`: the keys of its images. */
export const BOOKINFO_WORKLOADS = [
  'productpage-v1',
  'details-v1',
  'reviews-v1',
  'reviews-v2',
  'reviews-v3',
  'ratings-v1',
] as const;

/** Istio's published image of a Bookinfo workload, as samples/bookinfo/platform/kube/bookinfo.yaml pins it. */
export function bookinfoImage(workload: string): string {
  return `${BOOKINFO_IMAGES.registry}/examples-bookinfo-${workload}:${BOOKINFO_IMAGES.tag}`;
}

const JASON = [{ headers: { 'end-user': StringMatch.exact('jason') } }];

/**
 * Istio's Bookinfo sample, reproduced with the constructs: the same Services (port 9080),
 * ServiceAccounts (bookinfo-<service>), Deployments (<service>-<version>) and images as
 * samples/bookinfo/platform/kube/bookinfo.yaml, a DestinationRule and VirtualService per service,
 * and least-privilege authorization for its call graph.
 */
export class BookinfoChart extends Chart {
  public readonly productpage: Microservice<'v1'>;
  public readonly details: Microservice<'v1'>;
  public readonly reviews: Microservice<'v1' | 'v2' | 'v3'>;
  public readonly ratings: Microservice<'v1'>;

  constructor(scope: Construct, id: string, props: BookinfoChartProps = {}) {
    super(scope, id, props);
    const scenario = props.scenario ?? 'all-v1';
    if (!(BOOKINFO_SCENARIOS as readonly string[]).includes(scenario)) {
      throw new Error(
        `BookinfoChart ${id}: unknown scenario "${scenario}"; use one of ${BOOKINFO_SCENARIOS.join(', ')}`,
      );
    }
    const namespace = new MeshNamespace(this, 'namespace', {
      name: props.namespaceName ?? 'bookinfo',
      dataPlane: props.dataPlane ?? DataPlane.sidecar(),
    });
    const image = (service: string, version: string) =>
      props.images?.[`${service}-${version}`] ?? bookinfoImage(`${service}-${version}`);
    const common = (name: string) => ({
      namespace,
      serviceAccountName: `bookinfo-${name}`,
      ports: [ServicePort.http(9080)],
    });

    this.details = new Microservice(this, 'details', {
      ...common('details'),
      versions: { v1: { image: image('details', 'v1') } },
    });
    this.ratings = new Microservice(this, 'ratings', {
      ...common('ratings'),
      versions: { v1: { image: image('ratings', 'v1') } },
    });
    this.reviews = new Microservice(this, 'reviews', {
      ...common('reviews'),
      env: { LOG_DIR: '/tmp/logs' },
      // WebSphere Liberty writes its runtime state here; the root filesystem is read-only.
      writablePaths: ['/opt/ibm/wlp/output'],
      versions: {
        v1: { image: image('reviews', 'v1') },
        v2: { image: image('reviews', 'v2') },
        v3: { image: image('reviews', 'v3') },
      },
    });
    this.productpage = new Microservice(this, 'productpage', {
      ...common('productpage'),
      versions: { v1: { image: image('productpage', 'v1') } },
    });

    // samples/bookinfo/networking/bookinfo-gateway.yaml: the pages and API of productpage, any host.
    const ingress = new IstioIngress(this, 'ingress', { namespace, name: 'bookinfo-gateway', hosts: ['*'] });
    for (const exactPath of ['/productpage', '/login', '/logout'])
      ingress.addRoute({ exactPath, to: this.productpage });
    for (const pathPrefix of ['/static', '/api/v1/products'])
      ingress.addRoute({ pathPrefix, to: this.productpage });

    // The real call graph: productpage calls details and reviews; reviews v2 and v3 call ratings.
    this.productpage.calls(this.details, { methods: ['GET'] }).calls(this.reviews, { methods: ['GET'] });
    this.reviews.calls(this.ratings, { methods: ['GET'] });

    const { reviews, ratings } = this;
    const v1 = <V extends string>(svc: Microservice<V | 'v1'>): HttpRoute => ({ to: svc.version('v1') });
    const routes: Record<'reviews' | 'ratings', HttpRoute[]> = {
      reviews: [v1(reviews)],
      ratings: [v1(ratings)],
    };
    const split = (a: 'v1' | 'v2' | 'v3', wa: number, b: 'v1' | 'v2' | 'v3', wb: number): HttpRoute => ({
      to: [
        { version: reviews.version(a), weight: wa },
        { version: reviews.version(b), weight: wb },
      ],
    });
    switch (scenario) {
      case 'reviews-v2-v3':
        routes.reviews = [split('v2', 50, 'v3', 50)];
        break;
      case 'reviews-50-v3':
        routes.reviews = [split('v1', 50, 'v3', 50)];
        break;
      case 'reviews-80-20':
        routes.reviews = [split('v1', 80, 'v2', 20)];
        break;
      case 'reviews-90-10':
        routes.reviews = [split('v1', 90, 'v2', 10)];
        break;
      case 'reviews-v3':
        routes.reviews = [{ to: reviews.version('v3') }];
        break;
      case 'reviews-jason-v2-v3':
        routes.reviews = [{ match: JASON, to: reviews.version('v2') }, { to: reviews.version('v3') }];
        break;
      case 'reviews-test-v2':
        routes.reviews = [{ match: JASON, to: reviews.version('v2') }, v1(reviews)];
        break;
      // Istio's fault-injection task applies these on top of reviews-test-v2: jason reaches reviews
      // v2, the version that calls ratings, so the fault shows on his product page.
      case 'ratings-test-delay':
        routes.reviews = [{ match: JASON, to: reviews.version('v2') }, v1(reviews)];
        routes.ratings = [
          {
            match: JASON,
            to: ratings.version('v1'),
            fault: { delay: { fixedDelay: Duration.seconds(7), percentage: 100 } },
          },
          v1(ratings),
        ];
        break;
      case 'ratings-test-abort':
        routes.reviews = [{ match: JASON, to: reviews.version('v2') }, v1(reviews)];
        routes.ratings = [
          { match: JASON, to: ratings.version('v1'), fault: { abort: { httpStatus: 500, percentage: 100 } } },
          v1(ratings),
        ];
        break;
      case 'all-v1':
        break;
    }
    this.productpage.addRoute(v1(this.productpage));
    this.details.addRoute(v1(this.details));
    for (const r of routes.reviews) reviews.addRoute(r);
    for (const r of routes.ratings) ratings.addRoute(r);
  }
}
