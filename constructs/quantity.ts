// resource.Quantity read as a number (k8s.io/apimachinery/pkg/api/resource/quantity.go): the
// admission pass compares requests with limits and checks int64 ranges with it, and the
// autoscaling rules check HPA targets. One parser for both, so they agree on every suffix.

/** The power of ten of each decimal suffix, and of two of each binary one. */
const DECIMAL_EXPONENT: Readonly<Record<string, number>> = {
  '': 0,
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_EXPONENT: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** What each suffix multiplies by (10 ** -9 is exactly 1e-9, and so on). */
const QUANTITY_SCALE: Readonly<Record<string, number>> = Object.fromEntries([
  ...Object.entries(DECIMAL_EXPONENT).map(([suffix, e]) => [suffix, 10 ** e]),
  ...Object.entries(BINARY_EXPONENT).map(([suffix, e]) => [suffix, 2 ** e]),
]);

/**
 * Quantities as the API server parses them: a signed decimal number, then a binary suffix
 * (Ki … Ei), a decimal one (n, u, m, k, M … E) or an exponent (e3, E-2), nothing else. "1e+21m" (a
 * number and a suffix both) is not one. Groups: the number, the suffix.
 */
export const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The value of a quantity string (or a number, as given); undefined when it is not one. */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === 'number') return q;
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  return Number(m[1]) * (QUANTITY_SCALE[suffix] ?? 10 ** Number(suffix.slice(1)));
}

/** The largest exponent (or count of fraction digits) exactThousandths works out. */
const MAX_EXACT_EXPONENT = 64;

/**
 * A quantity's value in thousandths, exactly, as the fraction `numerator / denominator`, computed
 * on its digits: in floating point "4.1G" is 4099999999999.9995 thousandths, which a whole-number
 * test would refuse. Undefined for a string that is no quantity, or whose exponent or fraction
 * runs past 64 digits.
 */
export function exactThousandths(q: string | number): { numerator: bigint; denominator: bigint } | undefined {
  const m = QUANTITY.exec(typeof q === 'number' ? String(q) : q);
  if (!m) return undefined;
  const [whole, fraction = ''] = m[1].replace(/^[+-]/, '').split('.');
  let numerator = BigInt(`${whole}${fraction}` || '0') * 1000n;
  let denominator = 10n ** BigInt(fraction.length);
  const suffix = m[2] ?? '';
  const binary = BINARY_EXPONENT[suffix];
  if (binary !== undefined) numerator *= 2n ** BigInt(binary);
  else {
    const e = DECIMAL_EXPONENT[suffix] ?? Number(suffix.slice(1));
    // 10n ** 99999999n takes seconds and hundreds of megabytes: a quantity of that many digits is
    // not a value anyone writes, so it is left unanswered.
    if (Math.abs(e) > MAX_EXACT_EXPONENT || fraction.length > MAX_EXACT_EXPONENT) return undefined;
    if (e >= 0) numerator *= 10n ** BigInt(e);
    else denominator *= 10n ** BigInt(-e);
  }
  return { numerator, denominator };
}
