// Header propagation. Istio's sidecars create the spans, but only the application knows which outgoing
// call belongs to which incoming request: it must copy these headers from the request it serves to
// every call it makes, or the trace breaks into pieces (Istio docs, "Distributed tracing" overview and
// FAQ: x-request-id, W3C trace context, B3, and the Lightstep, OpenCensus/Stackdriver and SkyWalking
// headers).

import type { IncomingHttpHeaders } from 'node:http';

export const TRACE_HEADERS = [
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'x-ot-span-context',
  'grpc-trace-bin',
  'x-cloud-trace-context',
  'sw8',
] as const;

/** Used by VirtualService header matches (e.g. end-user: jason → reviews v2) on every hop. */
export const ROUTING_HEADERS = ['end-user'] as const;

/** Carries the caller's JWT to services that require one (RequestAuthentication). */
export const AUTH_HEADERS = ['authorization'] as const;

export type ForwardHeaders = Record<string, string>;

/** The named headers present on a request, lower-case names, repeated headers joined with ", ". */
export function pickHeaders(headers: IncomingHttpHeaders, names: readonly string[]): ForwardHeaders {
  const picked: ForwardHeaders = {};
  for (const name of names) {
    const value = headers[name];
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text !== undefined && text !== '') picked[name] = text;
  }
  return picked;
}

/** A copy safe to log: credentials are replaced by a marker that only says they were there. */
export function redact(headers: ForwardHeaders): ForwardHeaders {
  const copy = { ...headers };
  for (const name of AUTH_HEADERS) if (name in copy) copy[name] = '[redacted]';
  return copy;
}
