import { Testing } from 'cdk8s';
import {
  MeshNamespace,
  type MeshNamespaceProps,
  Microservice,
  type MicroserviceProps,
  ServicePort,
} from '../../constructs/index.js';

/** A namespace "shop" and one service "reviews" (v1, v2, HTTP on 9080) built with `extra` props. */
export function reviews(
  extra: Partial<MicroserviceProps<'v1' | 'v2'>> = {},
  nsProps: MeshNamespaceProps = {},
) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop', nsProps);
  const svc = new Microservice(chart, 'reviews', {
    namespace: ns,
    image: 'reviews:1',
    ports: [ServicePort.http(9080)],
    versions: { v1: {}, v2: {} },
    ...extra,
  });
  return { chart, ns, svc };
}
