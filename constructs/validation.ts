import type { Duration } from 'cdk8s';
import type { IConstruct } from 'constructs';

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
    if (!DNS_LABEL.test(value) || value.length > 63) {
      this.add(
        field,
        `"${value}" is not a valid RFC 1123 label`,
        'use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      );
    }
  }

  /** DNS-1123 subdomain, as Kubernetes requires for most object names. */
  public dnsSubdomain(field: string, value: string): void {
    if (value.length > 253 || !isDnsName(value)) {
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

  /** Envoy durations: Istio rejects anything under 1 ms, and anything finer than a millisecond is lost. */
  public duration(field: string, value: Duration | undefined): void {
    if (value === undefined) return;
    const ms = value.toMilliseconds({ integral: false });
    if (!(ms >= 1)) {
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

  /** Kubernetes durations in whole seconds (probes, grace periods); the API server refuses fractions. */
  public wholeSeconds(field: string, value: Duration | undefined, min: number): void {
    const ms = value?.toMilliseconds({ integral: false });
    if (ms !== undefined && (ms < min * 1000 || ms % 1000 !== 0)) {
      this.add(
        field,
        `${ms}ms is not a whole number of seconds${min > 0 ? ` of at least ${min}` : ''}`,
        `use Duration.seconds(n)${min > 0 ? ` with n ≥ ${min}` : ''}`,
      );
    }
  }

  public percent(field: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value < 0 || value > 100) {
      this.add(field, `${value} is not a percentage`, 'use a number from 0 to 100');
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
      namespace === '*' || namespace === '.' || namespace === '~' || DNS_LABEL.test(namespace);
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
   * An RE2 pattern, as Envoy compiles it: refused when JavaScript cannot parse it either, or when
   * it uses what RE2 leaves out (lookaround, backreferences).
   */
  public re2(field: string, pattern: string): void {
    // RE2 syntax JavaScript lacks, turned into what JavaScript reads the same way for this check:
    // \Q...\E quoting, named groups (RE2 allows names JavaScript does not, so they become plain
    // groups), flag groups (?i) and (?i:...), and the anchors \A and \z.
    const asJs = pattern
      .replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_, text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))
      .replace(/\(\?P?<(?![=!])[^>]*>/g, '(')
      .replace(/\(\?[imsU-]+\)/g, '')
      .replace(/\(\?[imsU-]+:/g, '(?:')
      .replace(/(?<!\\)\\A/g, '^')
      .replace(/(?<!\\)\\z/g, '$');
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
    }
  }

  public httpStatus(field: string, value: number): void {
    if (!Number.isInteger(value) || value < 200 || value > 599) {
      this.add(field, `${value} is not an HTTP status Envoy can return`, 'use a status from 200 to 599');
    }
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Dot-separated RFC 1123 labels (no length limit of its own: callers apply theirs). */
function isDnsName(value: string): boolean {
  return value.split('.').every((part) => DNS_LABEL.test(part));
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
  scope.node.addValidation({
    validate: () => {
      const problems = new Problems();
      check(problems);
      return problems.list.map(formatProblem);
    },
  });
}
