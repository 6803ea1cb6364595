import type { Duration } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { refuseArgument } from './describe-value.js';
import { isDnsLabel, isDnsName, isDnsSubdomain, isLabelValue, qualifiedNameProblem } from './k8s-names.js';
import { INT32_MAX, UINT32_MAX } from './limits.js';

/**
 * One problem found in a construct's configuration: which field, what is wrong, how to fix it.
 * cdk8s prefixes each with the construct path when it fails the synth, and lists all of them at once.
 */
export interface Problem {
  readonly field: string;
  readonly message: string;
  readonly fix: string;
}

export function formatProblem(p: Problem): string {
  return `${p.field}: ${p.message}; ${p.fix}`;
}

export { GO_DURATION_MAX_SECONDS } from './limits.js';

/**
 * Collects problems and hands them to cdk8s's validation, so that a synth reports every mistake
 * in the whole app at once (cdk8s runs all validations before it writes anything).
 */
export class Problems {
  private readonly items: Problem[] = [];

  public add(field: string, message: string, fix: string): void {
    this.items.push({ field, message, fix });
  }

  public get list(): readonly Problem[] {
    return this.items;
  }

  /** DNS-1123 label, as Kubernetes requires for names of Services, Namespaces and ports' owners. */
  public dnsLabel(field: string, value: string): void {
    if (!isDnsLabel(value)) {
      this.add(
        field,
        `"${value}" is not a valid RFC 1123 label`,
        'use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      );
    }
  }

  /**
   * The ServiceAccount a workload declares as its own. "default" is the one Kubernetes makes in
   * every namespace (https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts):
   * synth would emit it as the workload's, so Pulumi's first create fails ("already exists") and a
   * destroy deletes it, and every pod of the namespace without an account of its own would carry
   * this workload's mesh identity (and pass the authorization policies granted to it).
   * `fromName`: no serviceAccountName was given, so the account is the workload's name, `workload`
   * (whose syntax the name's own check covers).
   */
  public serviceAccountName(field: string, value: string, workload: string, fromName: boolean): void {
    if (!fromName) this.dnsSubdomain(field, value);
    if (value !== 'default') return;
    const why =
      "the ServiceAccount Kubernetes makes in every namespace, which synth would emit as this workload's own and whose mesh identity every pod of the namespace without an account of its own would share";
    if (fromName) {
      this.add(
        field,
        `is left out, so it is the workload's name "default": ${why}`,
        'set serviceAccountName to an account of its own, e.g. "default-app"',
      );
    } else {
      this.add(
        field,
        `"default" is ${why}`,
        workload === 'default'
          ? 'name an account of its own'
          : `leave serviceAccountName out (the account is then "${workload}"), or name an account of the workload's own`,
      );
    }
  }

  /** DNS-1123 subdomain, as Kubernetes requires for most object names. */
  public dnsSubdomain(field: string, value: string): void {
    if (!isDnsSubdomain(value)) {
      this.add(
        field,
        `"${value}" is not a valid RFC 1123 subdomain`,
        'use lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit',
      );
    }
  }

  public port(field: string, value: number): void {
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      this.add(field, `${value} is not a valid port`, 'use a whole number from 1 to 65535');
    }
  }

  /**
   * Istio and Envoy durations: Istio rejects anything under 1 ms, anything finer than a millisecond
   * is lost, and nothing may exceed MAX_DURATION_MILLIS.
   */
  public duration(field: string, value: Duration | undefined): void {
    if (value === undefined) return;
    const ms = value.toMilliseconds({ integral: false });
    if (ms > MAX_DURATION_MILLIS) {
      this.add(
        field,
        `${Number((ms / 1000).toPrecision(15))}s is above the longest duration Istio and Envoy read, ${MAX_DURATION_MILLIS / 1000}s (2^63-1 nanoseconds, about 292 years)`,
        `use at most Duration.millis(${MAX_DURATION_MILLIS})`,
      );
    } else if (!(ms >= 1)) {
      this.add(
        field,
        `${describeMillis(ms)} is below Istio's minimum of 1ms`,
        'use Duration.millis(1) or more',
      );
    } else if (!Number.isInteger(ms)) {
      this.add(
        field,
        `${describeMillis(ms)} is not a whole number of milliseconds`,
        `round it, e.g. Duration.millis(${Math.round(ms)})`,
      );
    }
  }

  /**
   * Kubernetes durations in whole seconds (probes, grace periods); the API server refuses fractions,
   * and numbers beyond the field's integer type (`max`: 2147483647 for the int32 probe fields).
   */
  public wholeSeconds(
    field: string,
    value: Duration | undefined,
    min: number,
    max?: number,
    /** Who stops at `max`, when it is not the API server: "the longest wait a Go time.Duration holds". */
    limitedBy?: string,
  ): void {
    const ms = value?.toMilliseconds({ integral: false });
    if (ms !== undefined && (ms < min * 1000 || ms % 1000 !== 0)) {
      this.add(
        field,
        `${ms}ms is not a whole number of seconds${min > 0 ? ` of at least ${min}` : ''}`,
        `use Duration.seconds(n)${min > 0 ? ` with n ≥ ${min}` : ''}`,
      );
    } else if (ms !== undefined && max !== undefined && ms > max * 1000) {
      this.add(
        field,
        limitedBy
          ? `${ms / 1000}s is above ${max}s, ${limitedBy}`
          : `${ms / 1000}s is above the API server's maximum of ${max}s for this field`,
        `use Duration.seconds(n) with n ≤ ${max}`,
      );
    }
  }

  public percent(field: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value < 0 || value > 100) {
      this.add(field, `${value} is not a percentage`, 'use a number from 0 to 100');
    }
  }

  /**
   * A whole percentage, for fields the API declares as int32 (outlier detection's
   * maxEjectionPercent and minHealthPercent: networking/v1alpha3/destination_rule.proto), where
   * 50.5 is refused by the CRD schema at apply time.
   */
  public wholePercent(field: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 0 || value > 100) {
      this.add(field, `${value} is not a whole percentage`, 'use a whole number from 0 to 100');
    }
  }

  /**
   * A percentage Istio hands to Envoy as a FractionalPercent per million: `uint32(value * 10000)`,
   * truncated (translatePercentToFractionalPercent in istio/istio
   * pilot/pkg/networking/core/route/route.go), so anything above 0 that multiplies to less than 1
   * becomes 0 and never applies. 0 itself is accepted: it turns the fault or mirror off on purpose.
   */
  public fractionalPercent(field: string, value: number | undefined, what: string): void {
    if (value === undefined || !(value > 0 && value <= 100)) return;
    if (Math.trunc(value * 10000) === 0) {
      this.add(
        field,
        `${value} is below Istio's smallest step of 0.0001 (one in a million), so Envoy gets 0 and ${what}`,
        'use 0.0001 or more, or 0 to turn it off',
      );
    }
  }

  /** A protobuf uint32 field: larger numbers do not fit, and the config is refused. */
  public uint32(field: string, value: number | undefined, where: string): void {
    if (value !== undefined && Number.isInteger(value) && value > UINT32_MAX) {
      this.add(
        field,
        `${value} is above ${where}'s maximum of ${UINT32_MAX} (uint32)`,
        `use ${UINT32_MAX} or less`,
      );
    }
  }

  /** A protobuf int32 field (Istio's counters, Kubernetes' probe thresholds): larger numbers do not fit. */
  public int32(field: string, value: number | undefined, where: string): void {
    if (value !== undefined && Number.isInteger(value) && value > INT32_MAX) {
      this.add(
        field,
        `${value} is above ${where}'s maximum of ${INT32_MAX} (int32)`,
        `use ${INT32_MAX} or less`,
      );
    }
  }

  /**
   * A value matched against a request's method, path or header: CR, LF, NUL and the other control
   * characters (all but HTAB) cannot occur there, as RFC 9110 field values and RFC 3986 paths
   * forbid them and Envoy's codecs refuse them, so such a match never matches.
   */
  public requestText(field: string, value: string): void {
    const bad = CONTROL.exec(value);
    if (bad) {
      const code = `\\x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')}`;
      this.add(
        field,
        `${JSON.stringify(value).replace(/\x7f/g, '\\u007f')} contains the control character ${code}, which no request carries, so it never matches`,
        'remove the control character',
      );
    }
  }

  /**
   * A path (and query) matched as the request carries it. Clients percent-encode what the URL
   * standard's path percent-encode set names (https://url.spec.whatwg.org/#path-percent-encode-set:
   * controls, space, `"`, `#`, `<`, `>`, `` ` ``, `{`, `}` and every non-ASCII character; "?" starts
   * the query, which a prefix may cover), and Envoy matches the path as received: Istio's default
   * normalization (BASE) decodes no such escape
   * (https://istio.io/latest/docs/ops/best-practices/security/#understand-path-normalization-in-authorization-policy),
   * so "/a b" or "/café" never matches. Characters sent raw ("[", "]", "|", "^") are fine here; the
   * Gateway API CRD's stricter HTTPPathMatch pattern is the admission pass's to check. `extra`
   * allows more characters, e.g. "{}" of Istio's path templates.
   */
  public requestPath(field: string, value: string, extra = ''): void {
    if (CONTROL.test(value)) {
      this.requestText(field, value);
      return;
    }
    const encodedByClients = (ch: string) => PATH_ENCODED.test(ch) && !extra.includes(ch);
    const bad = [...value.replace(/%[0-9A-Fa-f]{2}/g, '')].find((ch) => ch === '%' || encodedByClients(ch));
    if (bad === undefined) return;
    const encoded = [...value].map((ch) => (encodedByClients(ch) ? encodeURIComponent(ch) : ch)).join('');
    this.add(
      field,
      bad === '%'
        ? `${JSON.stringify(value)} has a "%" that starts no escape, which no request path carries, so it never matches`
        : `${JSON.stringify(value)} has the character ${JSON.stringify(bad)}, which a request carries percent-encoded, so it never matches`,
      bad === '%'
        ? 'write "%25" for a literal "%"'
        : `write it as the request carries it, ${JSON.stringify(encoded)}`,
    );
  }

  /** A label key and value as Kubernetes (and Istio's `labels.Instance.Validate`) accept them. */
  public label(field: string, key: string, value: string): void {
    if (qualifiedNameProblem(key) !== undefined) {
      this.add(
        field,
        `${JSON.stringify(key)} is not a label key, so no workload carries it`,
        'use [prefix/]name with a name of at most 63 letters, digits, "-", "_" and "."',
      );
    } else if (!isLabelValue(value)) {
      this.add(
        `${field}[${JSON.stringify(key)}]`,
        `${JSON.stringify(value)} is not a label value, so no workload carries it`,
        'use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      );
    }
  }

  public positiveInt(
    field: string,
    value: number | undefined,
    fix = 'use a whole number of 1 or more',
  ): void {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 1) {
      this.add(field, `${value} must be a whole number of 1 or more`, fix);
    }
  }

  public nonNegativeInt(field: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 0) {
      this.add(field, `${value} must be a whole number of 0 or more`, 'use 0 or a positive whole number');
    }
  }

  /**
   * A container image reference as the container runtime parses it
   * ([registry[:port]/]path[:tag][@digest]); anything else fails at pull time with InvalidImageName.
   */
  public imageReference(field: string, value: string): void {
    // The 255-character limit is the name's (registry and path), not the tag's or digest's.
    const name = value.split('@')[0].replace(/:[\w][\w.-]*$/, '');
    if (name.length > 255 || !IMAGE_REFERENCE.test(value)) {
      this.add(
        field,
        `"${value}" is not a container image reference`,
        'write it as [registry/]path[:tag][@sha256:digest] with a lower-case path, e.g. "ghcr.io/acme/shop:1.2.0"',
      );
    }
  }

  /**
   * A Sidecar egress host, "<namespace>/<host>": the namespace a DNS label or "*", "." or "~", the
   * host "*", a DNS name or a "*.suffix" wildcard, as Istio's Sidecar resource defines them.
   */
  public sidecarEgressHost(field: string, value: string): void {
    const [namespace, host, ...rest] = value.split('/');
    const namespaceOk =
      namespace === '*' ||
      namespace === '.' ||
      namespace === '~' ||
      (!namespace.includes('.') && isDnsName(namespace));
    // Host names are case-insensitive and may end in the root's dot, as Istio's check allows.
    const name = host?.replace(/^\*\./, '').replace(/\.$/, '').toLowerCase();
    const hostOk = host === '*' || (name !== undefined && isDnsName(name));
    if (!namespaceOk || !hostOk || rest.length > 0) {
      this.add(
        field,
        `"${value}" is not a Sidecar egress host`,
        'write it as "<namespace>/<host>", e.g. "payments/api.payments.svc.cluster.local" or "istio-system/*"',
      );
    }
  }

  /**
   * An RE2 pattern, as istiod checks it (Go's regexp, which follows RE2) and Envoy compiles it:
   * refused when empty or longer than 1,024 characters (validateStringMatchRegexp and
   * validateStringRegexp in istio/istio pkg/config/validation/validation.go), when JavaScript cannot
   * parse it either, when it uses what RE2 leaves out (lookaround, backreferences), or what
   * JavaScript accepts and RE2 does not (see re2Syntax).
   */
  public re2(field: string, pattern: string): void {
    if (pattern === '') {
      this.add(field, 'is an empty regular expression, which Istio refuses', 'give a pattern, e.g. ".+"');
      return;
    }
    if (pattern.length > MAX_REGEX_LENGTH) {
      this.add(
        field,
        `the regular expression is ${pattern.length} characters long, above Istio's limit of ${MAX_REGEX_LENGTH}`,
        'shorten it, or split it across several matches',
      );
      return;
    }
    // RE2 syntax JavaScript lacks, turned into what JavaScript reads the same way for this check:
    // \Q...\E quoting, named groups (RE2 allows names JavaScript does not, so they become plain
    // groups), flag groups (?i) and (?i:...), the anchors \A and \z, \x{...} code points and
    // \p{...} Unicode classes (checked by re2Syntax).
    const asJs = pattern
      .replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_, text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))
      .replace(/\(\?P?<(?![=!])[^>]*>/g, '(')
      .replace(/\(\?[imsU-]+\)/g, '')
      .replace(/\(\?[imsU-]+:/g, '(?:')
      .replace(/(?<!\\)\\A/g, '^')
      .replace(/(?<!\\)\\z/g, '$')
      .replace(/(?<!\\)\\x\{([0-9a-fA-F]{1,4})\}/g, (_, hex: string) => `\\u${hex.padStart(4, '0')}`)
      .replace(/(?<!\\)\\x\{[0-9a-fA-F]*\}/g, '\\uffff')
      .replace(/(?<!\\)\\[pP](?:\{[^}]*\}|[^{])/g, '\\w');
    try {
      new RegExp(asJs);
    } catch (e) {
      const reason = (e as Error).message.replace(/^.*: /, '').toLowerCase();
      this.add(field, `"${pattern}" is not a valid regular expression (${reason})`, 'fix the pattern');
      return;
    }
    // What RE2 leaves out, looked for outside quoted text and character classes: lookaround, and
    // backreferences (a single digit; \12 and \101 are octal escapes to RE2).
    const bare = pattern
      .replace(/\\Q[\s\S]*?(?:\\E|$)/g, '')
      .replace(/\\\\/g, '')
      .replace(/\[(?:\\.|[^\]\\])*\]/g, '');
    const unsupported = /(?<!\\)\(\?(?:[=!]|<[=!])|\\[1-9](?![0-7])|\\k</.exec(bare);
    if (unsupported) {
      this.add(
        field,
        `"${pattern}" uses ${unsupported[0].startsWith('(') ? 'lookaround' : 'a backreference'}, which RE2 (Envoy's regex engine) does not support`,
        'rewrite the pattern without it, or match with several routes',
      );
      return;
    }
    const problem = re2Syntax(pattern);
    if (problem) this.add(field, `"${pattern}" ${problem.message}`, problem.fix);
  }

  public httpStatus(field: string, value: number): void {
    if (!Number.isInteger(value) || value < 200 || value > 599) {
      this.add(field, `${value} is not an HTTP status Envoy can return`, 'use a status from 200 to 599');
    }
  }
}

// eslint-disable-next-line no-control-regex -- control characters are what this finds
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** What clients send percent-encoded in a path (besides controls): the URL standard's path percent-encode set. */
const PATH_ENCODED = /[\t "#<>`{}\u0080-\u{10ffff}]/u;

/**
 * The longest duration, in whole milliseconds, that reaches Envoy intact: 2^63-1 nanoseconds.
 * Istio's CRDs check every Duration with the CEL rule `duration(self) >= duration('1ms')`
 * (istio/tools cmd/protoc-gen-crd), and CEL's duration() reads a Go time.Duration, int64
 * nanoseconds, so the API server refuses a longer one. Where Envoy reads a duration as
 * milliseconds (route, retry, connect and rate limit timeouts, intervals, ejection times, fault
 * delays, fill intervals) it refuses more than 9,223,372,036 whole seconds
 * (validateDurationAsMilliseconds in envoyproxy/envoy source/common/protobuf/utility.cc), which
 * EnvoyFilter durations, unchecked by the CRD, could reach; the one limit for both keeps it
 * simple at the cost of 145 ms. protobuf's own Duration limit, 315,576,000,000 s, is far higher.
 */
export const MAX_DURATION_MILLIS = 9_223_372_036_854;

/** Istio refuses longer patterns (validateStringRegexp in pkg/config/validation/validation.go). */
const MAX_REGEX_LENGTH = 1024;
/** RE2's kMaxRepeat, also the limit of nested counted repetitions multiplied together. */
const MAX_REPEAT = 1000;
/** RE2's POSIX classes ([[:alpha:]] and [[:^alpha:]]). */
const POSIX_CLASSES = new Set(
  'alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit'.split(' '),
);
/** RE2's Unicode general categories (\pL, \p{Lu}); the long names ("Letter") are not among them. */
const UNICODE_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

interface SyntaxProblem {
  readonly message: string;
  readonly fix: string;
}

/**
 * What JavaScript's regex parser accepts and RE2 refuses, read the way RE2 reads a pattern
 * (golang.org/x regexp/syntax parse.go, the parser istiod validates with; google/re2 parse.cc, the
 * one Envoy compiles with, agrees on each of these):
 * - escapes RE2 does not know: a backslash before a letter or digit other than \a \f \n \r \t \v,
 *   \d \D \s \S \w \W, \p \P, \x with two hex digits or {code point}, octal \0 to \777, and outside
 *   character classes \A \b \B \z \Q...\E. JavaScript takes \u, \c, \e, \k, \C and others (and
 *   \b, \B, \A inside a class) as escapes or as plain letters; RE2 refuses them.
 * - counted repetitions above 1000, alone or multiplied through nested groups ("(a{10}){101}").
 * - POSIX classes and Unicode classes with names RE2 does not have.
 * - named groups with names other than letters, digits and "_", or a name used twice.
 * Scripts in \p{...} are checked against JavaScript's Unicode scripts, which take the long names
 * RE2 uses ("Greek") and also four-letter aliases ("Grek") RE2 does not: those still pass.
 */
function re2Syntax(pattern: string): SyntaxProblem | undefined {
  const invalidEscape = (escape: string, inClass: boolean): SyntaxProblem => ({
    message: `uses the escape ${escape}${inClass ? ' inside a character class' : ''}, which RE2 (Envoy's regex engine) does not know`,
    fix: escape.startsWith('\\u')
      ? 'write the character itself, or \\x{hex} for a code point'
      : 'escape only punctuation; write letters, digits and other characters as themselves, or \\x{hex}',
  });
  /** The length of a plain escape (parseEscape) at i, or a problem. */
  const escapeAt = (i: number, inClass: boolean): number | SyntaxProblem => {
    const c = pattern[i + 1] ?? '';
    if (/[0-7]/.test(c)) {
      // \0 takes up to two more octal digits; \1 to \7 only when an octal digit follows (a lone
      // one is a backreference, refused before this runs).
      const digits = /^[0-7]{1,3}/.exec(pattern.slice(i + 1))![0];
      return c !== '0' && digits.length === 1 ? invalidEscape(`\\${c}`, inClass) : 1 + digits.length;
    }
    if (c === 'x') {
      const braced = /^\{([0-9a-fA-F]+)\}/.exec(pattern.slice(i + 2));
      if (braced && parseInt(braced[1], 16) <= 0x10ffff) return 2 + braced[0].length;
      if (/^[0-9a-fA-F]{2}/.test(pattern.slice(i + 2))) return 4;
      const close = pattern[i + 2] === '{' ? pattern.indexOf('}', i) : -1;
      return invalidEscape(pattern.slice(i, close === -1 ? i + 4 : close + 1), inClass);
    }
    if (/[afnrtvdDsSwW]/.test(c)) return 2;
    if (!inClass && /[AbBz]/.test(c)) return 2;
    // Punctuation and other ASCII that is neither a letter nor a digit stands for itself.
    if (c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9]/.test(c)) return 2;
    return invalidEscape(`\\${c}${c === 'u' ? pattern.slice(i + 2, i + 6) : ''}`, inClass);
  };
  /** The length of a Unicode class (\pL, \p{Greek}, \P{^Lu}) at i, or a problem. */
  const unicodeClassAt = (i: number): number | SyntaxProblem => {
    const braced = pattern[i + 2] === '{';
    const close = braced ? pattern.indexOf('}', i + 3) : i + 2;
    if (close === -1) {
      return { message: `has an unterminated Unicode class ${pattern.slice(i)}`, fix: 'close it with "}"' };
    }
    const name = (braced ? pattern.slice(i + 3, close) : pattern.slice(i + 2, i + 3)).replace(/^\^/, '');
    if (name === 'Any' || UNICODE_CATEGORIES.has(name) || (braced && isUnicodeScript(name))) {
      return close + 1 - i;
    }
    return {
      message: `uses the Unicode class ${pattern.slice(i, close + 1)}, which RE2 does not have`,
      fix: 'use a general category such as \\pL or \\p{Lu}, or a script such as \\p{Greek}',
    };
  };
  /** The length of a character class at i (RE2's reading: a "]" right after "[" or "[^" is literal). */
  const classAt = (i: number): number | SyntaxProblem => {
    let j = pattern[i + 1] === '^' ? i + 2 : i + 1;
    let first = true;
    while (j < pattern.length && (pattern[j] !== ']' || first)) {
      first = false;
      const posix = pattern.startsWith('[:', j) ? pattern.indexOf(':]', j + 2) : -1;
      if (posix !== -1) {
        const name = pattern.slice(j + 2, posix).replace(/^\^/, '');
        if (!POSIX_CLASSES.has(name)) {
          return {
            message: `uses the character class [:${name}:], which RE2 does not have`,
            fix: `use one of ${[...POSIX_CLASSES].map((n) => `[:${n}:]`).join(', ')}`,
          };
        }
        j = posix + 2;
        continue;
      }
      if (pattern[j] !== '\\') {
        j += pattern.codePointAt(j)! > 0xffff ? 2 : 1;
        continue;
      }
      const n = /[pP]/.test(pattern[j + 1] ?? '') ? unicodeClassAt(j) : escapeAt(j, true);
      if (typeof n !== 'number') return n;
      j += n;
    }
    if (j >= pattern.length) {
      return {
        message: 'is not a valid regular expression to RE2 (missing closing ])',
        fix: 'close the character class; RE2 reads a "]" right after "[" or "[^" as part of the class',
      };
    }
    return j + 1 - i;
  };

  // Per open group, the repetition count each item needs: counted repetitions multiply through
  // nested groups, and RE2 refuses a product above 1000 (repeatIsValid in parse.go).
  const groups: number[][] = [[]];
  const names = new Set<string>();
  let i = 0;
  while (i < pattern.length) {
    const items = groups[groups.length - 1];
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        i = end === -1 ? pattern.length : end + 2;
        items.push(1);
        continue;
      }
      const n = next === 'p' || next === 'P' ? unicodeClassAt(i) : escapeAt(i, false);
      if (typeof n !== 'number') return n;
      i += n;
      items.push(1);
    } else if (c === '[') {
      const n = classAt(i);
      if (typeof n !== 'number') return n;
      i += n;
      items.push(1);
    } else if (c === '(') {
      const flags = /^\(\?[imsU-]*\)/.exec(pattern.slice(i));
      if (flags) {
        i += flags[0].length;
        continue;
      }
      const named = /^\(\?P?<([^>]*)>/.exec(pattern.slice(i));
      if (named) {
        if (!/^[A-Za-z0-9_]+$/.test(named[1]) || names.has(named[1])) {
          return {
            message: `names a group "${named[1]}", which RE2 refuses${names.has(named[1]) ? ' as a duplicate' : ''}`,
            fix: 'name each group once, with letters, digits and "_"',
          };
        }
        names.add(named[1]);
      }
      i += named ? named[0].length : (/^\(\?[imsU-]*:/.exec(pattern.slice(i))?.[0].length ?? 1);
      groups.push([]);
    } else if (c === ')') {
      const inner = groups.length > 1 ? groups.pop()! : [];
      groups[groups.length - 1].push(Math.max(1, ...inner));
      i += 1;
    } else if (c === '{') {
      const repeat = /^\{(\d+)(?:(,)(\d*))?\}/.exec(pattern.slice(i));
      if (!repeat) {
        items.push(1);
        i += 1;
        continue;
      }
      const min = Number(repeat[1]);
      const max = repeat[2] === undefined ? min : repeat[3] === '' ? -1 : Number(repeat[3]);
      const count = max === -1 ? min : max;
      const repeated = items.pop() ?? 1;
      const need = count === 0 ? 1 : count * repeated;
      if (min > MAX_REPEAT || max > MAX_REPEAT || need > MAX_REPEAT) {
        return {
          message: `repeats ${need > Math.max(min, max) ? `${need} times through nested counted repetitions` : `${Math.max(min, max)} times`}, above RE2's limit of ${MAX_REPEAT}`,
          fix: 'use * or + instead of a large count, or smaller counts',
        };
      }
      items.push(need);
      i += repeat[0].length;
    } else {
      // "|" starts another alternative, "*", "+", "?" repeat without a count; neither multiplies.
      if (!'|*+?'.includes(c)) items.push(1);
      i += pattern.codePointAt(i)! > 0xffff ? 2 : 1;
    }
  }
  return undefined;
}

function isUnicodeScript(name: string): boolean {
  try {
    new RegExp(`\\p{Script=${name}}`, 'u');
    return true;
  } catch {
    return false;
  }
}

/** The reference grammar of github.com/distribution/reference (domain, path, tag, digest). */
const IMAGE_REFERENCE = (() => {
  const domainPart = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
  const domain = `(?:${domainPart}(?:\\.${domainPart})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const tag = '[\\w][\\w.-]{0,127}';
  const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
  return new RegExp(`^(?:${domain}/)?${component}(?:/${component})*(?::${tag})?(?:@${digest})?$`);
})();

function describeMillis(ms: number): string {
  return `${Number(ms.toPrecision(6))}ms`;
}

/**
 * Registers a validation on `scope` that reports what `check` finds when the app synthesizes.
 * `check` runs late, so it sees everything added after the constructor (routes, callers, ...).
 */
export function validateWith(scope: IConstruct, check: (problems: Problems) => void): void {
  // A chart's own code calls this too, possibly from JavaScript.
  if (!Construct.isConstruct(scope))
    refuseArgument(
      'validateWith',
      'scope',
      scope,
      'a construct',
      'pass the construct the rule belongs to, e.g. validateWith(this, ...)',
    );
  if (typeof check !== 'function')
    refuseArgument(
      'validateWith',
      'check',
      check,
      'a function',
      'pass (problems) => { ... } that adds what it finds with problems.add(field, message, fix)',
    );
  scope.node.addValidation({
    validate: () => {
      const problems = new Problems();
      check(problems);
      return problems.list.map(formatProblem);
    },
  });
}
