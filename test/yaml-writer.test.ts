import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { SAMPLE_APPS } from '../charts/index.js';
import { renderObjects } from '../constructs/index.js';
import { toYaml } from '../tools/yaml-writer.js';

const parse = (text: string) => parseAllDocuments(text).map((d) => d.toJS());

describe('the YAML writer', () => {
  it('round-trips every sample app through a YAML 1.2 parser', () => {
    for (const sample of SAMPLE_APPS) {
      for (const variant of sample.variants) {
        const app = new App();
        sample.build(app, variant);
        const objects = renderObjects(app);
        assert.deepEqual(parse(toYaml(objects)), objects, `${sample.name} ${variant}`);
      }
    }
  });

  it('quotes every string a reader would take for something else', () => {
    const tricky = [
      '',
      ' ',
      'true',
      'False',
      'yes',
      'NO',
      'on',
      'off',
      'y',
      'n',
      'null',
      '~',
      '0',
      '-1',
      '+1',
      '1.5',
      '.5',
      '1e3',
      '0x1F',
      '0o17',
      '.inf',
      '-.Inf',
      '.nan',
      '1_000',
      '12:30',
      'a: b',
      'a #b',
      '#c',
      '- x',
      '? x',
      ': x',
      '[x]',
      '{x}',
      '*x',
      '&x',
      '!x',
      '|x',
      '>x',
      "'x'",
      '"x"',
      '%x',
      '@x',
      '`x`',
      'x:',
      'x ',
      'line\nbreak',
      'tab\there',
      '\u2028',
      'inbound|http|9080',
      '{"holdApplicationUntilProxyStarts":true}',
      '/api/*',
      '*.example.com',
      'spiffe://x',
      'http://a:80',
      'istio-system/*',
      '2024-01-01',
      'key=value',
      '50%',
      '=',
      '<<',
    ];
    const doc = {
      strings: tricky,
      map: Object.fromEntries(tricky.filter((k) => k !== '').map((k, i) => [k, i])),
      empty: { a: [], b: {} },
    };
    assert.deepEqual(parse(toYaml([doc]))[0], doc);
  });

  it('writes numbers, booleans and nested sequences of mappings', () => {
    const doc = {
      a: 1,
      b: -2.5,
      c: true,
      d: false,
      e: [[1, 2], [{ x: 1, y: [3] }], []],
      f: [{ g: { h: 'i' } }],
    };
    assert.deepEqual(parse(toYaml([doc]))[0], doc);
    assert.equal(toYaml([{ a: { b: [{ c: 1, d: 2 }] } }]), 'a:\n  b:\n    - c: 1\n      d: 2\n');
  });
});

describe('npm run bench', () => {
  it('prints the figures line for a small app', () => {
    const bench = fileURLToPath(new URL('../tools/bench.js', import.meta.url));
    const out = execFileSync(process.execPath, [bench, '--services', '20'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    assert.match(
      out,
      /^services=20 objects=\d+ bytes=\d+ synth_ms=\d+ admission_ms=\d+ floor_ms=\d+ ratio=\d+\.\d\d peak_rss_mb=\d+$/,
    );
    assert.ok(Number(/objects=(\d+)/.exec(out)![1]) > 200);
  });
});
