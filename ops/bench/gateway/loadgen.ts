// Builds and drives loadgen.c, the gateway benchmark's load generator (a C process, so the
// clients do not saturate a core before the servers do). Compiled once per source version
// into the temp directory with the machine's C compiler.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClientTarget } from './peers.js';

/** loadgen.c lives beside this file's source; from dist/ that is three folders up. */
function sourcePath(): string {
  const beside = fileURLToPath(new URL('./loadgen.c', import.meta.url));
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL('../../../../ops/bench/gateway/loadgen.c', import.meta.url));
}

/** The compiled binary's path; throws with the compiler's message when it cannot be built. */
export function buildLoadgen(): string {
  const source = sourcePath();
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const binary = join(tmpdir(), `corral-loadgen-${hash}`);
  if (existsSync(binary)) return binary;
  // compiled under a name of this process's own, then renamed: concurrent builders never share a half-written file
  const partial = `${binary}.${process.pid}.tmp`;
  const compiled = spawnSync('cc', ['-O2', '-Wall', '-o', partial, source], { encoding: 'utf8' });
  if (compiled.error || compiled.status !== 0) {
    throw new Error(`the load generator needs a C compiler (apt-get install gcc): ${compiled.error?.message ?? compiled.stderr.trim()}`);
  }
  renameSync(partial, binary);
  return binary;
}

export interface LoadReport {
  events: number;
  frames: number;
  minEvents: number;
  bytes: number;
  closed: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  cpuPercent: number;
}

export interface Reached {
  reached: number;
  minEvents: number;
  maxEvents: number;
  /** clients that received `lagged` at least once */
  lagged: number;
}

/** One load generator process: `count` clients of `target` in `groups` groups. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private readonly replies: Record<string, unknown>[] = [];
  private wake: (() => void) | null = null;
  private errors = '';

  constructor(target: ClientTarget, count: number, groups: number) {
    const args = [target.kind, String(target.port), String(count), String(groups), target.path, ...(target.message ? [target.message] : [])];
    this.child = spawn(buildLoadgen(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.errors += chunk.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.replies.push(JSON.parse(line));
      this.wake?.();
    });
  }

  /** The next reply; the generator's stderr is in the error when it died or went quiet. */
  async next(timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`the load generator did not answer${this.errors ? `: ${this.errors.trim()}` : ''}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.replies.shift()!;
  }

  ready(timeoutMs = 180_000): Promise<Record<string, unknown>> {
    return this.next(timeoutMs);
  }

  async reset(sampleEvery = 1): Promise<void> {
    this.child.stdin!.write(`reset ${sampleEvery}\n`);
    await this.next();
  }

  async report(): Promise<LoadReport> {
    this.child.stdin!.write('report\n');
    return (await this.next()) as unknown as LoadReport;
  }

  /** Stops the generator and resolves once its process (and so every socket) is gone. */
  async close(): Promise<void> {
    const exited = new Promise((resolve) => (this.child.exitCode !== null ? resolve(undefined) : this.child.once('exit', resolve)));
    this.stop();
    await exited;
  }

  /** Resolves once every client has seen an event at `position` or later (corral peers); rejects at once when a client was closed short of it. */
  async reach(position: number, timeoutMs = 120_000): Promise<Reached> {
    this.child.stdin!.write(`target ${position}\n`);
    const reply = await this.next(timeoutMs).catch(async (error: Error) => {
      // which clients are short of it, and in what state: the difference between a stuck server and a slow machine
      this.child.stdin!.write(`behind ${position}\n`);
      const behind = await this.next(5000).catch(() => null);
      throw new Error(`${error.message} (waiting for every client to reach position ${position}; short of it: ${JSON.stringify(behind)})`);
    });
    if (typeof reply.error === 'string') throw new Error(`the load generator: ${reply.error}`);
    return reply as unknown as Reached;
  }

  stop(): void {
    this.child.stdin!.end('exit\n');
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}
