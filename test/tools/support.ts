import { type Manifest } from '../../tools/mesh/manifest.js';

/** A plain object of a kind, for unit tests: `obj('networking.istio.io/v1', 'VirtualService', 'reviews', { ... })`. */
export function obj(
  apiVersion: string,
  kind: string,
  name: string,
  spec: unknown,
  namespace = 'shop',
): Manifest {
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}

export const NET = 'networking.istio.io/v1';
export const SEC = 'security.istio.io/v1';
