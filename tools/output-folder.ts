/**
 * Where `npm run synth` may write. Synth replaces its output folder as a whole (stage, then rename),
 * so a wrong `--out` would delete whatever was there: the current directory, a file, a folder of
 * other work. It therefore replaces only a folder it made itself, recognized by the marker file it
 * leaves in each one, and refuses everything else before it synthesizes anything.
 */
import { lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** The file synth leaves in every folder it writes; kubectl reads only .yaml/.yml/.json, not this. */
export const OUTPUT_MARKER = '.mesh-kit-synth';

/** The names of the files synth writes: `<NN>-<group>.k8s.yaml`. */
const SYNTH_FILE = /^\d+-[A-Za-z0-9_.-]+\.k8s\.yaml$/;

export class OutputFolderError extends Error {}

export interface OutputCheck {
  /** The folder to write, absolute. */
  readonly out: string;
  /** The current working directory (its ancestors, itself and the project root are never replaced). */
  readonly cwd: string;
  /** The project root (the folder of package.json), never replaced. */
  readonly projectRoot: string;
  /**
   * Whether the folder is the default `dist/<app>/<variant>`: output written there before synth
   * marked its folders (only `<NN>-<group>.k8s.yaml` files, no marker) is taken as synth's own.
   */
  readonly isDefault: boolean;
  /**
   * `--out` as the user wrote it, for messages.
   * @default `out` relative to `cwd` when inside it, else absolute
   */
  readonly given?: string;
}

/**
 * Throws an OutputFolderError saying why `out` must not be replaced, or returns when it is safe:
 * it does not exist yet, is an empty folder, or is a folder synth wrote and nobody added to.
 */
export function checkOutputFolder(c: OutputCheck): void {
  const out = resolve(c.out);
  const shown = shownOut(out, c.cwd, c.given);
  const refuse = (why: string, fix: string): never => {
    throw new OutputFolderError(`--out ${shown}: ${why}; ${fix}`);
  };
  const fresh = 'name a new folder (synth creates it), e.g. --out dist/manifests';
  // Compare real paths, so that a symbolic link to the working directory counts as the directory.
  const real = realPathOfExistingPart(out);
  for (const [what, path] of [
    ['the current directory', c.cwd],
    ['the project root', c.projectRoot],
  ] as const) {
    const p = realPathOfExistingPart(path);
    if (real === p) refuse(`is ${what}, which synth would replace with manifests`, fresh);
    if (isInside(p, real)) refuse(`contains ${what}, which synth would replace with manifests`, fresh);
  }
  let stat;
  try {
    stat = lstatSync(out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return checkParent(out, refuse);
    return refuse(`cannot be read (${code})`, fresh);
  }
  if (stat.isSymbolicLink()) refuse('is a symbolic link', 'name the folder itself, or a new folder');
  if (!stat.isDirectory()) refuse('is an existing file, which synth would delete', fresh);
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  const foreign = entries.filter((f) => f !== OUTPUT_MARKER && !SYNTH_FILE.test(f));
  if (!entries.includes(OUTPUT_MARKER) && !(c.isDefault && foreign.length === 0)) {
    refuse(
      `is a folder that synth did not create (it has no ${OUTPUT_MARKER} file), and replacing it would delete ${listed(entries)}`,
      `${fresh}, or empty this one`,
    );
  }
  if (foreign.length > 0) {
    refuse(
      `holds files synth did not write (${listed(foreign)}), which replacing the folder would delete`,
      'move them elsewhere, or name a new folder',
    );
  }
}

/**
 * `--out` as a message shows it: as the user wrote it, else relative to the working directory when
 * inside it, else absolute (`/` must not read as `../..`).
 */
export function shownOut(out: string, cwd: string, given?: string): string {
  if (given !== undefined) return given;
  const abs = resolve(out);
  if (abs === resolve(cwd)) return '.';
  return isInside(abs, cwd) ? relative(cwd, abs) : abs;
}

/** An output folder's parent must be (or become) a folder: not a file, not below one. */
function checkParent(out: string, refuse: (why: string, fix: string) => never): void {
  // The nearest ancestor that exists decides: a folder (or a link to one) is fine, anything else
  // is a file that mkdir would fail on (ENOTDIR means a file further up the path).
  for (let dir = dirname(out); dirname(dir) !== dir; dir = dirname(dir)) {
    let isFolder: boolean;
    try {
      isFolder = lstatSync(dir).isDirectory() || isDirectoryLink(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      return refuse(`its folder ${dir} cannot be read (${code})`, 'name a folder you can write');
    }
    if (!isFolder) refuse(`is below ${dir}, which is a file, not a folder`, 'name a folder path');
    return;
  }
}

function isDirectoryLink(path: string): boolean {
  try {
    return lstatSync(realpathSync(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The real path of `path`, resolving links in the part of it that exists. */
function realPathOfExistingPart(path: string): string {
  const rest: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      return resolve(realpathSync(p), ...rest.reverse());
    } catch {
      const parent = dirname(p);
      if (parent === p) return resolve(path);
      rest.push(p.slice(parent.length).replace(/^[/\\]/, ''));
      p = parent;
    }
  }
}

/** Whether `inner` is strictly inside `outer`. */
function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function listed(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} and ${files.length - 3} more` : shown;
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdirSync never returns on some virtual file
 * systems (under /proc it retries a level that keeps answering ENOENT); this one fails instead.
 */
export function makeFolders(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      if (lstatSync(d).isDirectory() || isDirectoryLink(d)) break;
      throw Object.assign(new Error(`${d} is not a folder`), { code: 'ENOTDIR' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw e;
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) mkdirSync(d);
}
