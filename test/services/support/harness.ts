// Starts the compiled bookshop services as real child processes on 127.0.0.1 and talks HTTP to them.
// Ports: each service is started with PORT=0 and announces the port the system gave it in its
// "listening" log line; services start leaf first, so every upstream URL is known before its caller
// starts (no window in which a pre-picked free port could be taken by someone else).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { Agent, IncomingHttpHeaders } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Compiled services: lib/test/services/support/ → lib/services/. */
export const SERVICES_BUILD = fileURLToPath(new URL('../../../services/', import.meta.url));

export type ServiceEntry =
  'storefront' | 'catalog' | 'reviews' | 'ratings' | 'payments-api' | 'payments-ledger' | 'payments-notifier';
export type LogLine = Record<string, unknown> & { msg?: unknown };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() when the process exited. */
  readonly at: number;
}

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Every JSON line the process wrote on stdout so far. */
  readonly logs: LogLine[];
  readonly stderr: string[];
  readonly exited: Promise<Exit>;
  /** The "request" log lines, optionally only those for one path. */
  requests(path?: string): LogLine[];
  /** Resolves with the first log line (already written or still to come) that matches. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

const started = new Set<ChildProcess>();

function isLogLine(value: unknown): value is LogLine {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs node on a compiled entry point with exactly the given environment (plus PATH). */
export function spawnNode(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

export function startService(
  entry: ServiceEntry,
  env: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<ServiceProcess> {
  const child = spawnNode(join(SERVICES_BUILD, entry, 'main.js'), { HOST: '127.0.0.1', PORT: '0', ...env });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      stderr.push(`stdout (not JSON): ${text}`);
      return;
    }
    if (!isLogLine(line)) return;
    logs.push(line);
    for (const waiter of waiters) {
      if (waiter.predicate(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, waitMs = 5000): Promise<LogLine> => {
    const found = logs.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${entry}: no matching log line within ${waitMs} ms; stderr: ${stderr.join('\n')}`));
      }, waitMs);
      const waiter = {
        predicate,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.add(waiter);
    });
  };

  const listening = Promise.race([
    waitForLog((line) => line.msg === 'listening', timeoutMs),
    exited.then((exit) => {
      throw new Error(`${entry} exited (${exit.code ?? exit.signal}) before listening: ${stderr.join('\n')}`);
    }),
  ]);
  return listening.then((line) => ({
    name: entry,
    url: String(line.url),
    child,
    logs,
    stderr,
    exited,
    requests: (path?: string) =>
      logs.filter((entry) => entry.msg === 'request' && (path === undefined || entry.path === path)),
    waitForLog,
  }));
}

/**
 * Stops every process the harness started that still runs: SIGTERM (so `dev` stops its own children),
 * then SIGKILL for whatever has not exited within 3 s.
 */
export async function stopAll(): Promise<void> {
  const graceMs = 3000;
  const running = [...started].filter((child) => child.exitCode === null && child.signalCode === null);
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

export interface Bookshop {
  readonly ratings: ServiceProcess;
  readonly reviews: ServiceProcess;
  readonly catalog: ServiceProcess;
  readonly storefront: ServiceProcess;
}

/** ratings → reviews (one version) → catalog → storefront, with optional extra env per service. */
export async function startBookshop(
  options: {
    reviewsVersion?: 'v1' | 'v2' | 'v3';
    env?: Partial<Record<ServiceEntry, Record<string, string>>>;
  } = {},
): Promise<Bookshop> {
  const env = options.env ?? {};
  const [ratings, catalog] = await Promise.all([
    startService('ratings', env.ratings),
    startService('catalog', env.catalog),
  ]);
  const reviews = await startService('reviews', {
    REVIEWS_VERSION: options.reviewsVersion ?? 'v2',
    RATINGS_URL: ratings.url,
    ...env.reviews,
  });
  const storefront = await startService('storefront', {
    CATALOG_URL: catalog.url,
    REVIEWS_URL: reviews.url,
    ...env.storefront,
  });
  return { ratings, reviews, catalog, storefront };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly reusedSocket: boolean;
}

/** GET with a time limit; rejects with the socket error (error.code, e.g. ECONNREFUSED). */
export function get(
  url: string,
  options: {
    headers?: Record<string, string>;
    agent?: Agent | false;
    timeoutMs?: number;
    method?: string;
  } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: options.agent,
      timeout: options.timeoutMs ?? 5000,
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    req.end();
  });
}

export async function getJson(
  url: string,
  options: Parameters<typeof get>[1] = {},
): Promise<HttpResult & { json: Record<string, unknown> }> {
  const result = await get(url, options);
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}

/** A URL on 127.0.0.1 where nothing listens (a port just released by the system). */
export function closedPortUrl(): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
}

/** The repository checkout: the folder holding services/ (searched upwards from here, then the cwd). */
export function repoRoot(): string {
  const candidates: string[] = [];
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 8; i++, dir = dirname(dir))
    candidates.push(dir);
  candidates.push(process.cwd());
  const root = candidates.find((dir) => existsSync(join(dir, 'services', 'storefront', 'Dockerfile')));
  if (root === undefined) throw new Error('cannot find the repository root (services/storefront/Dockerfile)');
  return root;
}

/** Runs a service that is expected to stop by itself (e.g. on bad configuration). */
export function runToExit(
  entry: ServiceEntry,
  env: Record<string, string>,
  timeoutMs = 5000,
): Promise<{ code: number | null; stdout: string }> {
  const child = spawnNode(join(SERVICES_BUILD, entry, 'main.js'), { HOST: '127.0.0.1', PORT: '0', ...env });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}
