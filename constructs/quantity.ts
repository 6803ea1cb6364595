// resource.Quantity read as a number (k8s.io/apimachinery/pkg/api/resource/quantity.go): the
// admission pass compares requests with limits and checks int64 ranges with it, and the
// autoscaling rules check HPA targets. One parser for both, so they agree on every suffix.

/** resource.Quantity's suffixes and what they multiply by. */
const QUANTITY_SCALE: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY_PARTS = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The value of a quantity string (or a number, as given); undefined when it is not one. */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === 'number') return q;
  const m = QUANTITY_PARTS.exec(q);
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  return Number(m[1]) * (QUANTITY_SCALE[suffix] ?? 10 ** Number(suffix.slice(1)));
}
