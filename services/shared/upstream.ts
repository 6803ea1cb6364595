// A small JSON client for calls between services: keep-alive connections, a per-call deadline
// (UPSTREAM_TIMEOUT_MS), round-robin over several base URLs, and one retry when a reused keep-alive
// connection turns out to have been closed by the server before it read the request (the usual HTTP/1.1
// race; RFC 9112 section 9.3.1 allows it for idempotent methods: GET and PUT, never POST).
// Base URLs are http:// in the mesh (the sidecar adds mTLS); an https:// client is for services outside
// it, whose TLS the application speaks itself.

import http from 'node:http';
import https from 'node:https';
import type { ForwardHeaders } from './propagation.js';

const MAX_BODY_BYTES = 1024 * 1024;

export type UpstreamFailure = 'timeout' | 'network' | 'invalid-response';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly upstream: string;
  readonly failure: UpstreamFailure;

  constructor(upstream: string, failure: UpstreamFailure, message: string) {
    super(`${upstream}: ${message}`);
    this.upstream = upstream;
    this.failure = failure;
  }
}

export interface UpstreamResponse {
  readonly status: number;
  /** Parsed JSON; undefined when a non-2xx answer had no JSON body. */
  readonly body: unknown;
  /** The answering service's x-served-by header, e.g. "reviews/v2". */
  readonly servedBy: string | undefined;
}

export interface Upstream {
  readonly name: string;
  readonly baseUrls: readonly string[];
  /** GETs path from the next base URL. Resolves for every HTTP status; rejects with UpstreamError. */
  get(path: string, headers: ForwardHeaders): Promise<UpstreamResponse>;
  /** PUTs a JSON body (idempotent: retried like GET). */
  put(path: string, body: unknown, headers: ForwardHeaders): Promise<UpstreamResponse>;
  /** POSTs a JSON body (never retried). */
  post(path: string, body: unknown, headers: ForwardHeaders): Promise<UpstreamResponse>;
  /** Closes pooled connections. */
  close(): void;
}

export interface UpstreamOptions {
  readonly timeoutMs: number;
  readonly userAgent: string;
}

interface Attempt {
  readonly response?: UpstreamResponse;
  readonly error?: UpstreamError;
  readonly retryable: boolean;
}

export function createUpstream(
  name: string,
  baseUrls: readonly string[],
  options: UpstreamOptions,
): Upstream {
  if (baseUrls.length === 0) throw new Error(`${name}: no base URL`);
  const secure = baseUrls[0]!.startsWith('https:');
  if (baseUrls.some((url) => url.startsWith('https:') !== secure))
    throw new Error(`${name}: mixes http:// and https:// base URLs`);
  const client = secure ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 128 });
  let next = 0;

  type Method = 'GET' | 'PUT' | 'POST';
  const attempt = (
    method: Method,
    url: string,
    headers: ForwardHeaders,
    payload: Buffer | undefined,
    deadline: number,
  ): Promise<Attempt> =>
    new Promise((resolve) => {
      let settled = false;
      const settle = (result: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const fail = (failure: UpstreamFailure, message: string, retryable = false) =>
        settle({ error: new UpstreamError(name, failure, message), retryable });

      const req = client.request(url, {
        method,
        agent,
        headers: {
          ...headers,
          accept: 'application/json',
          'user-agent': options.userAgent,
          ...(payload && { 'content-type': 'application/json', 'content-length': payload.length }),
        },
      });
      const timer = setTimeout(
        () => {
          fail('timeout', `no answer from ${url} within ${options.timeoutMs} ms`);
          req.destroy();
        },
        Math.max(1, deadline - Date.now()),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        const retryable = method !== 'POST' && req.reusedSocket && error.code === 'ECONNRESET';
        fail('network', `${method} ${url} failed: ${error.code ?? error.message}`, retryable);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            fail('invalid-response', `${method} ${url}: answer larger than ${MAX_BODY_BYTES} bytes`);
            req.destroy();
          } else {
            chunks.push(chunk);
          }
        });
        res.on('error', (error) => fail('network', `${method} ${url}: ${error.message}`));
        res.on('close', () => {
          if (!res.complete)
            fail('network', `${method} ${url}: connection closed before the answer was complete`);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const servedBy =
            typeof res.headers['x-served-by'] === 'string' ? res.headers['x-served-by'] : undefined;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            if (status >= 200 && status < 300) {
              fail('invalid-response', `${method} ${url} answered ${status} with a body that is not JSON`);
              return;
            }
          }
          settle({ response: { status, body, servedBy }, retryable: false });
        });
      });
      req.end(payload);
    });

  const call = async (method: Method, path: string, headers: ForwardHeaders, body?: unknown) => {
    const base = baseUrls[next % baseUrls.length];
    next = (next + 1) % baseUrls.length;
    const url = `${base}${path}`;
    const payload = method === 'GET' ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const deadline = Date.now() + options.timeoutMs;
    let result = await attempt(method, url, headers, payload, deadline);
    if (result.retryable && Date.now() < deadline)
      result = await attempt(method, url, headers, payload, deadline);
    if (result.response !== undefined) return result.response;
    throw result.error ?? new UpstreamError(name, 'network', `${method} ${url} failed`);
  };

  return {
    name,
    baseUrls,
    get: (path, headers) => call('GET', path, headers),
    put: (path, body, headers) => call('PUT', path, headers, body),
    post: (path, body, headers) => call('POST', path, headers, body),
    close() {
      agent.destroy();
    },
  };
}
