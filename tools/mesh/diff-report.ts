/**
 * The comparison of two syntheses, variant by variant, and its presentation: Markdown for a pull
 * request comment (a details block per object) or text for a terminal (ANSI colors optional).
 */
import { stringify as toYaml } from 'yaml';
import { type BehaviourChange, behaviourDiff } from './behaviour.js';
import { type Manifest } from './manifest.js';
import { diffManifests, type FieldChange, formatValue, type ObjectDiff } from './object-diff.js';
import { findRisks, type Risk } from './risks.js';
import { type Variant, variantFlag, variantKey, variantLabel } from './variants.js';

export interface VariantDiff {
  readonly variant: Variant;
  /** 'added': only the head has the variant; 'removed': only the base. */
  readonly status: 'changed' | 'unchanged' | 'added' | 'removed';
  readonly objects: readonly ObjectDiff[];
  readonly risks: readonly Risk[];
  /**
   * What the change does to requests, explained on both refs (a changed variant only): the
   * number of requests asked and the changes, access widened and traffic moved first.
   */
  readonly behaviour: { readonly requests: number; readonly changes: readonly BehaviourChange[] } | null;
}

export interface DiffReport {
  /** "main (8b40200)" */
  readonly base: string;
  /** "the working tree" or "feature (1a2b3c4)" */
  readonly head: string;
  readonly variants: readonly VariantDiff[];
}

/**
 * Compares the variants of two syntheses (keyed "app/variant"), in the order of `order` and then
 * any variant only one side has.
 */
export function compareSyntheses(
  base: ReadonlyMap<string, Manifest[]>,
  head: ReadonlyMap<string, Manifest[]>,
  order: readonly Variant[] = [],
): VariantDiff[] {
  const variants = [...order];
  const known = new Set(order.map(variantKey));
  for (const key of [...base.keys(), ...head.keys()]) {
    if (known.has(key)) continue;
    known.add(key);
    const [app, variant] = key.split('/');
    variants.push({ app, variant, flag: variantFlag(app) });
  }
  return variants
    .map((v) => {
      const key = variantKey(v);
      const b = base.get(key);
      const h = head.get(key);
      if (!b && !h) return undefined;
      const objects = diffManifests(b ?? [], h ?? []);
      const status = !b ? 'added' : !h ? 'removed' : objects.length > 0 ? 'changed' : 'unchanged';
      // Identical objects behave identically: requests are explained only where objects changed.
      // Objects that define no request (no Service, host or ServiceEntry) get no behaviour section.
      const asked = status === 'changed' && b && h ? behaviourDiff(b, h) : null;
      const behaviour = asked && (asked.requests > 0 || asked.changes.length > 0) ? asked : null;
      return {
        variant: v,
        status,
        objects,
        risks: findRisks(objects, h ?? []),
        behaviour,
      } satisfies VariantDiff;
    })
    .filter((v) => v !== undefined);
}

export function hasChanges(report: DiffReport): boolean {
  return report.variants.some((v) => v.objects.length > 0 || v.status === 'added' || v.status === 'removed');
}

function counts(objects: readonly ObjectDiff[]): string {
  const n = (s: ObjectDiff['status']) => objects.filter((o) => o.status === s).length;
  return [`${n('added')} added`, `${n('removed')} removed`, `${n('changed')} changed`].join(', ');
}

function summary(report: DiffReport): string {
  const changed = report.variants.filter((v) => v.status !== 'unchanged');
  const objects = report.variants.flatMap((v) => v.objects);
  const risks = report.variants.flatMap((v) => v.risks).length;
  if (changed.length === 0) return `No changes in ${report.variants.length} variants.`;
  return `${changed.length} of ${report.variants.length} variants changed: ${counts(objects)} objects${risks ? `; ${risks} risky change${risks > 1 ? 's' : ''}` : ''}.`;
}

function variantNote(v: VariantDiff): string {
  return v.status === 'added' ? ' (new variant)' : v.status === 'removed' ? ' (variant removed)' : '';
}

function fieldLine(c: FieldChange): string {
  return `${c.path}: ${formatValue(c.old)} → ${formatValue(c.new)}`;
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

/** The behaviour changes of a variant that widen access or move traffic. */
function riskyBehaviour(v: VariantDiff): readonly BehaviourChange[] {
  return v.behaviour?.changes.filter((c) => c.risk !== null) ?? [];
}

function behaviourSummary(b: NonNullable<VariantDiff['behaviour']>): string {
  const n = b.changes.length;
  return `${b.requests} requests explained on both refs: ${n === 0 ? 'none behaves differently' : `${n} change${n === 1 ? '' : 's'}`}`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** GitHub's limit for a comment is 65,536 characters; without object bodies the report is far smaller. */
const MARKDOWN_LIMIT = 60_000;

export function renderMarkdown(report: DiffReport): string {
  const full = markdown(report, true);
  return full.length <= MARKDOWN_LIMIT ? full : markdown(report, false);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeMd(s: string): string {
  return escapeHtml(s).replace(/([\\`*_[\]|])/g, '\\$1');
}

function fence(body: string, lang = ''): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((m) => m.length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${body.replace(/\n$/, '')}\n${f}`;
}

function markdown(report: DiffReport, bodies: boolean): string {
  const out: string[] = [];
  out.push(`## Mesh diff: ${escapeMd(report.base)} → ${escapeMd(report.head)}`, '', summary(report), '');
  const risks = report.variants.flatMap((v) => v.risks.map((r) => ({ v, r })));
  const behaviourRisks = report.variants.flatMap((v) => riskyBehaviour(v).map((c) => ({ v, c })));
  if (risks.length + behaviourRisks.length > 0) {
    out.push('### ⚠️ Risky changes', '');
    for (const { v, c } of behaviourRisks) {
      out.push(`- **${escapeMd(variantLabel(v.variant))}** · behaviour — ${escapeMd(c.text)} _(${c.risk})_`);
    }
    for (const { v, r } of risks) {
      out.push(
        `- **${escapeMd(variantLabel(v.variant))}** · \`${r.object}\` — ${escapeMd(r.message)} _(${r.rule})_`,
      );
    }
    out.push('');
  }
  for (const v of report.variants) {
    if (v.status === 'unchanged') continue;
    out.push(`### ${escapeMd(variantLabel(v.variant))}${variantNote(v)}`, '', `${counts(v.objects)}`, '');
    if (v.behaviour) {
      out.push(`**Behaviour** (${behaviourSummary(v.behaviour)})`, '');
      for (const c of v.behaviour.changes) out.push(`- ${c.risk ? '⚠️ ' : ''}${escapeMd(c.text)}`);
      if (v.behaviour.changes.length > 0) out.push('');
    }
    for (const o of v.objects) {
      const detail =
        o.status === 'changed'
          ? fence(o.changes.map(fieldLine).join('\n'))
          : bodies
            ? fence(toYaml(o.head ?? o.base), 'yaml')
            : '_(object body left out to keep the comment within GitHub’s size limit)_';
      const what =
        o.status === 'changed' ? `${o.changes.length} field${o.changes.length === 1 ? '' : 's'}` : o.status;
      out.push(
        `<details><summary><b>${SIGN[o.status]}</b> <code>${escapeHtml(o.label)}</code> — ${what}</summary>`,
        '',
        detail,
        '',
        '</details>',
        '',
      );
    }
  }
  const unchanged = report.variants.filter((v) => v.status === 'unchanged');
  if (unchanged.length > 0 && unchanged.length < report.variants.length) {
    out.push(`Unchanged: ${unchanged.map((v) => escapeMd(variantLabel(v.variant))).join(', ')}.`, '');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Text

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;

export function renderText(report: DiffReport, color: boolean): string {
  const c = (style: keyof typeof ANSI, s: string) => (color ? `\x1b[${ANSI[style]}m${s}\x1b[0m` : s);
  const out: string[] = [];
  out.push(c('bold', `mesh diff ${report.base} → ${report.head}`), summary(report), '');
  const risks = report.variants.flatMap((v) => v.risks.map((r) => ({ v, r })));
  const behaviourRisks = report.variants.flatMap((v) => riskyBehaviour(v).map((b) => ({ v, b })));
  if (risks.length + behaviourRisks.length > 0) {
    out.push(c('bold', c('red', 'Risky changes:')));
    for (const { v, b } of behaviourRisks) {
      out.push(
        `  ${c('red', '!')} ${variantLabel(v.variant)}  ${c('bold', 'behaviour')}: ${b.text} ${c('dim', `(${b.risk})`)}`,
      );
    }
    for (const { v, r } of risks) {
      out.push(
        `  ${c('red', '!')} ${variantLabel(v.variant)}  ${c('bold', r.object)}: ${r.message} ${c('dim', `(${r.rule})`)}`,
      );
    }
    out.push('');
  }
  const colorOf = { added: 'green', removed: 'red', changed: 'yellow' } as const;
  for (const v of report.variants) {
    if (v.status === 'unchanged') continue;
    out.push(c('bold', c('cyan', `${variantLabel(v.variant)}${variantNote(v)}: ${counts(v.objects)}`)));
    if (v.behaviour) {
      out.push(`  behaviour (${behaviourSummary(v.behaviour)})`);
      for (const b of v.behaviour.changes) out.push(`    ${b.risk ? c('red', '!') : ' '} ${b.text}`);
    }
    for (const o of v.objects) {
      out.push(`  ${c(colorOf[o.status], `${SIGN[o.status]} ${o.label}`)}`);
      for (const ch of o.changes) {
        const line =
          ch.old === undefined
            ? c('green', `${ch.path}: ${formatValue(ch.old)} → ${formatValue(ch.new)}`)
            : ch.new === undefined
              ? c('red', fieldLine(ch))
              : `${ch.path}: ${c('red', formatValue(ch.old))} → ${c('green', formatValue(ch.new))}`;
        out.push(`      ${line}`);
      }
    }
    out.push('');
  }
  const unchanged = report.variants.filter((v) => v.status === 'unchanged');
  if (unchanged.length > 0 && unchanged.length < report.variants.length) {
    out.push(c('dim', `unchanged: ${unchanged.map((v) => variantLabel(v.variant)).join(', ')}`));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
