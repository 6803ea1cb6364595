/**
 * npm run new-app -- <name> [--root <dir>]
 *
 * Scaffolds an app of your own, registered and ready to synthesize: two services (web → api) built
 * from Dockerfiles it writes, a chart with least-privilege authorization, routes and an ingress,
 * three environments, its MeshAppDefinition, a test, and the entry in charts/apps.ts. Every check
 * runs before anything is written: a refused name writes nothing.
 *
 * --root <dir> works on another checkout of this project than the one the tool is compiled in
 * (built: it reads <dir>/lib/charts/index.js for the registered apps). Tests use it on a copy.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { refuseRepeatedOptions } from './mesh/options.js';

/** The folder of package.json this tool belongs to. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The base image of the services, pinned as services/<name>/Dockerfile pin it (a test keeps them equal). */
export const NODE_IMAGE = 'node:24.19.0-alpine3.24';

/** Where charts/apps.ts takes new imports and new registry entries: new-app inserts above these lines. */
export const IMPORT_MARKER = '// new-app: imports (npm run new-app adds one line above this one)';
export const ENTRY_MARKER = '// new-app: apps (npm run new-app adds one entry above this one)';

/**
 * Namespaces an app must not take: Kubernetes' own, and Istio's root namespace, where policies
 * would apply to the whole mesh.
 */
const RESERVED = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'istio-system']);

const USAGE = `usage: npm run new-app -- <name> [--root <dir>]
  <name>        the app's name: a DNS label that starts with a letter, e.g. orders; also its
                namespace, its chart folder charts/<name>/ and its images <name>-web, <name>-api
  --root <dir>  the project to write into (a built checkout of mesh-kit)
                default: the project this tool belongs to
  -h, --help    this text
writes charts/<name>/{chart,environments,app}.ts, apps-src/<name>/{web,api}/{Dockerfile,server.mjs},
test/apps/<name>.test.ts, and registers the app in charts/apps.ts`;

/** A refusal: the message goes to stderr and the tool exits 2, having written nothing. */
export class NewAppError extends Error {}

export interface Scaffold {
  /** Files to create, by path relative to the root. */
  readonly files: ReadonlyMap<string, string>;
  /** The new text of charts/apps.ts. */
  readonly registry: string;
}

/** How the app's name is spelled in TypeScript: `my-shop` → MY_SHOP, MyShop. */
export function identifiers(name: string): { constant: string; pascal: string } {
  return {
    constant: name.toUpperCase().replace(/-/g, '_'),
    pascal: name
      .split('-')
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join(''),
  };
}

/** Refuses a name that cannot be an app's name, whatever the project holds. */
export function checkName(name: string): void {
  // A DNS label (the namespace), starting with a letter (TypeScript identifiers and Service names).
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
    throw new NewAppError(
      `"${name}" is not an app name; use a DNS label that starts with a letter: at most 63 lower-case letters, digits and "-", e.g. orders`,
    );
  }
  if (RESERVED.has(name) || name.startsWith('kube-')) {
    throw new NewAppError(
      `"${name}" is a namespace Kubernetes or Istio keeps for itself, and the app's name is its namespace; choose another name`,
    );
  }
}

/**
 * Everything new-app would write into `root`, after every check; refuses (NewAppError) a
 * registered name, existing files and a charts/apps.ts without the markers.
 */
export function plan(root: string, name: string, registered: readonly string[]): Scaffold {
  checkName(name);
  if (registered.includes(name)) {
    throw new NewAppError(`app "${name}" is already registered in charts/apps.ts; choose another name`);
  }
  const files = scaffoldFiles(name);
  const folders = [`charts/${name}`, `apps-src/${name}`];
  for (const path of [...folders, ...files.keys()]) {
    if (existsSync(join(root, path))) {
      throw new NewAppError(`${path} already exists; choose another name, or move it away first`);
    }
  }
  const appsFile = join(root, 'charts', 'apps.ts');
  if (!existsSync(appsFile)) {
    throw new NewAppError(`${appsFile} does not exist; --root must be a checkout of this project`);
  }
  return { files, registry: register(readFileSync(appsFile, 'utf8'), name) };
}

/**
 * charts/apps.ts with the app's import and registry entry, each added above its marker. Refuses a
 * file without both markers, or one that imports the app already.
 */
export function register(text: string, name: string): string {
  const { constant } = identifiers(name);
  const importLine = `import { ${constant}_APP } from './${name}/app.js';`;
  if (text.includes(`'./${name}/app.js'`)) {
    throw new NewAppError(`charts/apps.ts already imports ./${name}/app.js; choose another name`);
  }
  const lines = text.split('\n');
  const at = (marker: string) => {
    const found = lines.flatMap((line, i) => (line.trim() === marker ? [i] : []));
    if (found.length !== 1) {
      throw new NewAppError(
        `charts/apps.ts has ${found.length === 0 ? 'no' : 'more than one'} line "${marker}"; put it back once (see README, "Your own app in five minutes"), or register the app by hand`,
      );
    }
    return found[0]!;
  };
  const entry = at(ENTRY_MARKER);
  const indent = /^\s*/.exec(lines[entry]!)![0];
  lines.splice(entry, 0, `${indent}${constant}_APP,`);
  const imports = at(IMPORT_MARKER);
  lines.splice(imports, 0, importLine);
  return lines.join('\n');
}

/** Formats TypeScript and JavaScript as `npm run lint` wants it, with the project's prettier. */
async function format(root: string, path: string, text: string): Promise<string> {
  if (!/\.(ts|mjs)$/.test(path)) return text;
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(join(root, path))) ?? {};
  return prettier.format(text, { ...options, filepath: join(root, path) });
}

/** Writes the scaffold; on a failed write, removes what it wrote and restores charts/apps.ts. */
export function write(root: string, scaffold: Scaffold): string[] {
  const appsFile = join(root, 'charts', 'apps.ts');
  const before = readFileSync(appsFile, 'utf8');
  const created: string[] = [];
  try {
    for (const [path, text] of scaffold.files) {
      const full = join(root, path);
      for (let dir = dirname(full); !existsSync(dir); dir = dirname(dir)) created.push(dir);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text, { flag: 'wx' });
      created.push(full);
    }
    writeFileSync(appsFile, scaffold.registry);
  } catch (e) {
    for (const path of created.reverse()) rmSync(path, { recursive: true, force: true });
    writeFileSync(appsFile, before);
    throw e;
  }
  return [...scaffold.files.keys(), 'charts/apps.ts'];
}

/** The names of the apps registered in a built checkout. */
async function registeredApps(root: string): Promise<string[]> {
  const compiled = join(root, 'lib', 'charts', 'index.js');
  if (!existsSync(compiled)) {
    throw new NewAppError(`${compiled} does not exist; build that project first (npm run build in ${root})`);
  }
  const { APPS } = (await import(pathToFileURL(compiled).href)) as { APPS: { apps: { name: string }[] } };
  return APPS.apps.map((a) => a.name);
}

export async function main(argv: string[]): Promise<number> {
  let name: string;
  let root: string;
  try {
    const options = { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
    const { values, positionals, tokens } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    refuseRepeatedOptions(tokens, options);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new Error(positionals.length === 0 ? 'give the app a name' : 'give exactly one name');
    }
    if (values.root?.trim() === '') throw new Error('--root needs a folder path, not an empty string');
    name = positionals[0]!;
    root = resolve(values.root ?? PROJECT_ROOT);
  } catch (e) {
    console.error(`new-app: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    checkName(name);
    const scaffold = plan(root, name, await registeredApps(root));
    const formatted = new Map<string, string>();
    for (const [path, text] of scaffold.files) formatted.set(path, await format(root, path, text));
    const registry = await format(root, 'charts/apps.ts', scaffold.registry);
    const written = write(root, { files: formatted, registry });
    const shown = relative(process.cwd(), root) || '.';
    console.log(
      [
        `new-app: wrote app "${name}" in ${shown}`,
        ...written.map((f) => `  ${f}`),
        'next:',
        `  npm run synth -- --app ${name} --env dev    # YAML in dist/${name}/dev/`,
        `  npm test                                    # runs test/apps/${name}.test.ts with the rest`,
        `  edit charts/${name}/chart.ts (services, calls, routes) and charts/${name}/environments.ts`,
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    if (!(e instanceof NewAppError)) throw e;
    console.error(`new-app: ${e.message}; nothing written`);
    return 2;
  }
}

/** The files of app `name`, by path relative to the project root. */
export function scaffoldFiles(name: string): Map<string, string> {
  const { constant: C, pascal: P } = identifiers(name);
  const files = new Map<string, string>();
  files.set(`charts/${name}/chart.ts`, chartTs(name, C, P));
  files.set(`charts/${name}/environments.ts`, environmentsTs(name, C, P));
  files.set(`charts/${name}/app.ts`, appTs(name, C, P));
  for (const service of ['web', 'api'] as const) {
    files.set(`apps-src/${name}/${service}/Dockerfile`, dockerfile(name, service));
    files.set(
      `apps-src/${name}/${service}/server.mjs`,
      service === 'web' ? webServer(name) : apiServer(name),
    );
  }
  files.set(`test/apps/${name}.test.ts`, testTs(name, C, P));
  return files;
}

function chartTs(name: string, C: string, P: string): string {
  return `/**
 * The ${name} app: web → api behind an Istio ingress gateway. Scaffolded by \`npm run new-app\` and
 * yours to change: add services with \`new Microservice(...)\`, declare who calls whom with \`calls\`
 * (authorization and Sidecar egress follow), route with \`addRoute\`. What differs between
 * environments is in environments.ts; the services' code is in apps-src/${name}/.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  DataPlane,
  Duration,
  IstioIngress,
  MeshNamespace,
  Microservice,
  type MicroserviceProps,
  Probe,
  ServicePort,
} from '../../constructs/index.js';
import { ${C}_ENVIRONMENTS, ${C}_TIMEOUTS, type ${P}Environment } from './environments.js';

/** The app's services, each built from apps-src/${name}/<service>/Dockerfile into image \`${name}-<service>\`. */
export const ${C}_SERVICES = ['web', 'api'] as const;
export type ${P}Service = (typeof ${C}_SERVICES)[number];

/** The port both services listen on (their server.mjs reads PORT). */
const PORT = 8080;

export interface ${P}ChartProps extends ChartProps {
  /** Which environment's configuration to synthesize. */
  readonly environment: ${P}Environment['name'] | ${P}Environment;
  /**
   * Image reference per service, replacing \`<registry>/${name}-<service>:<tag>\` (the Pulumi stacks
   * pass the images they built, by digest).
   * @default the environment's registry and tag
   */
  readonly images?: Partial<Record<${P}Service, string>>;
  /**
   * The data plane of the namespace.
   * @default DataPlane.sidecar()
   */
  readonly dataPlane?: DataPlane;
}

/** web → api in namespace \`${name}\`; end users reach web through the ingress gateway. */
export class ${P}Chart extends Chart {
  public readonly env: ${P}Environment;
  public readonly meshNamespace: MeshNamespace;
  public readonly web: Microservice<'v1'>;
  public readonly api: Microservice<'v1'>;

  constructor(scope: Construct, id: string, props: ${P}ChartProps) {
    super(scope, id, props);
    const env = typeof props.environment === 'string' ? ${C}_ENVIRONMENTS[props.environment] : props.environment;
    if (!env) {
      throw new Error(
        \`${P}Chart \${id}: unknown environment "\${String(props.environment)}"; use one of \${Object.keys(${C}_ENVIRONMENTS).join(', ')}\`,
      );
    }
    this.env = env;
    const image = (service: ${P}Service) =>
      props.images?.[service] ?? \`\${env.imageRegistry}/${name}-\${service}:\${env.imageTag}\`;

    this.meshNamespace = new MeshNamespace(this, 'namespace', {
      name: env.namespace,
      dataPlane: props.dataPlane ?? DataPlane.sidecar(),
      tracing: { samplingPercentage: env.tracingSamplingPercentage },
      accessLogging: {},
      labels: { environment: env.name },
    });

    const common = (
      service: ${P}Service,
      extra: Record<string, string> = {},
    ): Omit<MicroserviceProps<'v1'>, 'versions'> => ({
      namespace: this.meshNamespace,
      image: image(service),
      ports: [ServicePort.http(PORT)],
      // After SIGTERM the server answers readiness with 503 for DRAIN_DELAY_MS while Kubernetes
      // takes the pod out of the endpoints, then finishes what is in flight and exits.
      env: { PORT: String(PORT), DRAIN_DELAY_MS: '5000', ...extra },
      resources: env.resources,
      replicas: env.autoscaling ? undefined : env.replicas,
      autoscaling: env.autoscaling,
      disruptionBudget: env.minAvailable === undefined ? undefined : { minAvailable: env.minAvailable },
      probes: {
        readiness: Probe.httpGet('/readyz', PORT, { period: Duration.seconds(5) }),
        liveness: Probe.httpGet('/healthz', PORT, { period: Duration.seconds(10), failureThreshold: 3 }),
      },
      terminationGracePeriod: Duration.seconds(30),
    });

    this.api = new Microservice(this, 'api', {
      ...common('api'),
      versions: { v1: { env: { SERVICE_VERSION: 'v1' } } },
    });
    this.web = new Microservice(this, 'web', {
      ...common('web', {
        API_URL: \`http://\${this.meshNamespace.fqdn('api')}:\${PORT}\`,
        // web gives up when the mesh would: at the route's timeout.
        UPSTREAM_TIMEOUT_MS: String(${C}_TIMEOUTS.api.toMilliseconds()),
      }),
      versions: { v1: { env: { SERVICE_VERSION: 'v1' } } },
      // The front door: each web pod's proxy answers 429 beyond this many requests a second.
      localRateLimit: { bucket: { maxTokens: env.webRequestsPerSecond, fillInterval: Duration.seconds(1) } },
    });

    // The call graph: api admits web's identity, for GET /hello only (api's AuthorizationPolicy;
    // the namespace denies everything else), and web's Sidecar can reach api.
    this.web.calls(this.api, { methods: ['GET'], paths: ['/hello'] });

    // Routing: a deadline per hop, and retries of what is safe to retry.
    this.api.addRoute({
      to: this.api.version('v1'),
      timeout: ${C}_TIMEOUTS.api,
      retries: { attempts: 2, perTryTimeout: Duration.millis(500), retryOn: ['5xx', 'connect-failure', 'reset'] },
    });
    this.web.addRoute({ to: this.web.version('v1'), timeout: ${C}_TIMEOUTS.web });

    // End users reach web through the ingress gateway, which web admits.
    new IstioIngress(this, 'ingress', {
      namespace: this.meshNamespace,
      name: '${name}',
      hosts: env.ingressHosts,
      tls: env.tlsCredentialName ? { credentialName: env.tlsCredentialName } : undefined,
    }).addRoute({ to: this.web, timeout: ${C}_TIMEOUTS.web });
  }
}
`;
}

function environmentsTs(name: string, C: string, P: string): string {
  return `import { type Autoscaling, Cpu, Duration, type Resources, Size } from '../../constructs/index.js';

/** Everything that differs between ${name}'s environments; the chart itself is written once. */
export interface ${P}Environment {
  readonly name: 'dev' | 'staging' | 'prod';
  /** Namespace of the app's services. */
  readonly namespace: string;
  /** Where the images live: \`<registry>/${name}-<service>:<tag>\`. */
  readonly imageRegistry: string;
  readonly imageTag: string;
  /**
   * Fixed replicas of each service (without autoscaling).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Autoscaling of each service on CPU (instead of fixed replicas).
   * @default none
   */
  readonly autoscaling?: Autoscaling;
  /**
   * Keep this many pods of each service through voluntary disruptions (node drains).
   * @default no PodDisruptionBudget
   */
  readonly minAvailable?: number;
  readonly resources: Resources;
  /** Share of requests traced, in percent: everything in dev, a sample in prod. */
  readonly tracingSamplingPercentage: number;
  /** External host names of web. */
  readonly ingressHosts: readonly string[];
  /**
   * TLS certificate Secret of the ingress gateway (in istio-system).
   * @default none: plain HTTP
   */
  readonly tlsCredentialName?: string;
  /** Requests a second each web pod accepts (token bucket refilled every second). */
  readonly webRequestsPerSecond: number;
}

const SMALL: Resources = {
  cpu: { request: Cpu.millis(25), limit: Cpu.millis(250) },
  memory: { request: Size.mebibytes(48), limit: Size.mebibytes(128) },
};
const MEDIUM: Resources = {
  cpu: { request: Cpu.millis(100), limit: Cpu.millis(500) },
  memory: { request: Size.mebibytes(96), limit: Size.mebibytes(256) },
};

/**
 * The three environments. dev pulls from kind's local registry; staging and prod from where CI
 * pushes (the Pulumi stacks replace every image with the digest they built).
 */
export const ${C}_ENVIRONMENTS: Record<${P}Environment['name'], ${P}Environment> = {
  dev: {
    name: 'dev',
    namespace: '${name}',
    imageRegistry: 'localhost:5001',
    imageTag: 'dev',
    replicas: 1,
    resources: SMALL,
    tracingSamplingPercentage: 100,
    ingressHosts: ['${name}.localhost'],
    webRequestsPerSecond: 50,
  },
  staging: {
    name: 'staging',
    namespace: '${name}',
    imageRegistry: 'registry.example.com/${name}',
    imageTag: '0.1.0',
    replicas: 2,
    minAvailable: 1,
    resources: SMALL,
    tracingSamplingPercentage: 10,
    ingressHosts: ['${name}.staging.example.com'],
    tlsCredentialName: '${name}-staging-tls',
    webRequestsPerSecond: 100,
  },
  prod: {
    name: 'prod',
    namespace: '${name}',
    imageRegistry: 'registry.example.com/${name}',
    imageTag: '0.1.0',
    autoscaling: { minReplicas: 2, maxReplicas: 6, cpuUtilization: 70 },
    minAvailable: 1,
    resources: MEDIUM,
    tracingSamplingPercentage: 1,
    ingressHosts: ['${name}.example.com'],
    tlsCredentialName: '${name}-tls',
    webRequestsPerSecond: 200,
  },
};

/** How long callers wait for each hop: the routes' timeouts, and web's own client timeout. */
export const ${C}_TIMEOUTS = {
  web: Duration.seconds(5),
  api: Duration.seconds(2),
};
`;
}

function appTs(name: string, C: string, P: string): string {
  return `/**
 * The app "${name}" as the tools and the stacks see it (\`npm run synth -- --app ${name} --env dev\`),
 * registered in charts/apps.ts.
 */
import { ImageSource, MeshAppDefinition } from '../../constructs/index.js';
import { ${C}_SERVICES, ${P}Chart } from './chart.js';
import { ${C}_ENVIRONMENTS, type ${P}Environment } from './environments.js';

export const ${C}_APP = MeshAppDefinition.define({
  name: '${name}',
  description: 'web → api, built from apps-src/${name}/',
  variantFlag: 'env',
  variants: Object.keys(${C}_ENVIRONMENTS),
  defaultVariant: 'dev',
  // Each service's folder is its build context: apps-src/${name}/<service>/Dockerfile.
  images: Object.fromEntries(
    ${C}_SERVICES.map((service) => [service, ImageSource.fromDockerfile({ context: \`apps-src/${name}/\${service}\` })]),
  ),
  build: (app, variant, options) =>
    new ${P}Chart(app, '${name}', {
      environment: variant as ${P}Environment['name'],
      images: options.images,
      dataPlane: options.dataPlane,
    }),
});
`;
}

function dockerfile(name: string, service: 'web' | 'api'): string {
  return `# The ${service} service of ${name}. Build with its folder as the context:
#   docker build -t localhost:5001/${name}-${service}:dev apps-src/${name}/${service}
# One stage: a single JavaScript file without dependencies, so nothing to install or compile. The
# base is pinned as services/*/Dockerfile pin it; the image runs as a numeric non-root user and
# writes nothing, so it works with readOnlyRootFilesystem: true.

ARG NODE_IMAGE=${NODE_IMAGE}

FROM \${NODE_IMAGE}
# The package managers are not needed to run the service: drop them from the image.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \\
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production \\
    HOST=0.0.0.0 \\
    PORT=8080
WORKDIR /app
COPY server.mjs ./
USER 10001:10001
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM itself (graceful shutdown in server.mjs).
CMD ["node", "server.mjs"]
`;
}

/** What both servers share: config from the environment, JSON logs and responses, health, shutdown. */
function serverCommon(service: string): string {
  return `const SERVICE = '${service}';
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '0.0.0.0';
const VERSION = process.env.SERVICE_VERSION ?? 'dev';
const DRAIN_DELAY_MS = Number(process.env.DRAIN_DELAY_MS ?? 0);

/** One JSON line per event on stdout. */
function log(msg, fields = {}) {
  process.stdout.write(\`\${JSON.stringify({ time: new Date().toISOString(), service: SERVICE, msg, ...fields })}\\n\`);
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(\`\${JSON.stringify(body)}\\n\`);
}

let draining = false;

/** Liveness and readiness; true when the request was one of them. */
function health(path, res) {
  if (path === '/healthz') send(res, 200, { status: 'ok' });
  else if (path === '/readyz') send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ready' });
  else return false;
  return true;
}

/** Listens, and on SIGTERM fails readiness, keeps serving DRAIN_DELAY_MS, then drains and exits. */
function start(server) {
  server.listen(PORT, HOST, () => log('listening', { port: server.address().port, version: VERSION }));
  process.once('SIGTERM', async () => {
    draining = true;
    log('draining', { delayMs: DRAIN_DELAY_MS });
    await sleep(DRAIN_DELAY_MS);
    server.close(() => {
      log('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  });
}
`;
}

function apiServer(name: string): string {
  return `// The api service of ${name}: GET /hello answers with JSON. Scaffolded by \`npm run new-app\`;
// put your own handlers in place of /hello (and update the calls() rule in charts/${name}/chart.ts).
// Environment: PORT (default 8080), HOST (default 0.0.0.0), SERVICE_VERSION, DRAIN_DELAY_MS.
import http from 'node:http';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';

${serverCommon('api')}
const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (health(path, res)) return;
  log('request', { method: req.method, path, requestId: req.headers['x-request-id'], traceparent: req.headers.traceparent });
  if (req.method === 'GET' && path === '/hello') {
    send(res, 200, { service: SERVICE, version: VERSION, message: 'hello from api' });
  } else {
    send(res, 404, { service: SERVICE, error: \`no route for \${req.method} \${path}\` });
  }
});

start(server);
`;
}

function webServer(name: string): string {
  return `// The web service of ${name}: GET / calls api's GET /hello and answers with both. Scaffolded by
// \`npm run new-app\`; yours to change.
// Environment: PORT (default 8080), HOST (default 0.0.0.0), SERVICE_VERSION, DRAIN_DELAY_MS,
// API_URL (api's base URL), UPSTREAM_TIMEOUT_MS (how long to wait for api, default 2000).
import http from 'node:http';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';

${serverCommon('web')}
const API_URL = process.env.API_URL ?? 'http://api:8080';
const UPSTREAM_TIMEOUT_MS = Number(process.env.UPSTREAM_TIMEOUT_MS ?? 2000);

// The proxies create the spans, but only the application knows which outgoing call belongs to which
// incoming request: it copies these headers onto every call it makes, or the trace falls apart
// (Istio docs, "Distributed tracing").
const TRACE_HEADERS = [
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
];

/** GET \`path\` on api, with the trace headers of \`incoming\`; resolves with status and body. */
function callApi(path, incoming) {
  const headers = {};
  for (const name of TRACE_HEADERS) {
    const value = incoming[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return new Promise((resolve, reject) => {
    const req = http.get(\`\${API_URL}\${path}\`, { headers, timeout: UPSTREAM_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(\`no answer within \${UPSTREAM_TIMEOUT_MS} ms\`)));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (health(path, res)) return;
  log('request', { method: req.method, path, requestId: req.headers['x-request-id'], traceparent: req.headers.traceparent });
  if (req.method !== 'GET' || path !== '/') {
    send(res, 404, { service: SERVICE, error: \`no route for \${req.method} \${path}\` });
    return;
  }
  try {
    const api = await callApi('/hello', req.headers);
    if (api.status !== 200) {
      send(res, 502, { service: SERVICE, error: \`api answered \${api.status}\` });
      return;
    }
    send(res, 200, { service: SERVICE, version: VERSION, api: JSON.parse(api.body) });
  } catch (e) {
    log('api failed', { error: e.message });
    send(res, 502, { service: SERVICE, error: \`api failed: \${e.message}\` });
  }
});

start(server);
`;
}

function testTs(name: string, C: string, P: string): string {
  return `import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import { APPS } from '../../charts/index.js';
import { ${C}_APP } from '../../charts/${name}/app.js';
import { ${C}_ENVIRONMENTS, type ${P}Environment } from '../../charts/${name}/environments.js';
import { renderObjects } from '../../constructs/index.js';
import { validateObjects } from '../support/schema.js';
import { all, find, type Manifest } from '../support/synth.js';

describe('app ${name}', () => {
  it('is registered', () => {
    assert.equal(APPS.get('${name}'), ${C}_APP);
  });

  for (const variant of ${C}_APP.variants) {
    const env = ${C}_ENVIRONMENTS[variant as ${P}Environment['name']];
    it(\`--env \${variant}: web → api, least-privilege authorization, routes and the ingress\`, () => {
      const app = Testing.app();
      ${C}_APP.build(app, variant);
      // Validated and admitted as synth writes them, and against the Kubernetes and Istio schemas.
      const objects = validateObjects(renderObjects(app)) as Manifest[];

      for (const service of ['web', 'api']) {
        const deployment = find(objects, 'Deployment', \`\${service}-v1\`);
        assert.equal(deployment.metadata.namespace, '${name}');
        assert.deepEqual(deployment.spec.template.metadata.labels, { app: service, version: 'v1' });
        assert.equal(
          deployment.spec.template.spec.containers[0].image,
          \`\${env.imageRegistry}/${name}-\${service}:\${env.imageTag}\`,
        );
        assert.deepEqual(find(objects, 'Service', service).spec.selector, { app: service });
        assert.equal(find(objects, 'ServiceAccount', service).metadata.name, service);
      }

      // api admits web's identity, for GET /hello, and nobody else.
      const allowApi = find(objects, 'AuthorizationPolicy', 'api-allow-callers');
      assert.deepEqual(allowApi.spec.selector, { matchLabels: { app: 'api' } });
      assert.deepEqual(allowApi.spec.rules, [
        {
          from: [{ source: { principals: ['cluster.local/ns/${name}/sa/web'] } }],
          to: [{ operation: { methods: ['GET'], paths: ['/hello'] } }],
        },
      ]);

      // web admits the ingress gateway only, and rate-limits in its own proxy.
      const allowWeb = find(objects, 'AuthorizationPolicy', 'web-allow-callers');
      assert.deepEqual(allowWeb.spec.rules, [
        { from: [{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway'] } }] },
      ]);
      const rateLimit = find(objects, 'EnvoyFilter', 'web-local-ratelimit');
      assert.deepEqual(rateLimit.spec.workloadSelector, { labels: { app: 'web' } });
      assert.match(JSON.stringify(rateLimit.spec), new RegExp(\`"max_tokens":\${env.webRequestsPerSecond}[,}]\`));

      // api's route: a deadline and retries.
      const [route] = find(objects, 'VirtualService', 'api').spec.http;
      assert.equal(route.timeout, '2s');
      assert.deepEqual(route.retries, { attempts: 2, perTryTimeout: '500ms', retryOn: '5xx,connect-failure,reset' });
      assert.deepEqual(route.route, [{ destination: { host: 'api.${name}.svc.cluster.local', subset: 'v1' } }]);

      // The ingress: the environment's hosts, to web.
      const ingress = all(objects, 'VirtualService').find((vs) => vs.spec.gateways !== undefined);
      assert.ok(ingress, 'a VirtualService bound to the ingress gateway');
      assert.deepEqual(ingress.spec.hosts, env.ingressHosts);
      assert.equal(ingress.spec.http[0].route[0].destination.host, 'web.${name}.svc.cluster.local');

      // Scaling: autoscaled where the environment says so, fixed replicas elsewhere.
      const autoscalers = all(objects, 'HorizontalPodAutoscaler').map((h) => h.metadata.name);
      assert.deepEqual(autoscalers.sort(), env.autoscaling ? ['api-v1', 'web-v1'] : []);
      assert.equal(all(objects, 'PodDisruptionBudget').length, env.minAvailable === undefined ? 0 : 2);
    });
  }
});
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
