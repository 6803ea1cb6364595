import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './support/harness.js';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Dockerfile instructions: comments dropped, backslash continuations joined. */
function parse(text: string): { preamble: Instruction[]; stages: Stage[]; comments: string[] } {
  const instructions: Instruction[] = [];
  const comments: string[] = [];
  let pending = '';
  let start = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (pending === '' && line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    if (pending === '' && line === '') continue;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: start });
  }
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const parts = instruction.args.split(/\s+/).filter((part) => !part.startsWith('--'));
      const as = parts.findIndex((part) => part.toUpperCase() === 'AS');
      stages.push({ from: parts[0] ?? '', name: as >= 0 ? parts[as + 1] : undefined, instructions: [] });
    } else if (stages.length === 0) {
      preamble.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { preamble, stages, comments };
}

const SERVICES = [
  'storefront',
  'catalog',
  'reviews',
  'ratings',
  'payments-api',
  'payments-ledger',
  'payments-notifier',
] as const;
const root = repoRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const NODE_IMAGE = 'node:24.19.0-alpine3.24';

describe('sample services (bookshop and payments): Dockerfiles', () => {
  for (const service of SERVICES) {
    describe(`services/${service}/Dockerfile`, () => {
      const text = read(`services/${service}/Dockerfile`);
      const { preamble, stages, comments } = parse(text);
      const build = stages[0];
      const runtime = stages.at(-1);

      it('documents its build command with services/ as the context', () => {
        assert.ok(
          comments.some((c) => c.includes(`docker build -f services/${service}/Dockerfile services`)),
        );
      });

      it('is multi-stage, every stage on the same fully pinned base defined once by an ARG', () => {
        assert.ok(stages.length >= 2, 'at least a build and a runtime stage');
        const args = preamble.filter((i) => i.keyword === 'ARG');
        assert.equal(args.length, 1);
        const [argName, image = ''] = args[0]!.args.split('=');
        assert.equal(image, NODE_IMAGE);
        for (const stage of stages) {
          assert.equal(stage.from, `\${${argName}}`, 'FROM uses the ARG');
        }
        const [repository, tag = ''] = image.split(':');
        assert.equal(repository, 'node');
        assert.notEqual(tag, 'latest');
        assert.match(tag, /^\d+\.\d+\.\d+-alpine\d+\.\d+$/, 'a full version tag, not a bare major');
      });

      it('compiles TypeScript in the build stage with the locked toolchain', () => {
        const steps = build!.instructions;
        assert.ok(steps.some((i) => i.keyword === 'COPY' && /package\.json package-lock\.json/.test(i.args)));
        assert.ok(steps.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)));
        assert.ok(steps.some((i) => i.keyword === 'RUN' && /\btsc -p tsconfig\.json\b/.test(i.args)));
      });

      it('copies only the build output into the runtime stage', () => {
        const steps = runtime!.instructions;
        assert.ok(!steps.some((i) => i.keyword === 'ADD'), 'no ADD');
        const copies = steps.filter((i) => i.keyword === 'COPY');
        assert.ok(copies.length > 0);
        for (const copy of copies) {
          assert.match(copy.args, new RegExp(`^--from=${build!.name} /src/dist/? `), copy.args);
        }
        assert.ok(
          !steps.some((i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.args)),
          'no install',
        );
      });

      it('runs as a numeric non-root user (not 0, not the sidecar 1337) and exposes 8080', () => {
        const users = runtime!.instructions.filter((i) => i.keyword === 'USER');
        assert.equal(users.length, 1);
        const match = /^(\d+):(\d+)$/.exec(users[0]!.args);
        assert.ok(match, `numeric uid:gid, got ${users[0]!.args}`);
        for (const id of [match[1], match[2]]) {
          assert.notEqual(Number(id), 0);
          assert.notEqual(Number(id), 1337);
        }
        const instructions = runtime!.instructions.map((i) => i.keyword);
        assert.ok(
          instructions.lastIndexOf('USER') > instructions.lastIndexOf('COPY'),
          'USER after the files',
        );
        assert.deepEqual(
          runtime!.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args),
          ['8080'],
        );
      });

      it('starts node on the compiled entry point with an exec-form CMD', () => {
        const cmds = runtime!.instructions.filter((i) => i.keyword === 'CMD');
        assert.equal(cmds.length, 1);
        assert.deepEqual(JSON.parse(cmds[0]!.args), ['node', `${service}/main.js`]);
        assert.ok(!runtime!.instructions.some((i) => i.keyword === 'ENTRYPOINT'));
      });
    });
  }

  it('pins TypeScript exactly, with a lockfile, and has no runtime dependencies', () => {
    const pkg = JSON.parse(read('services/package.json')) as Record<
      string,
      Record<string, string> | undefined
    >;
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.devDependencies?.typescript, '5.9.3');
    for (const version of Object.values(pkg.devDependencies ?? {})) assert.match(version, /^\d+\.\d+\.\d+$/);
    const lock = JSON.parse(read('services/package-lock.json')) as {
      packages: Record<string, { version?: string }>;
    };
    assert.equal(lock.packages['node_modules/typescript']?.version, '5.9.3');
  });

  it('keeps node_modules and build output out of the build context', () => {
    const ignored = read('services/.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    assert.ok(ignored.includes('**/node_modules'));
    assert.ok(ignored.includes('**/dist'));
  });
});
