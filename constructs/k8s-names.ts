/**
 * Kubernetes' name grammars, in one place: the constructs' own checks (validation.ts) and the
 * admission pass (admission/api-server.ts) must agree on them to the character. Each follows
 * k8s.io/apimachinery/pkg/util/validation/validation.go.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** An RFC 1123 label of at most 63 characters (IsDNS1123Label). */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** An RFC 1035 label of at most 63 characters, starting with a letter (IsDNS1035Label). */
export function isDns1035Label(value: string): boolean {
  return value.length <= 63 && DNS1035_LABEL.test(value);
}

/** Dot-separated RFC 1123 labels, with no length limit of its own: callers apply theirs. */
export function isDnsName(value: string): boolean {
  return DNS1123_NAME.test(value);
}

/** An RFC 1123 subdomain of at most 253 characters (IsDNS1123Subdomain). */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_NAME.test(value);
}

/**
 * What is wrong with a qualified name (label and annotation keys): an optional DNS subdomain
 * prefix and "/", then at most 63 letters, digits, "-", "_" and ".", starting and ending with a
 * letter or digit (IsQualifiedName); undefined when nothing is.
 */
export function qualifiedNameProblem(key: string): string | undefined {
  // Most keys have no prefix and pass: settle them without splitting.
  if (key.length <= 63 && QUALIFIED_NAME.test(key)) return undefined;
  const parts = key.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return 'has a prefix that is not a DNS-1123 subdomain';
  if (name.length === 0) return 'has an empty name part';
  if (name.length > 63) return `has a name part of ${name.length} characters, more than 63`;
  if (!QUALIFIED_NAME.test(name))
    return 'has a name part that is not letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  return undefined;
}

/** A label value: empty, or at most 63 letters, digits, "-", "_" and "." (IsValidLabelValue). */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}
