import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { APPS } from '../charts/index.js';
import { renderObjects } from '../constructs/index.js';
import { toYaml } from '../tools/yaml-writer.js';

/** Both readers of a stream, each refusing what it warns about or fails on. */
function readAs(version: '1.1' | '1.2', text: string): unknown[] {
  return parseAllDocuments(text, { version }).map((d) => {
    const [problem] = [...d.errors, ...d.warnings];
    if (problem) throw new Error(`YAML ${version}: ${problem.message}`);
    return d.toJS();
  });
}
const parse11 = (text: string) => readAs('1.1', text);
const parse12 = (text: string) => readAs('1.2', text);

/** A raw character kubectl's go-yaml v2 reader refuses or folds, or any other C0 control than LF. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;

/**
 * Each string and how it must be written, by hand: quoted where a YAML 1.1 reader (kubectl's
 * go-yaml v2) would read another type or syntax, or refuse or fold a character.
 */
const QUOTED: readonly (readonly [string, string])[] = [
  // YAML 1.1 booleans, every form of yaml.org/type/bool.html, and other cases as well.
  ['y', '"y"'],
  ['Y', '"Y"'],
  ['yes', '"yes"'],
  ['Yes', '"Yes"'],
  ['YES', '"YES"'],
  ['n', '"n"'],
  ['N', '"N"'],
  ['no', '"no"'],
  ['No', '"No"'],
  ['NO', '"NO"'],
  ['true', '"true"'],
  ['True', '"True"'],
  ['TRUE', '"TRUE"'],
  ['false', '"false"'],
  ['False', '"False"'],
  ['FALSE', '"FALSE"'],
  ['on', '"on"'],
  ['On', '"On"'],
  ['ON', '"ON"'],
  ['off', '"off"'],
  ['Off', '"Off"'],
  ['OFF', '"OFF"'],
  ['oN', '"oN"'],
  // Nulls.
  ['', '""'],
  ['~', '"~"'],
  ['null', '"null"'],
  ['Null', '"Null"'],
  ['NULL', '"NULL"'],
  // YAML 1.1 numbers: decimal, octal (0o and a leading 0), hex, binary, sexagesimal, with
  // underscores, floats, infinities and NaN.
  ['0', '"0"'],
  ['12', '"12"'],
  ['-1', '"-1"'],
  ['+1', '"+1"'],
  ['+_1', '"+_1"'],
  ['_1', '"_1"'],
  ['017', '"017"'],
  ['0o17', '"0o17"'],
  ['0x1F', '"0x1F"'],
  ['0b101', '"0b101"'],
  ['1:20', '"1:20"'],
  ['190:20:30.15', '"190:20:30.15"'],
  ['1_000', '"1_000"'],
  ['1.5', '"1.5"'],
  ['.5', '".5"'],
  ['._5', '"._5"'],
  ['.', '"."'],
  ['+.', '"+."'],
  ['1e3', '"1e3"'],
  ['6.8523015e+5', '"6.8523015e+5"'],
  ['e5', '"e5"'],
  ['.E-5', '".E-5"'],
  ['.inf', '".inf"'],
  ['.Inf', '".Inf"'],
  ['+.INF', '"+.INF"'],
  ['-.inf', '"-.inf"'],
  ['.nan', '".nan"'],
  ['.NaN', '".NaN"'],
  ['.NAN', '".NAN"'],
  // Timestamps.
  ['2001-12-14', '"2001-12-14"'],
  ['2001-12-14t21:59:43.10-05:00', '"2001-12-14t21:59:43.10-05:00"'],
  ['2001-12-14 21:59:43.10 -5', '"2001-12-14 21:59:43.10 -5"'],
  // The YAML 1.1 merge and value keys.
  ['<<', '"<<"'],
  ['=', '"="'],
  // Indicators first.
  ['-', '"-"'],
  ['- x', '"- x"'],
  ['-x', '"-x"'],
  ['---', '"---"'],
  ['?', '"?"'],
  ['? x', '"? x"'],
  [':', '":"'],
  [': x', '": x"'],
  [',x', '",x"'],
  ['[x]', '"[x]"'],
  [']x', '"]x"'],
  ['{x}', '"{x}"'],
  ['}x', '"}x"'],
  ['#x', '"#x"'],
  ['&x', '"&x"'],
  ['*x', '"*x"'],
  ['*.example.com', '"*.example.com"'],
  ['!x', '"!x"'],
  ['|x', '"|x"'],
  ['>x', '">x"'],
  ["'x'", `"'x'"`],
  ['"x"', '"\\"x\\""'],
  ['%x', '"%x"'],
  ['@x', '"@x"'],
  ['`x`', '"`x`"'],
  ['...', '"..."'],
  ['... x', '"... x"'],
  // Inside and at the ends.
  ['a: b', '"a: b"'],
  ['a:\tb', '"a:\\tb"'],
  ['a #b', '"a #b"'],
  ['a# b', '"a# b"'],
  ['x:', '"x:"'],
  [' x', '" x"'],
  ['x ', '"x "'],
  ['\u00a0x', '"\u00a0x"'],
  // Line breaks, tabs and other C0 controls, JSON's escapes.
  ['line\nbreak', '"line\\nbreak"'],
  ['cr\r', '"cr\\r"'],
  ['tab\there', '"tab\\there"'],
  ['\u0000', '"\\u0000"'],
  ['\u0007', '"\\u0007"'],
  ['\b\f', '"\\b\\f"'],
  ['esc\u001b[0m', '"esc\\u001b[0m"'],
  ['back\\slash\u0001', '"back\\\\slash\\u0001"'],
  // DEL, C1 (NEL among them), LS, PS, BOM and the non-characters U+FFFE and U+FFFF: JSON leaves
  // them raw, go-yaml v2 refuses DEL, C1, U+FFFE and U+FFFF and folds NEL, LS and PS.
  ['del\u007f', '"del\\u007f"'],
  ['\u0080', '"\\u0080"'],
  ['a\u0085b', '"a\\u0085b"'],
  ['\u009f', '"\\u009f"'],
  ['a\u2028b', '"a\\u2028b"'],
  ['a\u2029b', '"a\\u2029b"'],
  ['\ufeffx', '"\\ufeffx"'],
  ['x\ufeff', '"x\\ufeff"'],
  ['\ufffe\uffff', '"\\ufffe\\uffff"'],
  // A quoted string keeps its non-BMP characters raw: UTF-8 carries them.
  [':\u{1f600}', '":\u{1f600}"'],
];

/** Strings both readers read back as themselves when written plain. */
const PLAIN = [
  'reviews',
  'yess',
  'e',
  'e5x',
  'nullable',
  'on-call',
  'ONE',
  'inbound|http|9080',
  '/api/*',
  'spiffe://cluster.local/ns/shop/sa/reviews',
  'http://a:80',
  'a:b',
  'a#b',
  'istio-system/*',
  'key=value',
  '==',
  '<<x',
  'p50%',
  'x..',
  '..x',
  '.well-known',
  'é',
  'a\u00a0b',
  '\u{1f600}',
];

/** mulberry32: a small seeded generator, so that a failing case can be replayed. */
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

/** Pieces of random strings: the dangerous forms and characters, and a few harmless ones. */
const PIECES = [
  ...QUOTED.map(([s]) => s),
  ...'-?:,[]{}#&*!|>\'"%@`~<=._+0123456789 \t\n\r\\/'.split(''),
  ...['\u0000', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f', '\u00a0', '\u2028', '\u2029'],
  ...['\ufeff', '\ufffe', '\uffff', '\u{1f600}', 'é', 'x', 'ab', 'e', 'y', 'n', 'O', 'inf', 'nan'],
  ...[': ', ' #', '...', '---', '0x', '0o', '0b', '1:', '2001-', '12-14'],
];

describe('the YAML writer', () => {
  it('round-trips every sample app through YAML 1.1 and 1.2 readers', () => {
    for (const sample of APPS.apps) {
      for (const variant of sample.variants) {
        const app = new App();
        sample.build(app, variant);
        const objects = renderObjects(app);
        const text = toYaml(objects);
        assert.deepEqual(parse11(text), objects, `${sample.name} ${variant}, YAML 1.1`);
        assert.deepEqual(parse12(text), objects, `${sample.name} ${variant}, YAML 1.2`);
      }
    }
  });

  it('quotes every string a YAML 1.1 reader would take for something else, as a value, a key and an item', () => {
    for (const [s, written] of QUOTED) {
      const what = JSON.stringify(s);
      assert.equal(toYaml([{ v: s }]), `v: ${written}\n`, what);
      assert.equal(toYaml([{ [s]: 'v' }]), `${written}: v\n`, what);
      assert.equal(
        toYaml([{ l: [s, { [s]: s }] }]),
        `l:\n  - ${written}\n  - ${written}: ${written}\n`,
        what,
      );
    }
    const doc = {
      strings: QUOTED.map(([s]) => s),
      map: Object.fromEntries(QUOTED.map(([s], i) => [s, i])),
    };
    const text = toYaml([doc]);
    assert.deepEqual(parse11(text), [doc]);
    assert.deepEqual(parse12(text), [doc]);
    assert.doesNotMatch(text, RAW_CONTROL);
  });

  it('leaves plain what both readers read back as the same string', () => {
    for (const s of PLAIN) {
      assert.equal(toYaml([{ [s]: s }]), `${s}: ${s}\n`, JSON.stringify(s));
    }
    const doc = { strings: PLAIN, map: Object.fromEntries(PLAIN.map((s, i) => [s, i])) };
    assert.deepEqual(parse11(toYaml([doc])), [doc]);
    assert.deepEqual(parse12(toYaml([doc])), [doc]);
  });

  it('refuses a lone surrogate, which has no YAML form', () => {
    assert.throws(() => toYaml([{ v: 'a\ud800' }]), {
      message: 'yaml-writer: "a\\ud800" has a lone UTF-16 surrogate, which no YAML form can carry',
    });
    assert.throws(() => toYaml([{ ['\udc00']: 1 }]), {
      message: 'yaml-writer: "\\udc00" has a lone UTF-16 surrogate, which no YAML form can carry',
    });
  });

  it('reads back random strings of dangerous pieces exactly, in YAML 1.1 and 1.2, with no raw control character', () => {
    const seed = 0x5eed13;
    const next = random(seed);
    const cases: { s: string; text: string; doc: unknown }[] = [];
    for (let i = 0; i < 1500; i++) {
      let s = '';
      for (let n = 1 + Math.floor(next() * 4); n > 0; n--) s += PIECES[Math.floor(next() * PIECES.length)];
      const doc = { v: s, l: [s], m: { [s]: s } };
      cases.push({ s, text: toYaml([doc]), doc });
    }
    const stream = cases.map((c) => c.text).join('---\n');
    const read = { '1.1': parse11(stream), '1.2': parse12(stream) };
    cases.forEach(({ s, text, doc }, i) => {
      const where = `seed ${seed}, case ${i}: ${JSON.stringify(s)} written as ${JSON.stringify(text)}`;
      assert.doesNotMatch(text, RAW_CONTROL, where);
      assert.deepEqual(read['1.1'][i], doc, `${where}, YAML 1.1`);
      assert.deepEqual(read['1.2'][i], doc, `${where}, YAML 1.2`);
    });
  });

  it('writes numbers, booleans and nested sequences of mappings', () => {
    const doc = {
      a: 1,
      b: -2.5,
      c: true,
      d: false,
      e: [[1, 2], [{ x: 1, y: [3] }], []],
      f: [{ g: { h: 'i' } }],
      empty: { a: [], b: {} },
    };
    assert.deepEqual(parse11(toYaml([doc]))[0], doc);
    assert.equal(toYaml([{ a: { b: [{ c: 1, d: 2 }] } }]), 'a:\n  b:\n    - c: 1\n      d: 2\n');
    assert.equal(
      toYaml([{ a: true, b: false, c: null, d: -2.5, e: [], f: {} }, { g: 0 }]),
      'a: true\nb: false\nc: null\nd: -2.5\ne: []\nf: {}\n---\ng: 0\n',
    );
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
      /^services=20 objects=\d+ bytes=\d+ synth_ms=\d+ admission_ms=\d+ admission_share=\d+\.\d% floor_ms=\d+ ratio=\d+\.\d\d peak_rss_mb=\d+$/,
    );
    assert.ok(Number(/objects=(\d+)/.exec(out)![1]) > 200);
  });
});
