// `npm run dev`: every bookshop service on 127.0.0.1, wired together, until Ctrl-C or SIGTERM.
//
//   storefront  DEV_PORT_BASE + 0  (18080)   catalog     DEV_PORT_BASE + 1  (18081)
//   reviews v1  DEV_PORT_BASE + 2  (18082)   reviews v2  DEV_PORT_BASE + 3  (18083)
//   reviews v3  DEV_PORT_BASE + 4  (18084)   ratings     DEV_PORT_BASE + 5  (18085)
//
// The storefront calls the three reviews versions in turn; DEV_REVIEWS_VERSION=v2 (or v1, v3) pins one.
// DEV_PORT_BASE=0 lets the system pick free ports. Other variables (LATENCY_MS, FAIL_RATE, ...) pass
// through to every service. Services start leaf first, each once it listens; logs are JSON lines.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, readChoice, readInt } from './shared/config.js';
import { errorMessage } from './shared/log.js';

interface Planned {
  readonly label: string;
  readonly entry: 'storefront' | 'catalog' | 'reviews' | 'ratings';
  readonly offset: number;
  readonly env: (urls: ReadonlyMap<string, string>) => Record<string, string>;
}

interface Running {
  readonly label: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 30_000;

function reviewsUrls(urls: ReadonlyMap<string, string>, pinned: string | undefined): string {
  const labels = pinned === undefined ? ['reviews-v1', 'reviews-v2', 'reviews-v3'] : [`reviews-${pinned}`];
  return labels.map((label) => urls.get(label) ?? '').join(',');
}

function plan(pinned: string | undefined): Planned[] {
  const reviews = (version: string, offset: number): Planned => ({
    label: `reviews-${version}`,
    entry: 'reviews',
    offset,
    env: (urls) => ({
      REVIEWS_VERSION: version,
      SERVICE_VERSION: version,
      RATINGS_URL: urls.get('ratings') ?? '',
    }),
  });
  return [
    { label: 'ratings', entry: 'ratings', offset: 5, env: () => ({}) },
    reviews('v1', 2),
    reviews('v2', 3),
    reviews('v3', 4),
    { label: 'catalog', entry: 'catalog', offset: 1, env: () => ({}) },
    {
      label: 'storefront',
      entry: 'storefront',
      offset: 0,
      env: (urls) => ({ CATALOG_URL: urls.get('catalog') ?? '', REVIEWS_URL: reviewsUrls(urls, pinned) }),
    },
  ];
}

/** Starts one service and resolves with its URL once it logs that it listens. */
function start(
  planned: Planned,
  port: number,
  env: Record<string, string>,
): Promise<Running & { url: string }> {
  const main = fileURLToPath(new URL(`./${planned.entry}/main.js`, import.meta.url));
  const inherited = { ...process.env };
  for (const name of ['SERVICE_NAME', 'SERVICE_VERSION', 'CATALOG_URL', 'REVIEWS_URL', 'RATINGS_URL']) {
    delete inherited[name];
  }
  const child = spawn(process.execPath, [main], {
    env: { ...inherited, ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${planned.label} did not listen within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${planned.label} exited with code ${code} while starting`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      process.stdout.write(`${line}\n`);
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (
        typeof entry === 'object' &&
        entry !== null &&
        'msg' in entry &&
        entry.msg === 'listening' &&
        'url' in entry
      ) {
        clearTimeout(timer);
        resolve({ label: planned.label, child, exited, url: String(entry.url) });
      }
    });
  });
}

const USAGE = `usage: npm run dev
Runs every bookshop service on 127.0.0.1 until Ctrl-C or SIGTERM. It takes no options; environment:
  DEV_PORT_BASE=18080        first port (0: the system picks free ports)
  DEV_REVIEWS_VERSION=all    v1, v2 or v3 pins the version the storefront calls
  LATENCY_MS, FAIL_RATE, ... pass through to every service (see services/README.md)`;

async function main(): Promise<void> {
  try {
    const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      console.log(USAGE);
      return;
    }
  } catch (error) {
    console.error(`dev: ${errorMessage(error)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  let base: number;
  let pinned: string | undefined;
  try {
    base = readInt(process.env, 'DEV_PORT_BASE', 18080, 0, 65530);
    const version = readChoice(process.env, 'DEV_REVIEWS_VERSION', ['v1', 'v2', 'v3', 'all'], 'all');
    pinned = version === 'all' ? undefined : version;
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
    return;
  }

  const running: Running[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (code: number): Promise<void> => {
    stopping ??= (async () => {
      for (const { child } of running)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref(),
      );
      const codes = await Promise.race([Promise.all(running.map((service) => service.exited)), timeout]);
      const clean = codes !== 'timeout' && codes.every((exitCode) => exitCode === 0);
      console.log(clean ? 'bookshop: all services stopped' : 'bookshop: some services did not stop cleanly');
      process.exit(clean ? code : 1);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const urls = new Map<string, string>();
  try {
    for (const planned of plan(pinned)) {
      const service = await start(planned, base === 0 ? 0 : base + planned.offset, planned.env(urls));
      running.push(service);
      urls.set(planned.label, service.url);
      void service.exited.then((code) => {
        if (stopping === undefined) {
          console.error(`bookshop: ${service.label} exited with code ${code}; stopping the others`);
          void stop(1);
        }
      });
    }
  } catch (error) {
    console.error(`bookshop: ${errorMessage(error)}`);
    await stop(1);
    return;
  }

  const storefront = urls.get('storefront') ?? '';
  console.log(
    [
      '',
      'bookshop is running:',
      `  storefront   ${storefront}/  ${storefront}/api/books  ${storefront}/admin`,
      `  catalog      ${urls.get('catalog')}/books`,
      `  reviews v1   ${urls.get('reviews-v1')}/reviews/1`,
      `  reviews v2   ${urls.get('reviews-v2')}/reviews/1`,
      `  reviews v3   ${urls.get('reviews-v3')}/reviews/1`,
      `  ratings      ${urls.get('ratings')}/ratings/1`,
      `  storefront → reviews: ${pinned ?? 'v1, v2, v3 in turn'}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

await main();
