/**
 * npm run graph -- --app <app> [--env <env> | --scenario <name>] --out <file.svg | file.mmd | file.dot>
 *
 * Draws the mesh of one synthesized app variant from its objects: the ingress, each service with
 * its versions, who calls whom (AuthorizationPolicy principals and Sidecar egress hosts) with the
 * callee's routes (matches, weights) and markers for timeouts, retries, faults, circuit breakers,
 * rate limits, mTLS and authorization. SVG through Graphviz compiled to WebAssembly, Mermaid text
 * for Markdown, or the DOT source.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SAMPLE_APPS } from '../charts/index.js';
import { toDot, toMermaid, toSvg } from './mesh/graph-render.js';
import { buildMeshGraph, type MeshGraph } from './mesh/mesh-model.js';
import { select, VARIANT_OPTIONS, synthesizeInProcess, UsageError, variantLabel } from './mesh/variants.js';

const USAGE =
  'usage: npm run graph -- --app <app> [--env <env> | --scenario <name>] --out <file.svg|file.mmd|file.dot>';

/** The graph of an app's variant (its default variant when none is given). */
export function graphOf(options: { app?: string; env?: string; scenario?: string }): MeshGraph {
  const selection = select(options, true);
  const app = selection.app ?? SAMPLE_APPS[0];
  const variant = selection.variant ?? app.defaultVariant;
  const v = { app: app.name, flag: app.variantFlag, variant };
  return buildMeshGraph(synthesizeInProcess(v), variantLabel(v));
}

/** The file content for `out`'s extension. */
export async function render(graph: MeshGraph, out: string): Promise<string> {
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

async function main(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...VARIANT_OPTIONS, out: { type: 'string' } },
      strict: true,
    });
    if (values.out === undefined) throw new UsageError('--out <file.svg|file.mmd|file.dot> is required');
    const graph = graphOf(values);
    const text = await render(graph, values.out);
    const file = resolve(values.out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(
      `wrote ${relative(process.cwd(), file)} (${graph.nodes.length} nodes, ${graph.edges.length} edges)`,
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`graph: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
