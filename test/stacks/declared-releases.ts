/**
 * Prints the Helm releases a stack declares, as JSON: runs the Pulumi program under the test mocks
 * with the stack's config file (and the TLS secrets a cloud stack needs), then writes each
 * `kubernetes:helm.sh/v3:Release`'s inputs to the file named by the second argument. A separate
 * process per stack, because the mocks and the program module are per process.
 *
 *   node lib/test/stacks/declared-releases.js <stack> <out.json> [dataPlane]
 */
import { writeFileSync } from 'node:fs';
import { byType, installMocks, settle, stackConfigFile, TLS_SECRETS, valueOf } from './mocks.js';

export interface DeclaredRelease {
  readonly name: string;
  readonly chart: string;
  readonly version: string;
  readonly repo: string;
  readonly namespace: string;
  readonly values: Record<string, unknown>;
}

const [stack, out, dataPlane] = process.argv.slice(2);
const cloud = stack !== 'dev';
const registered = await installMocks(
  stack,
  {
    ...stackConfigFile(stack),
    ...(cloud ? TLS_SECRETS.config : {}),
    ...(dataPlane ? { 'mesh-kit:dataPlane': dataPlane } : {}),
  },
  cloud ? TLS_SECRETS.secretKeys : [],
);
const program = await import('../../stacks/index.js');
await valueOf(program.ingressUrl);
await settle();
const releases: DeclaredRelease[] = byType(registered, 'kubernetes:helm.sh/v3:Release').map((r) => ({
  name: r.inputs.name,
  chart: r.inputs.chart,
  version: r.inputs.version,
  repo: r.inputs.repositoryOpts.repo,
  namespace: r.inputs.namespace,
  values: r.inputs.values,
}));
writeFileSync(out, JSON.stringify(releases, null, 2));
