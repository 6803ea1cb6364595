import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentToYaml, toYaml } from '../tools/yaml-writer.js';

// The writer's exact text, where a round trip through a YAML parser cannot tell: a string quoted
// that needs no quotes, an empty mapping, a skipped undefined, and what it refuses to write.

describe('the YAML writer, to the byte', () => {
  it('leaves plain the strings that only contain what would need quotes at their start or end', () => {
    for (const plain of [
      'inbound|http|9080',
      'istio-system/*',
      'http://a:80',
      'a b',
      'v1',
      'x0b',
      'button',
      'onion',
      'a-b?c',
      'key=value',
    ]) {
      assert.equal(toYaml([{ k: plain }]), `k: ${plain}\n`, plain);
    }
  });

  it('writes null, empty collections and mappings in sequences', () => {
    assert.equal(
      toYaml([{ a: null, b: [], c: {}, d: [null, 1, {}, { e: 'f', g: [] }] }]),
      'a: null\nb: []\nc: {}\nd:\n  - null\n  - 1\n  - {}\n  - e: f\n    g: []\n',
    );
  });

  it('skips undefined values, and writes a mapping of nothing but undefined as {}', () => {
    assert.equal(
      toYaml([{ a: 1, b: undefined, c: { d: undefined }, e: [{ f: undefined }, { g: undefined, h: 2 }] }]),
      'a: 1\nc: {}\ne:\n  - {}\n  - h: 2\n',
    );
  });

  it('separates documents with ---', () => {
    assert.equal(toYaml([{ a: 1 }, { b: 2 }]), 'a: 1\n---\nb: 2\n');
  });

  it('refuses numbers YAML has no form for, and documents that are not mappings', () => {
    assert.throws(() => toYaml([{ a: Infinity }]), {
      message: 'yaml-writer: Infinity has no YAML form here',
    });
    assert.throws(() => toYaml([{ a: [NaN] }]), { message: 'yaml-writer: NaN has no YAML form here' });
    for (const doc of [null, [], ['a'], 'a', 1]) {
      assert.throws(() => documentToYaml(doc), { message: 'yaml-writer: every document must be a mapping' });
    }
  });
});
