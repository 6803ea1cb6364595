// istiod's JWT claim form of a route match header name, read the same way by the route checks
// (constructs/routing.ts) and by explain (constructs/explain/routing.ts).

const JWT_CLAIM = '@request.auth.claims';

/**
 * The claim path of a match header name in istiod's JWT claim form (`ToRoutingClaim` in
 * istio/istio pkg/jwt): the prefix in any case, then "." and at least one character
 * (`.a.b` is claim `a`, then `b`), or "[" ... "]" around at least one (`[a][b.c]` is `a`, then
 * `b.c`). Undefined for any other name. The claim is matched in the JWT's payload, not in a
 * header, so its case is the claim's own
 * (https://istio.io/latest/docs/tasks/security/authentication/jwt-route/).
 */
export function jwtClaimRoute(name: string): readonly string[] | undefined {
  if (name.slice(0, JWT_CLAIM.length).toLowerCase() !== JWT_CLAIM) return undefined;
  const rest = name.slice(JWT_CLAIM.length);
  if (rest.startsWith('.') && rest.length > 1) return rest.slice(1).split('.');
  if (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2) return rest.slice(1, -1).split('][');
  return undefined;
}
