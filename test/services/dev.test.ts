import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVICES_BUILD, getJson, spawnNode, stopAll } from './support/harness.js';

/** The repository: lib/test/services/ → ./ */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('bookshop services: npm run dev', () => {
  after(stopAll);

  it('starts every service wired together, prints the URLs and stops them all on SIGTERM', async () => {
    // DEV_PORT_BASE=0: system-chosen ports, so the test never collides with a developer's `npm run dev`.
    const dev = spawnNode(join(SERVICES_BUILD, 'dev.js'), { DEV_PORT_BASE: '0' });
    const lines: string[] = [];
    // 'close': after the exit and after every line of output has been read.
    const exited = new Promise<number | null>((resolve) => dev.once('close', (code) => resolve(code)));
    const storefront = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev did not start: ${lines.join('\n')}`)), 10_000);
      createInterface({ input: dev.stdout! }).on('line', (line) => {
        lines.push(line);
        const match = /^\s+storefront\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then((code) => reject(new Error(`dev exited with ${code}: ${lines.join('\n')}`)));
    });
    for (const name of ['catalog', 'reviews v1', 'reviews v2', 'reviews v3', 'ratings']) {
      assert.ok(
        lines.some((line) => line.trimStart().startsWith(name)),
        `${name} URL printed`,
      );
    }

    const versions = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      const answer = await getJson(`${storefront}/api/books/1`);
      assert.equal(answer.status, 200);
      versions.add((answer.json.reviews as Record<string, unknown>).version);
    }
    assert.deepEqual([...versions].sort(), ['v1', 'v2', 'v3']);

    dev.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines.includes('bookshop: all services stopped'));
    const stopped = lines.filter((line) => line.includes('"msg":"shutdown complete"'));
    assert.equal(stopped.length, 6, 'six services shut down gracefully');
  });

  it('stops every service when npm itself gets SIGTERM (npm run dev execs node, no shell in between)', async () => {
    // npm signals only its direct child; a shell in between would not pass SIGTERM on.
    // detached: its own process group, so whatever it leaves behind can be killed at the end.
    const options = { cwd: ROOT, env: { ...process.env, DEV_PORT_BASE: '0' }, detached: true };
    const npmCli = process.env.npm_execpath;
    const npm = npmCli
      ? spawn(process.execPath, [npmCli, 'run', '--silent', 'dev'], options)
      : spawn('npm', ['run', '--silent', 'dev'], options);
    const killGroup = () => {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    after(killGroup);
    const lines: string[] = [];
    createInterface({ input: npm.stdout }).on('line', (line) => lines.push(line));
    const exited = new Promise<void>((resolve) => npm.once('close', () => resolve()));
    const deadline = Date.now() + 60_000;
    while (!lines.includes('Press Ctrl-C to stop.')) {
      assert.ok(Date.now() < deadline, `npm run dev did not start: ${lines.join('\n')}`);
      assert.equal(npm.exitCode, null, `npm run dev exited early: ${lines.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    npm.kill('SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => lines.includes('bookshop: all services stopped')),
      // unref: a pending timer would keep this suite's process alive 15 s after its last test.
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000).unref()),
    ]);
    assert.ok(stopped, `the services did not stop on npm's SIGTERM: ${lines.slice(-5).join('\n')}`);
  });
});
