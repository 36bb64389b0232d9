import type { MinionReport, SpawnCommand } from '../../actors/index.js';
import { freePort, pidAlive } from '../support/index.js';

export { freePort, pidAlive };

/** A `node -e` script writing `rate` numbered lines per second for `seconds`, honouring pipe backpressure. */
export const lineWriterScript = (rate: number, seconds: number): string => `
  const total = ${rate * seconds}, perTick = ${rate / 100};
  let n = 0; const start = Date.now();
  function tick() {
    const due = Math.min(total, Math.floor((Date.now() - start) / 10) * perTick + perTick);
    let chunk = '';
    while (n < due) chunk += 'line ' + (n++) + ' of the output stream\\n';
    const ok = chunk ? process.stdout.write(chunk) : true;
    if (n >= total) return;
    if (ok) setTimeout(tick, 10); else process.stdout.once('drain', tick);
  }
  tick();`;

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
