import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareSyntheses,
  type DiffReport,
  hasChanges,
  renderMarkdown,
  renderText,
} from '../../tools/mesh/diff-report.js';
import { type Manifest } from '../../tools/mesh/manifest.js';
import { NET, obj } from './support.js';

const vs = (w1: number, w3: number) =>
  obj(NET, 'VirtualService', 'reviews', {
    hosts: ['reviews.shop.svc.cluster.local'],
    http: [
      {
        name: 'canary',
        route: [
          { destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v1' }, weight: w1 },
          { destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v3' }, weight: w3 },
        ],
      },
    ],
  });
const ESC = String.fromCharCode(27);
const cm = obj('v1', 'ConfigMap', 'extra', undefined);

function report(): DiffReport {
  const base = new Map<string, Manifest[]>([
    ['shop/dev', [vs(80, 20)]],
    ['shop/prod', [vs(80, 20)]],
    ['shop/old', [vs(80, 20)]],
  ]);
  const head = new Map<string, Manifest[]>([
    ['shop/dev', [vs(90, 10), cm]],
    ['shop/prod', [vs(80, 20)]],
    ['bookinfo/all-v1', [cm]],
  ]);
  return {
    base: 'main (1234567)',
    head: 'the working tree',
    variants: compareSyntheses(base, head, [
      { app: 'shop', flag: 'env', variant: 'dev' },
      { app: 'shop', flag: 'env', variant: 'prod' },
    ]),
  };
}

describe('diff report', () => {
  it('compares variant by variant, including variants only one side has', () => {
    const r = report();
    assert.deepEqual(
      r.variants.map((v) => `${v.variant.app}/${v.variant.variant} ${v.status} ${v.objects.length}`),
      ['shop/dev changed 2', 'shop/prod unchanged 0', 'shop/old removed 1', 'bookinfo/all-v1 added 1'],
    );
    assert.equal(r.variants[3].variant.flag, 'scenario', 'the flag of an app this checkout knows');
    assert.equal(hasChanges(r), true);
    assert.equal(hasChanges({ ...r, variants: [r.variants[1]] }), false);
  });

  it('renders Markdown for a pull request comment: risks first, a details block per object', () => {
    const md = renderMarkdown(report());
    assert.match(
      md,
      /^## Mesh diff: main \(1234567\) → the working tree\n\n3 of 4 variants changed: 2 added, 1 removed, 1 changed objects; 2 risky changes\./,
    );
    const risky = md.indexOf('### ⚠️ Risky changes');
    assert.ok(risky > 0 && risky < md.indexOf('### shop env=dev'), 'risks come before the variants');
    assert.match(
      md,
      /- \*\*shop env=dev\*\* · `VirtualService shop\/reviews` — host reviews: route "canary": v1 80% · v3 20% → v1 90% · v3 10% _\(route-moved\)_/,
    );
    assert.match(
      md,
      /<details><summary><b>~<\/b> <code>VirtualService shop\/reviews<\/code> — 2 fields<\/summary>\n\n```\nspec\.http\[canary\]\.route\[v1\]\.weight: 80 → 90\nspec\.http\[canary\]\.route\[v3\]\.weight: 20 → 10\n```/,
    );
    assert.match(
      md,
      /<summary><b>\+<\/b> <code>ConfigMap shop\/extra<\/code> — added<\/summary>\n\n```yaml\napiVersion: v1\nkind: ConfigMap/,
    );
    assert.match(md, /### shop env=old \(variant removed\)/);
    assert.match(md, /### bookinfo scenario=all-v1 \(new variant\)/);
    assert.match(md, /Unchanged: shop env=prod\./);
    assert.ok(!md.includes(ESC), 'no ANSI colors');
  });

  it('renders text, with ANSI colors only when asked', () => {
    const plain = renderText(report(), false);
    assert.ok(!plain.includes(ESC), 'no ANSI colors');
    assert.ok(
      plain.includes(
        'Risky changes:\n  ! shop env=dev  VirtualService shop/reviews: host reviews: route "canary"',
      ),
      plain,
    );
    assert.ok(
      plain.includes(
        'shop env=dev: 1 added, 0 removed, 1 changed\n  + ConfigMap shop/extra\n  ~ VirtualService shop/reviews\n      spec.http[canary].route[v1].weight: 80 → 90\n',
      ),
      plain,
    );
    assert.match(plain, /unchanged: shop env=prod/);
    const colored = renderText(report(), true);
    assert.ok(colored.includes(`${ESC}[31m80${ESC}[0m → ${ESC}[32m90${ESC}[0m`), 'old in red, new in green');
  });

  it('says so when nothing changed', () => {
    const same = new Map([['shop/dev', [vs(80, 20)]]]);
    const r: DiffReport = { base: 'HEAD', head: 'the working tree', variants: compareSyntheses(same, same) };
    assert.match(renderMarkdown(r), /No changes in 1 variants\./);
    assert.match(renderText(r, false), /No changes in 1 variants\./);
  });
});
