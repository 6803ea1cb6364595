/**
 * An app as a team would write and register it: one service, `orders-api`, built from its own
 * Dockerfile, behind an Istio Gateway (variant `istio`) or a Gateway API Gateway (`gateway-api`),
 * both with HTTPS. Its build context is `orders/` under whatever project root a test makes
 * (`makeProject`).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart } from 'cdk8s';
import {
  DataPlane,
  GatewayApiIngress,
  ImageSource,
  IstioIngress,
  MeshAppDefinition,
  MeshNamespace,
  Microservice,
  ServicePort,
} from '../../constructs/index.js';

/** An app of one service behind an Istio Gateway (variant `istio`) or a Gateway API Gateway (`gateway-api`). */
export const ORDERS = MeshAppDefinition.define({
  name: 'orders',
  variants: ['istio', 'gateway-api'],
  images: { api: ImageSource.fromDockerfile({ context: 'orders', inputs: ['src'] }) },
  build: (app, variant, options) => {
    const chart = new Chart(app, 'orders');
    const namespace = new MeshNamespace(chart, 'ns', {
      name: 'orders',
      dataPlane: options.dataPlane ?? DataPlane.sidecar(),
    });
    const api = new Microservice(chart, 'api', {
      namespace,
      ports: [ServicePort.http(8080)],
      versions: { v1: { image: options.images?.api ?? 'registry.example.com/orders-api:1.0.0' } },
    });
    const tls = { credentialName: 'orders-tls' };
    const ingress =
      variant === 'istio'
        ? new IstioIngress(chart, 'ingress', {
            namespace,
            hosts: ['orders.example.com', 'api.example.com'],
            tls,
          })
        : new GatewayApiIngress(chart, 'ingress', {
            namespace,
            name: 'orders-gw',
            hosts: ['orders.example.com'],
            tls,
          });
    ingress.addRoute({ exactPath: '/orders', to: api });
    ingress.addRoute({ pathPrefix: '/', to: api });
  },
});

/** A project root with Pulumi.yaml and the app's build context, orders/ (Dockerfile, src/). */
export function makeProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'mesh-kit-team-'));
  writeFileSync(join(root, 'Pulumi.yaml'), 'name: mesh-kit\nruntime: nodejs\n');
  mkdirSync(join(root, 'orders', 'src'), { recursive: true });
  writeFileSync(
    join(root, 'orders', 'Dockerfile'),
    'FROM node:24-alpine\nCOPY src /app\nCMD ["node", "/app/main.js"]\n',
  );
  writeFileSync(
    join(root, 'orders', 'src', 'main.js'),
    'require("node:http").createServer((q, s) => s.end("ok")).listen(8080);\n',
  );
  return root;
}
