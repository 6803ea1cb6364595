import assert from 'node:assert/strict';
import { type App, type Chart, Testing } from 'cdk8s';
import { AdmissionError } from '../../constructs/admission/index.js';
import { renderObjects } from '../../constructs/render.js';
import { validateObjects } from './schema.js';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [k: string]: any;
};

/** Synthesizes a chart as `cdk8s synth` does and validates every object against its schema. */
export function synth(chart: Chart): Manifest[] {
  return validateObjects(Testing.synth(chart) as Manifest[]) as Manifest[];
}

/** The one object of a kind and name; fails the test when there is none or more than one. */
export function find(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind} ${name}, found ${found.length} among: ${have}`);
  }
  return found[0];
}

export function all(objects: readonly Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

/** Synthesizes and returns the validation errors, one per line, without the cdk8s header. */
export function synthErrors(chart: Chart): string[] {
  try {
    Testing.synth(chart);
  } catch (e) {
    const msg = (e as Error).message;
    const lines = msg.split('\n');
    if (!lines[0].startsWith('Validation failed')) throw e;
    return lines.slice(1).map((l) => l.trim());
  }
  throw new Error('expected the synth to fail, but it succeeded');
}

/** The admission problems of rendering the app; fails when it renders. */
export function admissionProblems(app: App): readonly string[] {
  try {
    renderObjects(app);
  } catch (e) {
    if (e instanceof AdmissionError) return e.problems;
    throw e;
  }
  assert.fail('expected the admission pass to refuse the app');
}
