import {
  type SidecarSpecOutboundTrafficPolicy,
  SidecarSpecOutboundTrafficPolicyMode,
} from '../../imports/networking.istio.io.js';

/**
 * What a sidecar does with traffic to a host its service registry does not know
 * (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/#envoy-passthrough-to-external-services):
 * `ALLOW_ANY` passes it through to the original destination, `REGISTRY_ONLY` refuses it (HTTP 502,
 * or a reset TCP connection), so only hosts of Services and ServiceEntries are reachable. The
 * registry a sidecar sees is narrowed by its Sidecar resource's egress hosts, which
 * `Microservice.calls` derives, so under REGISTRY_ONLY a workload reaches exactly what it calls.
 */
export enum OutboundTrafficPolicy {
  /** Only hosts in the proxy's service registry (Services, ServiceEntries) are reachable: fail closed. */
  REGISTRY_ONLY = 'REGISTRY_ONLY',
  /** Unknown hosts are passed through to their original destination: Istio's default. */
  ALLOW_ANY = 'ALLOW_ANY',
}

/**
 * The Sidecar resource's `spec.outboundTrafficPolicy` for a namespace's mode. None when the
 * namespace sets none: a Sidecar's mode overrides the mesh-wide `meshConfig.outboundTrafficPolicy`
 * (https://istio.io/latest/docs/reference/config/networking/sidecar/#OutboundTrafficPolicy), so an
 * explicit ALLOW_ANY would reopen a mesh installed with REGISTRY_ONLY.
 */
export function sidecarOutboundTrafficPolicy(
  mode: OutboundTrafficPolicy | undefined,
): SidecarSpecOutboundTrafficPolicy | undefined {
  if (mode === undefined) return undefined;
  return {
    mode:
      mode === OutboundTrafficPolicy.REGISTRY_ONLY
        ? SidecarSpecOutboundTrafficPolicyMode.REGISTRY_UNDERSCORE_ONLY
        : SidecarSpecOutboundTrafficPolicyMode.ALLOW_UNDERSCORE_ANY,
  };
}
