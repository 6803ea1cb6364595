/**
 * Props objects for the generated classes, built from the model tools/gen-json-mappers.ts reads
 * out of cdk8s's own mappers: each field in the form its mapper expects (nested types, arrays,
 * maps, IntOrString, dates), some left out, plus fields no mapper knows (a misspelling, the JSON
 * name of a renamed field) that must be dropped. test/tools/gen-json-mappers.test.ts maps them through the
 * generated functions and through cdk8s's manifest(), and test/render.test.ts renders objects
 * built from them; `reached` records every mapper a sample went through.
 */
import type { Field, Mapper, SourceModel, ValueForm } from '../../tools/gen-json-mappers.js';

export interface SampleOptions {
  /** Seed of the pseudo-random choices: the same seed gives the same props. */
  readonly seed: number;
  /** Chance that a known field is set (1: every field). */
  readonly fill: number;
  /** Dates and map keys "__proto__", which only a direct mapper call can take (cdk8s's resolver refuses a Date). */
  readonly exotic: boolean;
  /** Nested types deeper than this are left out (some types contain themselves). */
  readonly depth?: number;
}

/** mulberry32: small, seeded, good enough to vary the samples. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SampleBuilder {
  /** The mapper types a sample was built for, by source name. */
  public readonly reached = new Set<string>();
  private readonly mappers = new Map<string, Mapper>();
  private readonly next: () => number;
  private counter = 0;

  public constructor(
    private readonly model: SourceModel,
    private readonly options: SampleOptions,
  ) {
    for (const m of model.mappers) this.mappers.set(m.type, m);
    this.next = random(options.seed);
  }

  /** Props for a kind's class. */
  public props(kind: string): Record<string, unknown> {
    const k = this.model.kinds.find((x) => x.kind === kind);
    if (!k) throw new Error(`no kind ${kind} in ${this.model.source.name}`);
    return this.object(k.props, 0);
  }

  private chance(p: number): boolean {
    return this.next() < p;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }

  private object(type: string, depth: number): Record<string, unknown> {
    const mapper = this.mappers.get(type);
    if (!mapper) throw new Error(`no mapper ${type}`);
    this.reached.add(type);
    const out: Record<string, unknown> = {};
    for (const f of mapper.fields) {
      // Props carry apiVersion and kind themselves; the mappers drop them, so they stay plain text.
      if (!this.chance(this.options.fill)) continue;
      const v = this.field(f, depth);
      if (v !== undefined || this.chance(0.2)) out[f.ts] = v;
      // A renamed field given under its JSON name is not the field: it must be dropped.
      if (f.json !== f.ts && this.chance(0.5)) out[f.json] = 'under its JSON name';
    }
    if (this.chance(0.5)) out[`unknownField${this.counter++}`] = { dropped: true };
    return out;
  }

  private nested(type: string, depth: number): Record<string, unknown> | undefined {
    return depth >= (this.options.depth ?? 10) ? undefined : this.object(type, depth + 1);
  }

  private field(f: Field, depth: number): unknown {
    const s = f.shape;
    switch (s.form) {
      case 'objects': {
        if (depth >= (this.options.depth ?? 10)) return undefined;
        const n = 1 + Math.floor(this.next() * 2);
        return Array.from({ length: n }, () => this.object(s.type, depth + 1));
      }
      case 'date':
        return this.options.exotic ? new Date(Date.UTC(2026, 11, 3, this.counter++ % 24)) : undefined;
      case 'map': {
        const m: Record<string, unknown> = {};
        // Integer-like keys, which objects list first, and one whose value is undefined.
        for (const key of this.pick([['b', 'a'], ['z', '10', '2'], ['app', 'version'], []])) {
          m[key] = this.value(s.value, depth);
        }
        if (this.chance(0.3)) m.skipped = undefined;
        if (this.options.exotic && this.chance(0.3)) {
          Object.defineProperty(m, '__proto__', {
            value: this.value(s.value, depth),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return m;
      }
      default:
        return this.value(s, depth);
    }
  }

  private value(v: ValueForm, depth: number): unknown {
    switch (v.form) {
      case 'plain':
        return this.pick<unknown>([
          `text-${this.counter++}`,
          this.counter++,
          true,
          false,
          ['a', 'b'],
          { free: 'form', nested: { n: 1 } },
        ]);
      case 'object':
        return this.nested(v.type, depth);
      case 'array':
        return this.pick([['x'], ['y', 'z'], []]);
      case 'intOrString':
        // What IntOrString.fromNumber/fromString (and cdk8s's resolver) give: { value }.
        return { value: this.pick<number | string>([8080, 'http', '25%']) };
    }
  }
}
