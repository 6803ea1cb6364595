/**
 * Field paths, built as linked nodes while walking and written out only for a problem: most
 * objects have none, and a string per visited field would cost more than the checks.
 */
export type Path =
  | string
  | { readonly parent: Path; readonly key: string | number; readonly map?: boolean; readonly raw?: boolean };

/** A property: `.name`, or `["a.b/c"]` when the key is not an identifier. */
export const child = (parent: Path, key: string): Path => ({ parent, key });
/** A map entry: always `["key"]`. */
export const entry = (parent: Path, key: string): Path => ({ parent, key, map: true });
/** A list item: `[i]`. */
export const item = (parent: Path, i: number): Path => ({ parent, key: i });
/** Text appended as it is (a CEL rule's fieldPath). */
export const suffix = (parent: Path, text: string): Path => ({ parent, key: text, raw: true });

export function formatPath(p: Path): string {
  if (typeof p === 'string') return p;
  const parent = formatPath(p.parent);
  if (p.raw) return `${parent}${p.key}`;
  if (typeof p.key === 'number') return `${parent}[${p.key}]`;
  if (p.map || !/^[A-Za-z_$][\w$]*$/.test(p.key)) return `${parent}[${JSON.stringify(p.key)}]`;
  return parent ? `${parent}.${p.key}` : p.key;
}

/** Reports one problem at a field: what is wrong, and how to fix it. */
export type Report = (path: Path, message: string, fix: string) => void;
