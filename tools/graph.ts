/**
 * npm run graph -- --app <app> [--env <env> | --scenario <name>] --out <file.svg | file.mmd | file.dot>
 *
 * Draws the mesh of one synthesized app variant from its objects: the ingress, each service with
 * its versions, who calls whom (AuthorizationPolicy principals and Sidecar egress hosts) with the
 * callee's routes (matches, weights) and markers for timeouts, retries, faults, circuit breakers,
 * rate limits, mTLS and authorization. SVG through Graphviz compiled to WebAssembly, Mermaid text
 * for Markdown, or the DOT source.
 */
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
// Only light modules here: the command line and --out are checked before the charts, cdk8s and the
// renderers are loaded (graphOf and render import them), so that --help, a wrong option or a refused
// --out answer at once (and the tests, which spawn graph many times, do not wait for the charts).
import { makeFolders } from './output-folder.js';
import type { MeshGraph } from './mesh/mesh-model.js';
import { refuseRepeatedOptions, VARIANT_OPTIONS, UsageError, variantLabel } from './mesh/options.js';

const USAGE =
  'usage: npm run graph -- --app <app> [--env <env> | --scenario <name>] --out <file.svg|file.mmd|file.dot>';

/** The graph of an app's variant (its default variant when none is given). */
export async function graphOf(options: {
  app?: string;
  env?: string;
  scenario?: string;
}): Promise<MeshGraph> {
  const [{ APPS }, { select, synthesizeInProcess }, { buildMeshGraph }] = await Promise.all([
    import('../charts/index.js'),
    import('./mesh/variants.js'),
    import('./mesh/mesh-model.js'),
  ]);
  const selection = select(options, true);
  const app = selection.app ?? APPS.apps[0];
  const variant = selection.variant ?? app.defaultVariant;
  const v = { app: app.name, flag: app.variantFlag, variant };
  return buildMeshGraph(synthesizeInProcess(v), variantLabel(v));
}

/** The file content for `out`'s extension. */
export async function render(graph: MeshGraph, out: string): Promise<string> {
  const { toDot, toMermaid, toSvg } = await import('./mesh/graph-render.js');
  switch (extname(out).toLowerCase()) {
    case '.svg':
      return toSvg(graph);
    case '.mmd':
    case '.mermaid':
      return toMermaid(graph);
    case '.dot':
    case '.gv':
      return toDot(graph);
    default:
      throw new UsageError(`--out ${out}: use a .svg, .mmd or .dot file`);
  }
}

/** A file that cannot be written where --out says: named, with the reason, before any work is done. */
class OutputError extends Error {}

/**
 * Whether `text` is what graph writes (Graphviz's SVG or DOT of the "mesh" graph, or the Mermaid
 * flowchart with its title block), so that a graph can be drawn again over an earlier one while a
 * file of the user's that happens to have the name (a hand-made notes.svg) is never replaced.
 */
function writtenByGraph(raw: string): boolean {
  // A checkout with Windows line endings (git's autocrlf) holds the same file with CRLF.
  const text = raw.replace(/\r\n/g, '\n');
  return (
    text === '' ||
    text.startsWith('digraph mesh {\n') ||
    (text.startsWith('<svg') && text.includes('<title>mesh</title>')) ||
    (text.startsWith('---\ntitle: ') && text.includes('\nflowchart TB\n'))
  );
}

/** Refuses an --out that is a folder, lies below a file or is a file graph did not write. */
function checkOutFile(out: string): void {
  const file = resolve(out);
  try {
    const stat = lstatSync(file);
    if (stat.isDirectory()) {
      throw new OutputError(`--out ${out}: is a folder; name a file in it, e.g. ${join(out, 'mesh.svg')}`);
    }
    // writeFileSync follows a link and would replace whatever it points to.
    if (stat.isSymbolicLink()) {
      throw new OutputError(
        `--out ${out}: is a symbolic link, and writing would replace the file it points to; name a new file`,
      );
    }
    if (stat.size > 64 * 1024 * 1024 || !writtenByGraph(readFileSync(file, 'utf8'))) {
      throw new OutputError(
        `--out ${out}: is a file graph did not write, and writing would replace it; name a new file, or remove it first`,
      );
    }
  } catch (e) {
    if (e instanceof OutputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      throw new OutputError(
        `--out ${out}: a part of its path is a file, not a folder; name a file in a folder`,
      );
    if (code !== 'ENOENT') throw new OutputError(`--out ${out}: cannot be read (${code})`);
  }
}

/** Writes the file, turning the file system's refusals into a message that names --out. */
function writeOut(out: string, text: string): string {
  const file = resolve(out);
  try {
    makeFolders(dirname(file));
    writeFileSync(file, text);
    return file;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why: Record<string, string> = {
      ENOTDIR: 'a part of its path is a file, not a folder; name a file in a folder',
      EEXIST: 'a part of its path is a file, not a folder; name a file in a folder',
      EISDIR: 'is a folder; name a file in it',
      ENOENT: 'cannot be created there (its folder takes no new files)',
      EACCES: 'cannot be written (permission denied); choose a folder you can write',
      EPERM: 'cannot be written (operation not permitted); choose a folder you can write',
      EROFS: 'is on a read-only file system; choose a folder you can write',
      ENOSPC: 'cannot be written: no space left on the device',
    };
    throw new OutputError(
      `--out ${out}: ${why[code ?? ''] ?? `cannot be written (${code ?? (e as Error).message})`}`,
    );
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    const options = {
      ...VARIANT_OPTIONS,
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    } as const;
    const { values, tokens } = parseArgs({ args: argv, options, strict: true, tokens: true });
    refuseRepeatedOptions(tokens, options);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.out === undefined || values.out.trim() === '') {
      throw new UsageError('--out <file.svg|file.mmd|file.dot> is required');
    }
    if (!['.svg', '.mmd', '.mermaid', '.dot', '.gv'].includes(extname(values.out).toLowerCase())) {
      throw new UsageError(`--out ${values.out}: use a .svg, .mmd or .dot file`);
    }
    checkOutFile(values.out);
    const graph = await graphOf(values);
    const text = await render(graph, values.out);
    const file = writeOut(values.out, text);
    console.log(
      `wrote ${relative(process.cwd(), file)} (${graph.nodes.length} nodes, ${graph.edges.length} edges)`,
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`graph: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof OutputError) {
      console.error(`graph: ${e.message}`);
      return 2;
    }
    // A chart that does not synthesize: its validation message, not a stack trace. Anything else
    // is a bug, and its stack is what a report needs.
    const message = (e as Error).message ?? String(e);
    console.error(`graph: ${/^Validation failed/.test(message) ? message : ((e as Error).stack ?? message)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
