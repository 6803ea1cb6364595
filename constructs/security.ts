import type { AuthorizationPolicySpecRules } from '../imports/security.istio.io.js';
import type { Problems } from './validation.js';

/** Narrows what a caller may do; without it, the caller may send any request. */
export interface CallOptions {
  /**
   * HTTP methods the caller may use (needs an L7 proxy: a sidecar, or a waypoint in ambient mode).
   * @default any method
   */
  readonly methods?: readonly string[];
  /**
   * Request paths the caller may use; Istio's path syntax (exact, "/prefix*", "*suffix").
   * @default any path
   */
  readonly paths?: readonly string[];
}

/** One identity allowed to call a service, with what it may do. */
export interface AllowedCaller extends CallOptions {
  /** SPIFFE principal without the "spiffe://" scheme, e.g. "cluster.local/ns/shop/sa/storefront". */
  readonly principal: string;
}

export interface JwtOptions {
  /** The token issuer (`iss` claim). */
  readonly issuer: string;
  /** Where Istio fetches the issuer's public keys. */
  readonly jwksUri: string;
  /**
   * Accepted `aud` claims.
   * @default any audience
   */
  readonly audiences?: readonly string[];
  /** Paths on which a valid token is required (Istio's path syntax); other paths accept no token. */
  readonly paths: readonly string[];
  /**
   * Pass the token on to the service after validating it.
   * @default false
   */
  readonly forwardOriginalToken?: boolean;
}

/** The HTTP methods of RFC 9110 and RFC 5789 (PATCH), as clients send them: upper-case. */
export const HTTP_METHODS: readonly string[] = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
];
const METHODS = HTTP_METHODS;

export function validateCallOptions(o: CallOptions, field: string, p: Problems): void {
  for (const m of o.methods ?? []) {
    if (!METHODS.includes(m)) {
      p.add(
        `${field}.methods`,
        `"${m}" is not an HTTP method`,
        `use upper-case methods: ${METHODS.join(', ')}`,
      );
    }
  }
  if (o.methods?.length === 0)
    p.add(`${field}.methods`, 'is an empty list, which allows nothing', 'leave methods out to allow any');
  if (o.paths?.length === 0)
    p.add(`${field}.paths`, 'is an empty list, which allows nothing', 'leave paths out to allow any');
  validatePaths(o.paths ?? [], `${field}.paths`, p);
}

export function validatePaths(paths: readonly string[], field: string, p: Problems): void {
  for (const path of paths) {
    if (isAuthorizationPath(path)) {
      p.requestPath(field, path, '{}');
    } else {
      p.add(
        field,
        `"${path}" is not a path Istio's authorization can match`,
        'use an exact path "/a/b", a prefix "/a/*", a suffix "*.js", or whole-segment templates "/a/{*}/b", "/a/{**}"',
      );
    }
  }
}

/**
 * Istio matches "*" only as a whole path, a prefix ("/api*") or a suffix ("*.js"); since 1.22 it
 * also takes path templates, where "{*}" is one whole segment and "{**}" the rest of the path.
 */
function isAuthorizationPath(path: string): boolean {
  if (path.includes('{')) {
    const segments = path.split('/');
    return (
      path.startsWith('/') &&
      segments.every((seg, i) =>
        seg === '{**}' ? i === segments.length - 1 : seg === '{*}' || !/[{}*]/.test(seg),
      )
    );
  }
  const inner = path.slice(1, -1);
  // A leading "*" makes the rest a literal suffix (StringMatcherWithPrefix in istio/istio
  // pkg/config/security/authz/matcher), so "*/api/*" would match only paths ending in "/api/*".
  if (path !== '*' && path.startsWith('*') && path.endsWith('*')) return false;
  return path === '*' || (!inner.includes('*') && (path.startsWith('/') || path.startsWith('*')));
}

export function validateJwt(o: JwtOptions, field: string, p: Problems): void {
  if (!o.issuer) p.add(`${field}.issuer`, 'is empty', 'give the issuer of the tokens');
  const authority = /^https?:\/\/([^/?#]*)/.exec(o.jwksUri)?.[1];
  if (authority === undefined) {
    p.add(
      `${field}.jwksUri`,
      `"${o.jwksUri}" is not an http(s) URL`,
      "give the URL of the issuer's JWKS document",
    );
  } else {
    // istiod fetches the keys from the URL's host and port (ParseJwksURI in istio/istio
    // pkg/config/security/security.go, which takes an empty host); when the fetch fails it hands
    // Envoy a key set that verifies nothing, so every token is refused.
    const hostPort = authority.replace(/^.*@/, '');
    const { host, port } = /^(?<host>\[[^\]]*\]|[^:]*)(?::(?<port>.*))?$/.exec(hostPort)!.groups!;
    if (host === '' || host === '[]') {
      p.add(
        `${field}.jwksUri`,
        `"${o.jwksUri}" has no host, so istiod cannot fetch the keys and every token is refused`,
        'write the URL with its host, e.g. "https://auth.example.com/.well-known/jwks.json"',
      );
    } else if (port && !(/^[0-9]+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
      p.add(
        `${field}.jwksUri`,
        `"${o.jwksUri}" has the port "${port}", so istiod cannot fetch the keys and every token is refused`,
        'leave the port out, or use one from 1 to 65535',
      );
    }
  }
  if (o.paths.length === 0)
    p.add(`${field}.paths`, 'is empty, so no path requires a token', 'list the paths that require one');
  validatePaths(o.paths, `${field}.paths`, p);
}

/**
 * ALLOW rules for the callers: one rule per distinct set of operations, so callers that may do the
 * same things share a rule (and the policy stays short however many callers there are).
 */
export function renderAllowRules(callers: readonly AllowedCaller[]): AuthorizationPolicySpecRules[] {
  // A hub service can have thousands of callers: sets keep this linear.
  const byOperation = new Map<string, { principals: Set<string>; methods?: string[]; paths?: string[] }>();
  for (const c of callers) {
    const methods = c.methods && [...new Set(c.methods)].sort();
    const paths = c.paths && [...new Set(c.paths)].sort();
    const key = JSON.stringify([methods, paths]);
    const entry = byOperation.get(key) ?? { principals: new Set<string>(), methods, paths };
    entry.principals.add(c.principal);
    byOperation.set(key, entry);
  }
  return [...byOperation.values()].map(({ principals, methods, paths }) => {
    const operation = { ...(methods && { methods }), ...(paths && { paths }) };
    return {
      from: [{ source: { principals: [...principals].sort() } }],
      ...(Object.keys(operation).length > 0 && { to: [{ operation }] }),
    };
  });
}
