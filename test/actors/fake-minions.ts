import type { ActorClock as Clock } from '../../actors/index.js';
import type { Grains, MinionCommand, MinionHello, MinionPort, MinionReport, MinionReportSink, RunningProcess } from '../../actors/index.js';

/**
 * The minion side as a test double: records every command the actors send, keeps a table
 * of the runs it "runs", and emits reports through the runtime's sink like the hub would.
 * With `auto`, a spawn is answered with spawned + ready and a stop with an exit, as a
 * well-behaved minion would; tests drive crashes and odd cases by hand.
 */
export interface FakeRun extends RunningProcess {
  minion: string;
}

export interface FakeMinionsOptions {
  /** answer spawns (spawned + ready) and stops (exited) by themselves (default true) */
  auto?: boolean;
  /** processes ignore the stop signal (only SIGKILL ends them) */
  stubbornStops?: boolean;
}

export const TEST_GRAINS: Grains = { os: 'linux', arch: 'x64', hostname: 'h1', cpus: 2, memory: 1 << 30, nodeVersion: 'v20' };

export class FakeMinions implements MinionPort {
  readonly commands: { minion: string; command: MinionCommand }[] = [];
  readonly runs = new Map<string, FakeRun>();
  private readonly online = new Map<string, string[]>();
  private nextPid = 1000;
  sink: MinionReportSink | null = null;
  /** reports in flight (tests wait for them to settle) */
  private readonly pending = new Set<Promise<void>>();
  readonly errors: unknown[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly options: FakeMinionsOptions = {},
  ) {}

  send(minionId: string, command: MinionCommand): boolean {
    if (!this.online.has(minionId)) return false;
    this.commands.push({ minion: minionId, command });
    if (this.options.auto === false) return true;
    if (command.kind === 'spawn') {
      if ([...this.runs.values()].some((run) => run.runId === command.runId)) return true;
      const pid = this.nextPid++;
      const run: FakeRun = {
        minion: minionId,
        tenant: command.tenant,
        processKey: command.processKey,
        runId: command.runId,
        pid,
        startedAt: this.clock.now(),
        ready: true,
      };
      this.runs.set(run.runId, run);
      this.emitLater(minionId, { kind: 'spawned', tenant: run.tenant, processKey: run.processKey, runId: run.runId, pid, startedAt: run.startedAt });
      this.emitLater(minionId, { kind: 'ready', tenant: run.tenant, processKey: run.processKey, runId: run.runId, pid });
    } else if (command.kind === 'stop' || command.kind === 'signal') {
      const run = this.runs.get(command.runId);
      if (!run) return true;
      const ends = command.signal === 'SIGKILL' || !this.options.stubbornStops;
      if (ends) this.exit(run.runId, { signal: command.signal });
    }
    return true;
  }

  connected(tenant: string) {
    return [...this.online.entries()]
      .filter(([, tenants]) => tenants.includes(tenant))
      .map(([id]) => ({ id, tenant, key: `${tenant}:${id}`, version: 'test', protocol: 1, grains: TEST_GRAINS }));
  }

  /** The minion (re)connects and reports what it runs (`running` overrides its own table). */
  async connect(id: string, tenants: string[], running?: RunningProcess[]): Promise<void> {
    this.online.set(id, tenants);
    const hello: MinionHello = {
      id,
      version: 'test',
      protocol: 1,
      grains: TEST_GRAINS,
      tenants,
      running: running ?? [...this.runs.values()].filter((run) => run.minion === id).map(({ minion: _minion, ...run }) => run),
    };
    await this.sink!.minionConnected(hello);
  }

  async disconnect(id: string): Promise<void> {
    const tenants = this.online.get(id) ?? [];
    this.online.delete(id);
    await this.sink!.minionDisconnected(id, tenants, 'test');
  }

  /** the run currently recorded by this fake for a process key */
  runOf(processKey: string): FakeRun | undefined {
    return [...this.runs.values()].filter((run) => run.processKey === processKey).at(-1);
  }

  /** The run ends (crash, kill -9 from outside, or the end of a stop). */
  exit(runId: string, how: { code?: number | null; signal?: string | null } = {}): void {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`fake minion: no run ${runId}`);
    this.runs.delete(runId);
    const now = this.clock.now();
    this.emitLater(run.minion, {
      kind: 'exited',
      tenant: run.tenant,
      processKey: run.processKey,
      runId,
      pid: run.pid,
      code: how.code ?? (how.signal ? null : 0),
      signal: how.signal ?? null,
      exitedAt: now,
      durationMs: now - run.startedAt,
      usage: null,
    });
  }

  emit(minionId: string, report: MinionReport): Promise<void> {
    return this.sink!.report(minionId, report);
  }

  private emitLater(minionId: string, report: MinionReport): void {
    const work = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.sink!.report(minionId, report))
      .catch((error: unknown) => {
        this.errors.push(error);
      });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  spawnCommands(processKey?: string): MinionCommand[] {
    return this.commands
      .map((entry) => entry.command)
      .filter((command) => command.kind === 'spawn' && (processKey === undefined || ('processKey' in command && command.processKey === processKey)));
  }
}
