/**
 * A small, fast YAML writer for the JSON-shaped objects Kubernetes manifests are: block mappings
 * and sequences, plain scalars where YAML 1.1 and 1.2 readers agree on their meaning, and
 * double-quoted JSON strings everywhere else (a JSON string is a valid YAML double-quoted scalar).
 * It builds the text by string concatenation (V8 joins the pieces once, at the end), several times
 * faster than a general YAML library's stringify, and its output is byte-for-byte stable.
 */

/** Strings that must be quoted: anything that a YAML reader would take for another type or syntax. */
// Control characters are matched on purpose: such strings must be written escaped, in double quotes.
const NEEDS_QUOTES =
  // eslint-disable-next-line no-control-regex
  /^$|^[\s\-?:,[\]{}#&*!|>'"%@`~]|[:#]\s|\s#|:$|\s$|^(?:true|false|yes|no|on|off|y|n|null|~)$|^[-+]?(?:\.?[0-9]|\.(?:inf|nan))|[\n\r\t\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|^0[xob]/i;

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };

function scalar(value: string | number | boolean | null): string {
  if (typeof value === 'string') return NEEDS_QUOTES.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`yaml-writer: ${value} has no YAML form here`);
  }
  return String(value);
}

/** Rendered "key:" for the keys every manifest repeats (apiVersion, metadata, name, ...). */
const keyCache = new Map<string, string>();

function key(k: string): string {
  let rendered = keyCache.get(k);
  if (rendered === undefined) {
    rendered = `${scalar(k)}:`;
    if (keyCache.size < 10_000) keyCache.set(k, rendered);
  }
  return rendered;
}

/** The value after "key:" or "-": a scalar on the same line, a collection on the next ones. */
function value(v: Json, indent: string): string {
  if (v === null || typeof v !== 'object') return ` ${scalar(v)}\n`;
  if (Array.isArray(v)) return v.length === 0 ? ' []\n' : `\n${sequence(v, `${indent}  `)}`;
  for (const k in v)
    if ((v as Record<string, Json | undefined>)[k] !== undefined)
      return `\n${mapping(v as Record<string, Json>, `${indent}  `)}`;
  return ' {}\n';
}

function mapping(obj: { readonly [key: string]: Json | undefined }, indent: string): string {
  let out = '';
  for (const k in obj) {
    const v = obj[k];
    if (v !== undefined) out += indent + key(k) + value(v, indent);
  }
  return out;
}

function sequence(items: readonly Json[], indent: string): string {
  let out = '';
  const inner = `${indent}  `;
  for (const item of items) {
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      // "- key: value", the rest of the mapping aligned under the first key.
      let first = true;
      for (const k in item) {
        const v = (item as Record<string, Json | undefined>)[k];
        if (v === undefined) continue;
        out += (first ? `${indent}- ` : inner) + key(k) + value(v, inner);
        first = false;
      }
      if (first) out += `${indent}- {}\n`;
    } else {
      out += `${indent}-${value(item, inner)}`;
    }
  }
  return out;
}

/** The YAML of one document (a mapping), without the "---" separator. */
export function documentToYaml(doc: unknown): string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error('yaml-writer: every document must be a mapping');
  }
  return mapping(doc as Record<string, Json>, '');
}

/** Serializes documents (mappings) as a multi-document YAML stream. */
export function toYaml(documents: readonly unknown[]): string {
  return documents.map(documentToYaml).join('---\n');
}
