import assert from 'node:assert/strict';
import type { App } from 'cdk8s';
import { charts, orderedApiObjects, toManifest } from '../../constructs/render.js';

/**
 * Every object of the app through constructs/render.ts and through cdk8s's own toJson(), key
 * order included; returns how many were compared.
 */
export function assertSameAsCdk8s(app: App): number {
  let count = 0;
  for (const chart of charts(app)) {
    for (const o of orderedApiObjects(chart)) {
      assert.equal(
        JSON.stringify(toManifest(o)),
        JSON.stringify(o.toJson()),
        `${o.node.path} renders as cdk8s does`,
      );
      count++;
    }
  }
  return count;
}
