// The HTTP bootstrap every service shares: routing, health endpoints, request logs, failure modes,
// header propagation and graceful shutdown.
//
// Shutdown (SIGTERM, or SIGINT for Ctrl-C), the Kubernetes pattern:
//   1. /readyz turns 503 at once, so the endpoint is taken out of the Service; every response from now on
//      carries "Connection: close", so keep-alive clients move to other endpoints after their current
//      response.
//   2. After DRAIN_DELAY_MS (default 0) the listener closes: no new connections; idle keep-alive
//      connections are closed; requests in flight go on and finish.
//   3. When the last connection has closed, upstream pools are closed and the process exits 0.
//   If all this takes longer than SHUTDOWN_TIMEOUT_MS (default 20000) the process exits 1.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, readCommonConfig } from './config.js';
import type { CommonConfig, Env } from './config.js';
import { planFault, sleep } from './faults.js';
import { createLogger, errorMessage } from './log.js';
import type { Logger } from './log.js';
import { AUTH_HEADERS, ROUTING_HEADERS, TRACE_HEADERS, pickHeaders, redact } from './propagation.js';
import type { ForwardHeaders } from './propagation.js';
import type { Upstream } from './upstream.js';

export interface RequestContext {
  readonly params: Readonly<Record<string, string>>;
  readonly url: URL;
  readonly requestId: string;
  /** The headers to copy onto every outgoing call made for this request. */
  readonly forward: ForwardHeaders;
  /** Every header of the request (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body of a PUT or POST; undefined for GET and HEAD. */
  readonly body: unknown;
}

export type Reply =
  { readonly status: number; readonly json: unknown } | { readonly status: number; readonly html: string };

/** The methods a route can answer; GET routes answer HEAD too. */
export type Method = 'GET' | 'PUT' | 'POST';

export interface Route {
  /** A path such as "/books" or "/books/:id"; ":name" matches one non-empty segment. */
  readonly path: string;
  /** GET (and HEAD), or PUT or POST with a JSON body of at most 64 KiB. Default: GET. */
  readonly method?: Method;
  readonly handler: (ctx: RequestContext) => Reply | Promise<Reply>;
}

export interface ServiceDefinition {
  readonly routes: readonly Route[];
  /** Upstream clients, closed on shutdown. */
  readonly upstreams?: readonly Upstream[];
  /** Forward the caller's Authorization header on outgoing calls (the edge service, for JWT downstream). */
  readonly forwardAuthorization?: boolean;
}

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly isDraining: () => boolean;
  /** Starts draining (idempotent); resolves once every connection has closed. */
  readonly shutdown: (reason: string) => Promise<void>;
}

export function json(status: number, body: unknown): Reply {
  return { status, json: body };
}

interface CompiledRoute {
  readonly segments: readonly string[];
  readonly method: Method;
  readonly handler: Route['handler'];
}

function compile(route: Route): CompiledRoute {
  return { segments: route.path.split('/').slice(1), method: route.method ?? 'GET', handler: route.handler };
}

const MAX_REQUEST_BYTES = 64 * 1024;

/** The JSON body of a request, or the reply that refuses it (413 too large, 400 not JSON). */
async function readJsonBody(req: IncomingMessage): Promise<{ value: unknown } | { reply: Reply }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES)
      return { reply: json(413, { error: `request body larger than ${MAX_REQUEST_BYTES} bytes` }) };
    chunks.push(chunk);
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { reply: json(400, { error: 'request body is not JSON' }) };
  }
}

function match(route: CompiledRoute, pathname: string): Record<string, string> | undefined {
  const parts = pathname.split('/').slice(1);
  if (parts.length !== route.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of route.segments.entries()) {
    const part = parts[i] ?? '';
    if (segment.startsWith(':')) {
      if (part === '') return undefined;
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (segment !== part) {
      return undefined;
    }
  }
  return params;
}

function send(res: ServerResponse, reply: Reply, draining: boolean, head: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const isHtml = 'html' in reply;
  const body = Buffer.from(isHtml ? reply.html : `${JSON.stringify(reply.json)}\n`, 'utf8');
  res.statusCode = reply.status;
  res.setHeader('content-type', isHtml ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8');
  res.setHeader('content-length', body.length);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('cache-control', 'no-store');
  if (isHtml) {
    res.setHeader(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
  }
  if (draining) res.setHeader('connection', 'close');
  res.end(head ? undefined : body);
}

/** Starts the HTTP server for a service; resolves once it listens. */
export function startService(
  config: CommonConfig,
  definition: ServiceDefinition,
  log: Logger,
): Promise<RunningService> {
  const routes = definition.routes.map(compile);
  const forwardNames = [
    ...TRACE_HEADERS,
    ...ROUTING_HEADERS,
    ...(definition.forwardAuthorization === true ? AUTH_HEADERS : []),
  ];
  const loggedNames = [...TRACE_HEADERS, ...ROUTING_HEADERS, ...AUTH_HEADERS];
  const servedBy = `${config.serviceName}/${config.serviceVersion}`;
  let draining = false;
  let closed: Promise<void> | undefined;

  const route = async (
    req: IncomingMessage,
    url: URL,
    ctx: Omit<RequestContext, 'params' | 'headers' | 'body'>,
  ): Promise<Reply> => {
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz') return json(200, { status: 'ok' });
    if (url.pathname === '/readyz')
      return draining ? json(503, { status: 'draining' }) : json(200, { status: 'ready' });
    const matching = routes.flatMap((candidate) => {
      const params = match(candidate, url.pathname);
      return params === undefined ? [] : [{ candidate, params }];
    });
    const wanted = method === 'HEAD' ? 'GET' : method;
    const found = matching.find(({ candidate }) => candidate.method === wanted);
    const methods = new Set(matching.map(({ candidate }) => candidate.method));
    const unknownPath = methods.size === 0 && (method === 'GET' || method === 'HEAD');
    if (found === undefined && !unknownPath) {
      // A path no route serves offers GET and HEAD, as a service of GET routes only always did.
      const allow = methods.size === 0 ? ['GET'] : [...methods];
      return json(405, {
        error: 'method not allowed',
        allow: allow.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', '),
      });
    }
    let body: unknown;
    if (found !== undefined && found.candidate.method !== 'GET') {
      const read = await readJsonBody(req);
      if ('reply' in read) return read.reply;
      body = read.value;
    }
    const fault = planFault(config);
    await sleep(fault.delayMs);
    if (fault.fail) return json(503, { error: 'injected failure (FAIL_RATE)', servedBy });
    if (found === undefined) return json(404, { error: 'not found', path: url.pathname });
    return found.candidate.handler({ ...ctx, params: found.params, headers: req.headers, body });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && incomingId !== '' ? incomingId : randomUUID();
    let url: URL | undefined;
    try {
      url = new URL(req.url ?? '/', 'http://service.invalid');
    } catch {
      url = undefined;
    }
    const path = url?.pathname ?? String(req.url);
    res.setHeader('x-served-by', servedBy);
    res.setHeader('x-request-id', requestId);
    res.on('close', () => {
      const traceparent = req.headers.traceparent;
      log.info('request', {
        method: req.method,
        path,
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        request_id: requestId,
        traceparent: typeof traceparent === 'string' ? traceparent : null,
        ...(res.writableFinished ? {} : { aborted: true }),
        ...(config.logHeaders ? { headers: redact(pickHeaders(req.headers, loggedNames)) } : {}),
      });
    });
    if (url === undefined) {
      send(res, json(400, { error: 'bad request target' }), draining, false);
      return;
    }
    const forward = { ...pickHeaders(req.headers, forwardNames), 'x-request-id': requestId };
    let reply: Reply;
    try {
      reply = await route(req, url, { url, requestId, forward });
    } catch (error) {
      log.error('handler failed', { path, request_id: requestId, error: errorMessage(error) });
      reply = json(500, { error: 'internal error' });
    }
    if (reply.status === 405 && 'json' in reply) {
      res.setHeader('allow', String((reply.json as { allow?: unknown }).allow ?? 'GET, HEAD'));
    }
    send(res, reply, draining, req.method === 'HEAD');
  };

  const server = http.createServer((req, res) => {
    void handle(req, res);
  });

  const shutdown = (reason: string): Promise<void> => {
    if (closed !== undefined) return closed;
    draining = true;
    const began = performance.now();
    log.info('draining', { reason, drain_delay_ms: config.drainDelayMs });
    closed = (async () => {
      await sleep(config.drainDelayMs);
      log.info('closing listener', { after_ms: Math.round(performance.now() - began) });
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const upstream of definition.upstreams ?? []) upstream.close();
      log.info('shutdown complete', { duration_ms: Math.round(performance.now() - began) });
    })();
    return closed;
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `http://${host}:${port}`;
      log.info('listening', { host: config.host, port, url });
      resolve({ url, port, isDraining: () => draining, shutdown });
    });
  });
}

export interface ServiceMain {
  /** Default SERVICE_NAME, e.g. "catalog". */
  readonly name: string;
  /** Default SERVICE_VERSION; may depend on the environment (reviews: REVIEWS_VERSION). */
  readonly defaultVersion?: (env: Env) => string;
  /** May be async, e.g. to open a data directory before listening. */
  readonly build: (
    env: Env,
    config: CommonConfig,
    log: Logger,
  ) => ServiceDefinition | Promise<ServiceDefinition>;
}

/**
 * The entry point of a service process: reads the environment, starts the server and handles SIGTERM
 * and SIGINT. Invalid configuration, a failed listen or an exceeded SHUTDOWN_TIMEOUT_MS exit with 1.
 */
export async function runService(main: ServiceMain, env: Env = process.env): Promise<void> {
  let log = createLogger(main.name, 'unknown');
  try {
    const config = readCommonConfig(env, { name: main.name, version: main.defaultVersion?.(env) ?? 'v1' });
    log = createLogger(config.serviceName, config.serviceVersion);
    const definition = await main.build(env, config, log);
    const service = await startService(config, definition, log);
    const onSignal = (signal: NodeJS.Signals) => {
      if (service.isDraining()) {
        log.info('already draining', { signal });
        return;
      }
      setTimeout(() => {
        log.error('shutdown timeout exceeded, forcing exit', {
          shutdown_timeout_ms: config.shutdownTimeoutMs,
        });
        process.exit(1);
      }, config.shutdownTimeoutMs);
      void service.shutdown(signal).then(() => process.exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  } catch (error) {
    const msg = error instanceof ConfigError ? 'invalid configuration' : 'start-up failed';
    log.error(msg, { error: errorMessage(error) });
    process.exitCode = 1;
  }
}
