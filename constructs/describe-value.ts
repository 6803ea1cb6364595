// How an error message names a value a caller passed. A module of its own so that render.ts can
// say it without loading every construct (input.ts imports them all).

/** The value in words, for "got ...": never the bare value, so `"8080"` and `8080` read differently. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `the string ${quote(value)}`;
    case 'number':
      return Number.isNaN(value) ? 'NaN' : `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'bigint':
      return `the bigint ${value}n`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return /^class\b/.test(Function.prototype.toString.call(value))
        ? `the class ${(value as { name: string }).name}`
        : 'a function';
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return 'a plain object';
  const name = (proto as { constructor?: { name?: string } }).constructor?.name;
  return name ? `${article(name)} ${name}` : 'an object';
}

export function quote(s: string): string {
  const json = JSON.stringify(s);
  return json.length > 60 ? `${json.slice(0, 56)}..."` : json;
}

export function article(noun: string): string {
  return /^[aeiou]/i.test(noun) ? 'an' : 'a';
}

/**
 * What is wrong with a required argument, worded as input.ts words props: "is required but missing"
 * for undefined (never `"undefined" is not ...`), else "expected <what>, got <the value in words>".
 */
function wrongArgument(value: unknown, expected: string): string {
  return value === undefined ? 'is required but missing' : `expected ${expected}, got ${describe(value)}`;
}

/**
 * Refuses an argument a JavaScript caller got wrong (`ok` false) before it ends in a bare TypeError:
 * `fn: arg: is required but missing; fix` or `fn: arg: expected <what>, got <the value in words>; fix`.
 */
export function expectArgument(
  ok: boolean,
  fn: string,
  arg: string,
  value: unknown,
  expected: string,
  fix: string,
): void {
  if (!ok) refuseArgument(fn, arg, value, expected, fix);
}

/** The same, for the checks on hot paths, which build the names only once the check has failed. */
export function refuseArgument(
  fn: string,
  arg: string,
  value: unknown,
  expected: string,
  fix: string,
): never {
  throw new Error(`${fn}: ${arg}: ${wrongArgument(value, expected)}; ${fix}`);
}
