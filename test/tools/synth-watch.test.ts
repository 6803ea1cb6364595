// npm run synth -- --watch, as a user runs it: in a copy of the project (so the test can edit its
// charts), one app and variant, edits saved while it runs.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Lines of a stream as they come, awaited one pattern at a time. */
class Lines {
  private buffer = '';
  readonly all: string[] = [];
  private waiter?: { pattern: RegExp; resolve: (line: string) => void };
  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.buffer += d;
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop() ?? '';
      for (const line of parts) {
        this.all.push(line);
        if (this.waiter?.pattern.test(line)) {
          this.waiter.resolve(line);
          this.waiter = undefined;
        }
      }
    });
  }
  /** The next line (from now on) that matches, or a failure naming what came instead. */
  next(pattern: RegExp, ms = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern} within ${ms} ms; got:\n${this.all.join('\n')}`)),
        ms,
      );
      this.waiter = {
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
    });
  }
}

describe('npm run synth -- --watch', () => {
  let tmp = '';
  let project = '';
  let out = '';
  let watcher: ChildProcessWithoutNullStreams;
  let stdout: Lines;
  let stderr: Lines;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'synth-watch-'));
    project = join(tmp, 'project');
    for (const f of ['charts', 'constructs', 'imports', 'tools', 'package.json', 'tsconfig.json']) {
      cpSync(join(ROOT, f), join(project, f), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(project, 'tools', 'build.mjs'), '--root', project, '--quiet']);
    out = join(tmp, 'out');
    watcher = spawn(
      process.execPath,
      [join(project, 'lib', 'tools', 'synth.js'), '--watch', '--app', 'shop', '--env', 'dev', '--out', out],
      { cwd: tmp },
    );
    stdout = new Lines(watcher.stdout);
    stderr = new Lines(watcher.stderr);
    await stdout.next(/^watching charts\/, constructs\/, imports\/, tools\/ \(Ctrl-C to stop\)$/);
  });

  after(() => {
    watcher.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  const edit = (from: string, to: string) => {
    const file = join(project, 'charts', 'environments.ts');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.includes(from), `charts/environments.ts has ${from}`);
    writeFileSync(file, text.replace(from, to));
  };
  const outputText = () =>
    readdirSync(out)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => readFileSync(join(out, f), 'utf8'))
      .join('---\n');

  it('synthesizes at start: every object is new', () => {
    assert.match(stdout.all[0], /^\[\d\d:\d\d:\d\d\] start: shop env=dev \d+ added: \+ /);
    assert.match(outputText(), /randomSamplingPercentage: 100\n/);
  });

  it('synthesizes again on a save and names the changed object and field', async () => {
    const line = stdout.next(/charts\/environments\.ts: shop env=dev/);
    edit('tracingSamplingPercentage: 100,', 'tracingSamplingPercentage: 50,');
    assert.match(
      await line,
      /charts\/environments\.ts: shop env=dev 1 changed: ~ Telemetry shop\/\S+ spec\.tracing\[0\]\.randomSamplingPercentage 100 → 50 \(\d+ ms\)$/,
    );
    assert.match(outputText(), /randomSamplingPercentage: 50\n/);
  });

  it('reports a syntax error and a failing synth, and leaves the output as it was', async () => {
    const before = outputText();
    const syntax = stderr.next(/charts\/environments\.ts: build failed: 1 syntax error/);
    edit('tracingSamplingPercentage: 50,', 'tracingSamplingPercentage: ,');
    await syntax;
    assert.match(
      stderr.all.join('\n'),
      /build failed: 1 syntax error\(s\)\n.*charts\/environments\.ts:\d+:\d+: .*\noutput left as it was$/,
    );
    assert.equal(outputText(), before);
    const failed = stderr.next(/charts\/environments\.ts: synth failed \(\d+ ms\)/);
    edit('tracingSamplingPercentage: ,', 'tracingSamplingPercentage: 150,');
    await failed;
    assert.match(
      stderr.all.join('\n'),
      /synth failed \(\d+ ms\)\n[\s\S]*tracing\.samplingPercentage: 150 is not a percentage/,
    );
    assert.equal(outputText(), before);
    // Fixed again: back to work, and to 100 %.
    const fixed = stdout.next(/charts\/environments\.ts: shop env=dev 1 changed/);
    edit('tracingSamplingPercentage: 150,', 'tracingSamplingPercentage: 100,');
    assert.match(await fixed, /randomSamplingPercentage 50 → 100/);
  });

  it('stops on Ctrl-C (SIGINT) with exit code 0', async () => {
    const closed = new Promise<number | null>((resolve) => watcher.on('close', resolve));
    watcher.kill('SIGINT');
    assert.equal(await closed, 0);
  });
});
