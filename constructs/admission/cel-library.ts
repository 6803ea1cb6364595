/**
 * The CEL library's side of the admission pass (cel.ts): the environment with the Kubernetes
 * libraries the pinned rules use, and the planned program of a rule. @bufbuild/cel and protobuf
 * are 127 modules, about a quarter of what a synth loads, and most runs never need them: cel.ts
 * evaluates most rules itself and loads this module (loadCelLibrary) only for a rule it has to
 * hand over, or to cross-check itself in the tests.
 *
 * https://kubernetes.io/docs/reference/using-api/cel/ lists the libraries; the pinned Istio and
 * Gateway API rules call has, size, all, exists, exists_one, filter, contains, startsWith,
 * endsWith, matches, duration, int (CEL's standard library), substring and split (the strings
 * extension, from @bufbuild/cel/ext), and isURL, url and getScheme (Kubernetes' URL library,
 * defined below with cel.ts's URL functions). test/admission.test.ts parses every pinned rule and
 * checks that each function it calls is one of SUPPORTED_FUNCTIONS, so a CRD update that brings a
 * new function fails a test rather than a synth.
 */
import { celEnv, celFunc, celMethod, CelScalar, type CelEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { ParsedExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { fromBinary } from '@bufbuild/protobuf';
import { CEL_PARSED } from './generated/schemas.js';
import { parseRequestUri, URL_METHODS } from './cel-url.js';

export { isCelError };

const URL_LIBRARY = [
  celFunc('isURL', [CelScalar.STRING], CelScalar.BOOL, (s) => parseRequestUri(s) !== undefined),
  celFunc('url', [CelScalar.STRING], CelScalar.STRING, (s) => {
    if (parseRequestUri(s) === undefined)
      throw new Error(`URL parse error during conversion from string: ${s}`);
    return s;
  }),
  celMethod('getScheme', CelScalar.STRING, [], CelScalar.STRING, function () {
    return URL_METHODS.getScheme(this);
  }),
  celMethod('getHostname', CelScalar.STRING, [], CelScalar.STRING, function () {
    return URL_METHODS.getHostname(this);
  }),
  celMethod('getEscapedPath', CelScalar.STRING, [], CelScalar.STRING, function () {
    return URL_METHODS.getEscapedPath(this);
  }),
];

/** Every function the environment defines, by name: what a pinned rule may call. */
export const SUPPORTED_FUNCTIONS: ReadonlySet<string> = new Set([
  // CEL's standard macros and functions.
  'has',
  'size',
  'all',
  'exists',
  'exists_one',
  'filter',
  'map',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'duration',
  'timestamp',
  'int',
  'uint',
  'double',
  'string',
  'bool',
  // The strings extension.
  ...strings.map((f) => f.name),
  // Kubernetes' URL library.
  ...URL_LIBRARY.map((f) => f.name),
]);

let env: CelEnv | undefined;

/** The program of a rule; cel.ts plans each rule once however many schema nodes carry it. */
export function compile(rule: string): ReturnType<typeof plan> {
  env ??= celEnv({ funcs: [...strings, ...URL_LIBRARY] });
  // The pinned rules come parsed (tools/gen-schemas.ts); others are parsed here.
  const stored = CEL_PARSED[rule];
  const parsed = stored ? fromBinary(ParsedExprSchema, Buffer.from(stored, 'base64')) : parse(rule);
  return plan(env, parsed);
}
