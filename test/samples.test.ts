import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { APPS } from '../charts/index.js';
import { renderFiles } from '../tools/synth.js';
import { validateObjects } from './support/schema.js';

describe('every sample app, environment and scenario', () => {
  for (const sample of APPS.apps) {
    for (const variant of sample.variants) {
      it(`${sample.name} --${sample.variantFlag} ${variant} synthesizes objects a cluster accepts`, () => {
        const app = new App();
        sample.build(app, variant);
        const docs = [...renderFiles(app).values()].flatMap((yaml) =>
          parseAllDocuments(yaml).map((d) => d.toJS()),
        );
        assert.ok(docs.length > 20, `only ${docs.length} objects`);
        // Kubernetes and Istio schemas, unknown fields, and the restricted Pod Security Standard.
        validateObjects(docs);
        const ids = docs.map(
          (d) => `${d.apiVersion} ${d.kind} ${d.metadata.namespace ?? ''}/${d.metadata.name}`,
        );
        assert.equal(new Set(ids).size, ids.length, 'no object twice');
      });
    }
  }
});
