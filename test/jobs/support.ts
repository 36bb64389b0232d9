import type { ConnectedMinion, Grains, JobService, MinionCommand, MinionPort, RunJobCommand } from '../../actors/index.js';
import type { EventStore, RecordedEvent } from '../../store/index.js';
import { jobStream } from '../../store/index.js';

export interface FakeMinionSpec {
  id: string;
  grains?: Partial<Grains>;
  /** how this minion answers a runJob: after `delayMs` real milliseconds (0: next microtask), or never */
  answer?: { delayMs: number } | 'never';
  /** the result it returns (default: test.ping's `true`, success) */
  result?: (command: RunJobCommand) => { return: unknown; retcode: number; success: boolean };
}

const baseGrains = (id: string): Grains => ({ os: 'linux', arch: 'x64', hostname: id, cpus: 2, memory: 1 << 30, nodeVersion: 'v20' });

/**
 * An in-memory MinionPort: minions that are connected, receive commands, and answer runJob
 * with a jobReturn report through the service, like the gateway's hub would.
 */
export class FakeMinionPort implements MinionPort {
  readonly sent: { minion: string; command: MinionCommand }[] = [];
  private readonly minions = new Map<string, FakeMinionSpec>();
  private readonly disconnected = new Set<string>();
  private service: JobService | undefined;
  /** handleReturn rejections (should stay empty) */
  readonly errors: unknown[] = [];
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    readonly tenant: string,
    specs: FakeMinionSpec[],
  ) {
    for (const spec of specs) this.minions.set(spec.id, spec);
  }

  attach(service: JobService): this {
    this.service = service;
    return this;
  }

  disconnect(id: string): void {
    this.disconnected.add(id);
  }

  reconnect(id: string): void {
    this.disconnected.delete(id);
  }

  connected(tenant: string): ConnectedMinion[] {
    if (tenant !== this.tenant) return [];
    return [...this.minions.values()]
      .filter((spec) => !this.disconnected.has(spec.id))
      .map((spec) => ({
        id: spec.id,
        tenant,
        key: `${tenant}:${spec.id}`,
        version: 'test',
        protocol: 1,
        grains: { ...baseGrains(spec.id), ...spec.grains } as Grains,
      }));
  }

  send(minionId: string, command: MinionCommand): boolean {
    const spec = this.minions.get(minionId);
    if (!spec || this.disconnected.has(minionId) || command.tenant !== this.tenant) return false;
    this.sent.push({ minion: minionId, command });
    if (command.kind === 'runJob' && spec.answer !== 'never') {
      const delayMs = spec.answer?.delayMs ?? 0;
      const answer = (): void => void this.reply(minionId, command);
      if (delayMs === 0) queueMicrotask(answer);
      else setTimeout(answer, delayMs);
    }
    return true;
  }

  /** Sends minion `minionId`'s return for `command` (also usable by tests to resend or answer late). */
  reply(minionId: string, command: Pick<RunJobCommand, 'jid' | 'fun' | 'args' | 'timeoutMs' | 'tenant'>, override?: { return: unknown; retcode: number; success: boolean }): Promise<void> {
    const spec = this.minions.get(minionId);
    const result = override ?? spec?.result?.({ kind: 'runJob', ...command }) ?? { return: true, retcode: 0, success: true };
    const service = this.service;
    if (!service) throw new Error('FakeMinionPort: attach a service first');
    const done = service
      .handleReturn(minionId, { kind: 'jobReturn', tenant: command.tenant, jid: command.jid, minion: minionId, durationMs: 1, ...result })
      .catch((error: unknown) => void this.errors.push(error))
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
    return done;
  }

  commandsFor(jid: string, kind: MinionCommand['kind']): { minion: string; command: MinionCommand }[] {
    return this.sent.filter((entry) => entry.command.kind === kind && 'jid' in entry.command && entry.command.jid === jid);
  }

  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }
}

export async function readJobEvents(store: EventStore, tenant: string, jid: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readStream(jobStream(tenant, jid), { afterRevision: events.length - 1, limit: 1000 });
    events.push(...page);
    if (page.length < 1000) return events;
  }
}

export interface FoldedJob {
  state: string;
  minions: Record<string, { state: 'pending' | 'returned' | 'timeout'; success?: boolean; retcode?: number; return?: unknown }>;
  returns: number;
}

/** The jobs view's state and per-minion states as docs/architecture.md "Views" defines them, folded from the log. */
export function foldJob(events: readonly RecordedEvent[]): FoldedJob {
  const job: FoldedJob = { state: 'pending', minions: {}, returns: 0 };
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    switch (event.action) {
      case 'create':
        job.state = 'pending';
        break;
      case 'dispatch':
        job.state = 'running';
        for (const minion of data.minions as string[]) job.minions[minion] = { state: 'pending' };
        break;
      case 'return':
        job.returns += 1;
        job.minions[data.minion as string] = {
          state: 'returned',
          success: data.success as boolean,
          retcode: data.retcode as number,
          return: data.return,
        };
        break;
      case 'complete':
        job.state = data.state as string;
        break;
      case 'timeout':
        job.state = 'timeout';
        for (const minion of data.minions as string[]) job.minions[minion] = { state: 'timeout' };
        break;
      case 'cancel':
        job.state = 'cancelled';
        break;
    }
  }
  return job;
}

/** Polls `condition` until it holds or the deadline passes (no fixed sleeps as synchronisation). */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeoutMs = 10_000, what = 'condition' } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
