/**
 * The optional Pulumi packages each component needs only for some clusters and registries, loaded
 * when that component is created: a stack on kind or on an existing cluster never loads, and a
 * project that uses only those never installs, @pulumi/aws and @pulumi/eks (the largest packages of
 * the lot); @pulumi/command and @pulumi/docker load only for kind and for images built here.
 * @pulumi/pulumi and @pulumi/kubernetes are loaded by every component, as usual.
 *
 * All four are CommonJS, so `require` serves them synchronously from the same module cache an
 * `import` would use: a program or a test that imported one already gets that very instance.
 */
import { createRequire } from 'node:module';
import type * as Aws from '@pulumi/aws';
import type * as Command from '@pulumi/command';
import type * as Docker from '@pulumi/docker';
import type * as Eks from '@pulumi/eks';

const require = createRequire(import.meta.url);

interface OptionalPeers {
  '@pulumi/aws': typeof Aws;
  '@pulumi/command': typeof Command;
  '@pulumi/docker': typeof Docker;
  '@pulumi/eks': typeof Eks;
}

/** The peer's version range in mesh-kit's package.json, for the install command of the message. */
function range(name: keyof OptionalPeers): string {
  try {
    const pkg = require('../../package.json') as { peerDependencies?: Record<string, string> };
    return pkg.peerDependencies?.[name] ?? 'latest';
  } catch {
    return 'latest';
  }
}

/**
 * The optional peer `name`, loaded on first use; `user` (e.g. "EksCluster") is named in the error
 * when it is not installed.
 */
export function optionalPeer<N extends keyof OptionalPeers>(name: N, user: string): OptionalPeers[N] {
  try {
    return require(name) as OptionalPeers[N];
  } catch (e) {
    // Only the peer itself missing: a module missing deeper down is a broken install, reported as is.
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${name}'`)) {
      throw new Error(
        `mesh-kit/pulumi: ${user} needs the optional peer dependency ${name}, which is not installed; run: npm install ${name}@${JSON.stringify(range(name))}`,
        { cause: e },
      );
    }
    throw e;
  }
}
