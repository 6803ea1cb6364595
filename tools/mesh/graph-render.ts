/**
 * Drawing a mesh graph: Graphviz DOT (rendered to SVG with Graphviz compiled to WebAssembly) or
 * Mermaid text for Markdown. Nodes are the ingress and the services with their versions, grouped
 * by namespace; each edge lists the callee's routes and the markers of what applies to the calls.
 */
import {
  type GraphEdge,
  type GraphNode,
  type MarkerKind,
  type MeshGraph,
  type RouteInfo,
} from './mesh-model.js';

/**
 * The route lines of an edge, in route order (the first match wins): consecutive routes with the
 * same destinations and policies share a line; a catch-all keeps a line of its own.
 */
export function routeLines(routes: readonly RouteInfo[]): string[] {
  const lines: { tail: string; matches: string[] }[] = [];
  for (const r of routes) {
    const to = r.to
      .map((t) =>
        [[t.service, t.version].filter(Boolean).join(' '), t.weight !== undefined ? `${t.weight}%` : '']
          .filter(Boolean)
          .join(' '),
      )
      .filter(Boolean)
      .join(' · ');
    const extras = [
      r.timeout && `timeout ${r.timeout}`,
      r.retries,
      r.fault && `fault ${r.fault}`,
      r.mirror,
    ].filter(Boolean);
    const tail = [to ? `→ ${to}` : '', ...extras].filter(Boolean).join(' · ');
    const last = lines.at(-1);
    if (last && last.tail === tail && r.match && last.matches.every(Boolean)) last.matches.push(r.match);
    else lines.push({ tail, matches: [r.match] });
  }
  return lines.map(
    ({ tail, matches }) => [matches.join(', '), tail].filter(Boolean).join(' ') || 'all requests',
  );
}

const ROUTE_MARKERS = new Set<MarkerKind>(['timeout', 'retries', 'fault', 'mirror']);

/** The policy markers of an edge (its routes' timeouts, retries, faults and mirrors are on the route lines). */
export function policyMarkers(e: GraphEdge): GraphEdge['markers'] {
  return e.markers.filter((m) => !ROUTE_MARKERS.has(m.kind));
}

const COLORS: Record<MarkerKind, string> = {
  timeout: '#2d3748',
  retries: '#2d3748',
  fault: '#c53030',
  mirror: '#6b46c1',
  'circuit-breaker': '#c05621',
  'rate-limit': '#c05621',
  mtls: '#2b6cb0',
  authz: '#2f855a',
  jwt: '#6b46c1',
  warning: '#c53030',
};

// ---------------------------------------------------------------------------------------------
// DOT

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function quote(id: string): string {
  return `"${id.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Graphviz sizes labels from its own metrics of the font it is given (a list of fallbacks is not
 * recognised), and viewers draw them with what they have. Verdana is about the widest common sans
 * font and DejaVu Sans (Linux) about as wide, so text fits whichever a viewer uses; the SVG then
 * gets the fallbacks.
 */
const FONT = 'Verdana';
const FONT_FALLBACKS = 'Verdana,DejaVu Sans,Helvetica,Arial,sans-serif';

function dotNode(n: GraphNode): string {
  const fill = { ingress: '#fefcbf', service: '#ebf8ff', external: '#edf2f7' }[n.kind];
  const stroke = { ingress: '#b7791f', service: '#2b6cb0', external: '#718096' }[n.kind];
  const cols = Math.max(1, n.versions.length);
  const title = n.kind === 'ingress' ? `ingress ${n.name}` : n.name;
  const rows = [`<TR><TD COLSPAN="${cols}"><B>${html(title)}</B></TD></TR>`];
  // Ports on one line; an ingress's servers one per line.
  for (const d of n.kind === 'service' ? [n.details.join('  ')].filter(Boolean) : n.details) {
    rows.push(`<TR><TD COLSPAN="${cols}"><FONT POINT-SIZE="9" COLOR="#4a5568">${html(d)}</FONT></TD></TR>`);
  }
  if (n.versions.length > 0) {
    rows.push(
      `<TR>${n.versions
        .map(
          (v) =>
            `<TD BORDER="1" COLOR="#90cdf4" BGCOLOR="white"><FONT POINT-SIZE="10">${html(v.name)} ×${html(v.replicas)}</FONT></TD>`,
        )
        .join('')}</TR>`,
    );
  }
  return `${quote(n.id)} [label=<<TABLE BORDER="1" COLOR="${stroke}" CELLBORDER="0" CELLSPACING="3" CELLPADDING="3" STYLE="ROUNDED" BGCOLOR="${fill}">${rows.join('')}</TABLE>>];`;
}

function dotEdge(e: GraphEdge): string {
  const lines = [
    // Injected faults in the fault color, on the route line they belong to.
    ...routeLines(e.routes).map((l) =>
      html(l).replace(/fault [^·]*?(?= · |$)/g, (f) => `<FONT COLOR="${COLORS.fault}">${f}</FONT>`),
    ),
    ...policyMarkers(e).map((m) => `<FONT COLOR="${COLORS[m.kind]}">${html(m.text)}</FONT>`),
  ];
  // A padded box, so that the text keeps clear of its edge.
  const label = `<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="3" CELLSPACING="0"><TR><TD BALIGN="LEFT">${lines.join('<BR/>')}</TD></TR></TABLE>`;
  const warn = e.markers.some((m) => m.kind === 'warning');
  const style = e.sources.includes('authorization') || e.sources.includes('ingress') ? '' : ', style=dashed';
  return `${quote(e.from)} -> ${quote(e.to)} [label=<${label}>${warn ? ', color="#c53030"' : ''}${style}];`;
}

/** Graphviz DOT source of the graph. */
export function toDot(g: MeshGraph): string {
  const out = [
    'digraph mesh {',
    `  graph [rankdir=TB, fontname="${FONT}", fontsize=13, label=<<B>${html(g.title)}</B>>, labelloc=t, labeljust=l, nodesep=0.5, ranksep=0.9, pad=0.3, bgcolor="white"];`,
    `  node [shape=plain, fontname="${FONT}", fontsize=11];`,
    `  edge [fontname="${FONT}", fontsize=9, color="#4a5568", arrowsize=0.7];`,
  ];
  for (const n of g.nodes.filter((x) => x.kind !== 'service')) out.push(`  ${dotNode(n)}`);
  g.namespaces.forEach((ns, i) => {
    out.push(
      `  subgraph cluster_${i} {`,
      `    label=<<B>namespace ${html(ns.name)}</B><BR ALIGN="LEFT"/><FONT POINT-SIZE="9">${html(ns.notes.join(' · '))}</FONT><BR ALIGN="LEFT"/>>;`,
      '    style="rounded,dashed"; color="#a0aec0"; fontsize=11; labeljust=l; margin=16;',
    );
    for (const n of g.nodes.filter((x) => x.kind === 'service' && x.namespace === ns.name))
      out.push(`    ${dotNode(n)}`);
    out.push('  }');
  });
  for (const e of g.edges) out.push(`  ${dotEdge(e)}`);
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** SVG of the graph, laid out by Graphviz's dot compiled to WebAssembly. */
export async function toSvg(g: MeshGraph): Promise<string> {
  const { Graphviz } = await import('@hpcc-js/wasm-graphviz');
  const gv = await Graphviz.load();
  const svg = gv.dot(toDot(g));
  // Just the <svg> element (no XML prolog, DOCTYPE or comments), with font fallbacks.
  return svg
    .slice(svg.indexOf('<svg'))
    .replaceAll(`font-family="${FONT}"`, `font-family="${FONT_FALLBACKS}"`);
}

// ---------------------------------------------------------------------------------------------
// Mermaid

function mm(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

/** Mermaid flowchart text of the graph, for Markdown (```mermaid). */
export function toMermaid(g: MeshGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const out = [
    '---',
    `title: ${g.title}`,
    '---',
    'flowchart TB',
    '  classDef ingress fill:#fefcbf,stroke:#b7791f,color:#1a202c',
    '  classDef service fill:#ebf8ff,stroke:#2b6cb0,color:#1a202c',
    '  classDef external fill:#edf2f7,stroke:#718096,color:#1a202c,stroke-dasharray:3 3',
  ];
  const node = (n: GraphNode) => {
    const title = n.kind === 'ingress' ? `ingress ${n.name}` : n.name;
    const details = n.kind === 'service' ? [n.details.join('  ')].filter(Boolean) : n.details;
    const lines = [`<b>${mm(title)}</b>`, ...details.map(mm)];
    if (n.versions.length > 0) lines.push(n.versions.map((v) => mm(`${v.name} ×${v.replicas}`)).join(' · '));
    const text = `"${lines.join('<br/>')}"`;
    const shape = n.kind === 'ingress' ? `[/${text}\\]` : n.kind === 'external' ? `([${text}])` : `[${text}]`;
    return `${ids.get(n.id)}${shape}:::${n.kind}`;
  };
  for (const n of g.nodes.filter((x) => x.kind !== 'service')) out.push(`  ${node(n)}`);
  g.namespaces.forEach((ns, i) => {
    out.push(`  subgraph ns${i}["namespace ${mm(ns.name)} · ${mm(ns.notes.join(' · '))}"]`);
    for (const n of g.nodes.filter((x) => x.kind === 'service' && x.namespace === ns.name))
      out.push(`    ${node(n)}`);
    out.push('  end');
  });
  for (const e of g.edges) {
    const lines = [...routeLines(e.routes), ...policyMarkers(e).map((m) => m.text)].map(mm);
    const arrow = e.sources.includes('authorization') || e.sources.includes('ingress') ? '-->' : '-.->';
    out.push(`  ${ids.get(e.from)} ${arrow}|"${lines.join('<br/>')}"| ${ids.get(e.to)}`);
  }
  return `${out.join('\n')}\n`;
}
