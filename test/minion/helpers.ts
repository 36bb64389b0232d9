import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { MinionReport, SpawnCommand } from '../../actors/index.js';

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(condition: () => T | undefined | false | null, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const pidAlive = (pid: number): boolean => {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    // a zombie still has a /proc entry; treat it as gone
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return false;
  }
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

let counter = 0;
/** A spawn command running `node -e script`. */
export function nodeSpawn(script: string, overrides: Partial<SpawnCommand> = {}): SpawnCommand {
  counter += 1;
  return {
    kind: 'spawn',
    tenant: 'acme',
    processKey: `acme:web:${counter}`,
    runId: `run-${process.pid}-${counter}-${Date.now()}`,
    cmd: process.execPath,
    args: ['-e', script],
    env: {},
    cwd: null,
    ready: { kind: 'none' },
    stopSignal: 'SIGTERM',
    stopWaitMs: 2000,
    ...overrides,
  };
}

export class ReportLog {
  readonly reports: MinionReport[] = [];
  push = (report: MinionReport): void => {
    this.reports.push(report);
  };
  of<K extends MinionReport['kind']>(kind: K, runId?: string): Extract<MinionReport, { kind: K }>[] {
    return this.reports.filter(
      (r) => r.kind === kind && (runId === undefined || !('runId' in r) || r.runId === runId),
    ) as Extract<MinionReport, { kind: K }>[];
  }
  lines(runId: string): { fd: string; line: string; truncated?: boolean }[] {
    return this.of('output', runId).flatMap((r) => r.lines);
  }
}
