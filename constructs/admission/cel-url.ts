/**
 * Kubernetes' CEL URL library (k8s.io/apiserver/pkg/cel/library/urls.go), shared by the native
 * evaluator (cel.ts) and the CEL library's environment (cel-library.ts), so that both read a URL
 * alike.
 */

/**
 * Go's url.ParseRequestURI, which Kubernetes' isURL and url() use: an absolute URI, or an
 * absolute path.
 */
export function parseRequestUri(s: string): URL | undefined {
  // An absolute path, "//x" included (a path there, not a host: Go parses it so).
  if (s.startsWith('/')) {
    try {
      return new URL(`http://localhost${s}`);
    } catch {
      return undefined;
    }
  }
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) return undefined;
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/**
 * The methods of a URL value. A URL value is represented by its text (the rules that reach here
 * were type-checked by the API server when the CRD was installed, so url methods only meet url
 * values).
 */
export const URL_METHODS = {
  getScheme: (s: string) => (s.startsWith('/') ? '' : parseRequestUri(s)!.protocol.replace(/:$/, '')),
  getHostname: (s: string) => (s.startsWith('/') ? '' : parseRequestUri(s)!.hostname.replace(/^\[|\]$/g, '')),
  getEscapedPath: (s: string) => parseRequestUri(s)!.pathname,
};
