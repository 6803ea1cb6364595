/**
 * A small, fast YAML writer for the JSON-shaped objects Kubernetes manifests are: block mappings
 * and sequences, plain scalars where YAML 1.1 and 1.2 readers agree on their meaning, and
 * double-quoted JSON strings everywhere else (a JSON string is a valid YAML double-quoted scalar,
 * once the characters JSON leaves raw but YAML readers refuse or fold are escaped too).
 * It builds the text by string concatenation (V8 joins the pieces once, at the end), several times
 * faster than a general YAML library's stringify, and its output is byte-for-byte stable.
 *
 * The reader that matters is kubectl's: sigs.k8s.io/yaml over go-yaml v2, a YAML 1.1 reader.
 */

/**
 * Strings that must be quoted: anything that a YAML 1.1 or 1.2 reader would take for another type
 * or syntax. Each alternative, in order:
 * - `^$`: the empty plain scalar is null.
 * - an indicator or a space first (`- ? : , [ ] { } # & * ! | > ' " % @ \` ~`): YAML syntax, or a
 *   space a reader strips.
 * - `: ` or `# ` inside, ` #` (a comment), `:` last (a key), a space last (stripped).
 * - YAML 1.1 booleans and nulls (yaml.org/type/bool.html and null.html: y|Y|yes|Yes|YES|n|N|no|No|
 *   NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF; ~|null|Null|NULL), in any case so
 *   that no reader's variant slips through.
 * - `<<`, the YAML 1.1 merge key (yaml.org/type/merge.html; go-yaml v2 resolve.go maps it to
 *   !!merge), and `=`, the YAML 1.1 value key (yaml.org/type/value.html; PyYAML resolves it to a
 *   tag its safe loader cannot construct).
 * - Numbers, timestamps and sexagesimals: everything that starts like one, `[-+]?` then a digit,
 *   possibly after dots or underscores. go-yaml v2 resolve.go drops every `_` before
 *   strconv.ParseInt(s, 0, 64), so "+_1" is the int 1; the YAML 1.1 float regexp
 *   (yaml.org/type/float.html) accepts "._5", "." and "+.", and `.inf`/`.nan` in any sign or case;
 *   the `yaml` package's YAML 1.1 schema (schema/yaml-1.1/float.js) also reads "e5" or ".e5" as a
 *   float, with no digit before the exponent.
 * - `...` first: at the start of a line, with a blank after it, a document end marker.
 * - Characters a reader refuses or folds, written escaped in double quotes: C0 controls, DEL, C1
 *   (NEL among them), LS, PS, BOM, U+FFFE and U+FFFF, and lone UTF-16 surrogates (refused below).
 *   go-yaml v2 readerc.go (yaml_parser_update_buffer) accepts only #x9 | #xA | #xD | [#x20-#x7E] |
 *   #x85 | [#xA0-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] ("control characters are not
 *   allowed"), and its scanner (is_break) reads NEL, LS and PS as line breaks, folded to a space in
 *   a quoted scalar.
 */
const NEEDS_QUOTES =
  // eslint-disable-next-line no-control-regex
  /^$|^[\s\-?:,[\]{}#&*!|>'"%@`~]|[:#]\s|\s#|:$|\s$|^(?:true|false|yes|no|on|off|y|n|null|~|<<|=)$|^[-+]?[._]*[0-9]|^[-+]?\.(?:[._]*$|inf|nan)|^[-+]?(?:\.[0-9_]*)?e[-+]?[0-9]+$|^\.\.\.|[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/i;

/**
 * What JSON.stringify leaves raw but a YAML reader must not see raw (see NEEDS_QUOTES): written as
 * `\uXXXX`, an escape YAML 1.1 and 1.2 double-quoted scalars share with JSON.
 */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/**
 * A lone surrogate has no UTF-8 form, and its `\uD800` escape is refused by go-yaml v2
 * (scannerc.go: "found invalid Unicode character escape code").
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

function quoted(s: string): string {
  if (LONE_SURROGATE.test(s)) {
    throw new Error(
      `yaml-writer: ${JSON.stringify(s)} has a lone UTF-16 surrogate, which no YAML form can carry`,
    );
  }
  return JSON.stringify(s).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };

function scalar(value: string | number | boolean | null): string {
  if (typeof value === 'string') return NEEDS_QUOTES.test(value) ? quoted(value) : value;
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
