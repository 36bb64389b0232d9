/**
 * The minion's process supervisor: spawns managed processes on command, watches them, and
 * reports what happens to them (`spawned`, `ready`, `output`, `stats`, `exited`,
 * `spawnFailed`). It decides nothing about restarts: that is the process actor's job on the
 * server (docs/architecture.md "Actors and leadership"); the supervisor only executes and observes.
 *
 * Every run gets its own session and process group (`detached`), so a stop signal reaches
 * the whole tree, and a run is over only when its group is empty: when the leader exits on
 * its own, what it left behind in its group gets `stopSignal`, then SIGKILL after
 * `stopWaitMs`. A slot therefore never leaves stray processes behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import type {
  MinionReport,
  RunningProcess,
  SignalCommand,
  SpawnCommand,
  StopCommand,
} from '../../actors/index.js';
import { LineSplitter, OutputBatcher, type OutputLine } from './output.js';
import { processGroupAlive, processGroupHasLiveMembers, readCpuTimes, readPeakRssBytes, readRssBytes } from './procfs.js';
import { startReadinessProbe } from './readiness.js';
import { silentLogger, type Logger } from '../../store/index.js';
import { accountSpawnOptions, createAccountResolver, type AccountResolver, type RunAccount } from './accounts.js';
import { MINION_ENV, MINION_PID_ENV } from './orphans.js';

export interface SupervisorOptions {
  /** where reports go (the agent's outbox; a test's array) */
  report: (report: MinionReport) => void;
  /**
   * Asked after each output batch: true when the consumer holds too much unsent output. The
   * supervisor then pauses the children's pipes (they block on write instead of lines being
   * dropped) until `resumeOutput()` is called.
   */
  outputBlocked?: () => boolean;
  /** CPU/RSS sampling period; 0 disables sampling */
  statsIntervalMs?: number;
  outputFlushMs?: number;
  outputBatchLines?: number;
  maxLineBytes?: number;
  /** the environment every process starts from (default: PATH, HOME, LANG... of the minion) */
  baseEnv?: Record<string, string>;
  /**
   * Which OS account a run gets (accounts.ts): by default never root, `nobody` when the
   * minion is root and the command names no account, the minion's own user otherwise.
   */
  accounts?: AccountResolver;
  logger?: Logger;
  /** set as `CORRAL_MINION` in every run's environment: how a successor finds orphans (orphans.ts) */
  minionId?: string;
}

type Usage = { cpuUserMs: number; cpuSystemMs: number; maxRssBytes: number };

interface Run {
  command: SpawnCommand;
  child: ChildProcess;
  pid: number;
  startedAt: number;
  ready: boolean;
  exited: boolean;
  cancelReadiness: () => void;
  batcher: OutputBatcher;
  /** lines reported so far: the next batch's first line is `linesReported + 1` */
  linesReported: number;
  pipes: Readable[];
  lastCpu: { totalMs: number; at: number } | null;
  usage: Usage | null;
  killTimer: NodeJS.Timeout | null;
  /** resolves when the leader exited, `exited` was reported and the process group is empty */
  gone: Promise<void>;
}

/** What `proc.list` shows. */
export interface SupervisedProcessInfo extends RunningProcess {
  cmd: string;
  args: string[];
  cpu: number | null;
  rss: number | null;
}

const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME', 'TMPDIR', 'SHELL'];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** how long to wait for stdout/stderr to reach EOF after the leader exited (a grandchild may hold them) */
const STDIO_DRAIN_MS = 200;
const GROUP_POLL_MS = 25;

export function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Whether `cmd` exists (a path, or a name in one of PATH's directories), looked up as the
 * minion: under another account, execvp reports a missing command as EACCES when a PATH
 * directory is closed to that account.
 */
function commandExists(cmd: string, path: string): boolean {
  if (cmd.includes('/')) return existsSync(cmd);
  return path.split(':').some((dir) => dir !== '' && existsSync(join(dir, cmd)));
}

export const isSignalName = (name: string): boolean =>
  Object.prototype.hasOwnProperty.call(osConstants.signals, name);

export class Supervisor {
  private readonly runs = new Map<string, Run>();
  private readonly paused = new Set<Readable>();
  private readonly statsTimer: NodeJS.Timeout | null;
  private readonly logger: Logger;
  private readonly baseEnv: Record<string, string>;
  private readonly accounts: AccountResolver;
  private readonly cpuByRun = new Map<string, { cpu: number; rss: number }>();

  constructor(private readonly options: SupervisorOptions) {
    this.logger = options.logger ?? silentLogger;
    this.baseEnv = options.baseEnv ?? defaultBaseEnv();
    this.accounts = options.accounts ?? createAccountResolver();
    const interval = options.statsIntervalMs ?? 1000;
    this.statsTimer = interval > 0 ? setInterval(() => this.sampleStats(), interval) : null;
    this.statsTimer?.unref();
  }

  /** Spawns a run. A runId already running is not spawned twice: its `spawned` is reported again. */
  spawn(command: SpawnCommand): void {
    const { tenant, processKey, runId } = command;
    const existing = this.runs.get(runId);
    if (existing?.exited) return this.logger.warn({ runId, processKey }, 'spawn of a run that already exited: ignored');
    if (existing) {
      this.options.report({ kind: 'spawned', tenant, processKey, runId, pid: existing.pid, startedAt: existing.startedAt });
      if (existing.ready) this.options.report({ kind: 'ready', tenant, processKey, runId, pid: existing.pid });
      return;
    }
    const failed = (error: string): void => this.options.report({ kind: 'spawnFailed', tenant, processKey, runId, error });
    if (command.cwd !== null) {
      let isDirectory = false;
      try {
        isDirectory = statSync(command.cwd).isDirectory();
      } catch {}
      if (!isDirectory) return failed(`cannot spawn ${command.cmd}: working directory ${command.cwd} does not exist or is not a directory`);
    }
    let account: RunAccount | null;
    try {
      account = this.accounts({ tenant, user: command.user, group: command.group });
    } catch (error) {
      return failed(`cannot spawn ${command.cmd}: ${(error as Error).message}`);
    }
    const runAs = accountSpawnOptions(account, command.cwd);
    const notify = command.ready.kind === 'notify';
    const env: Record<string, string> = {
      ...this.baseEnv,
      ...runAs.envDefaults,
      ...command.env,
      CORRAL_TENANT: tenant,
      CORRAL_PROCESS_KEY: processKey,
      CORRAL_RUN_ID: runId,
      ...(this.options.minionId === undefined ? {} : { [MINION_ENV]: this.options.minionId, [MINION_PID_ENV]: String(process.pid) }),
    };
    if (notify) env.CORRAL_NOTIFY_FD = '3';
    let child: ChildProcess;
    try {
      child = spawn(command.cmd, command.args, {
        env,
        cwd: runAs.cwd,
        ...runAs.ids,
        detached: true,
        stdio: notify ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      return failed(`cannot spawn ${command.cmd}: ${(error as Error).message}`);
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return this.logger.warn({ err: error, runId }, 'child process error');
      const reason =
        error.code === 'ENOENT' || (error.code === 'EACCES' && !commandExists(command.cmd, env.PATH ?? ''))
          ? `command not found: ${command.cmd} (PATH=${env.PATH ?? ''})`
          : error.code === 'EACCES'
            ? account
              ? `permission denied: user ${account.user} (uid ${account.uid}) may not run ${command.cmd} in ${runAs.cwd}`
              : `permission denied: ${command.cmd} is not executable`
            : error.message;
      failed(`cannot spawn ${command.cmd}: ${reason}`);
    });
    if (child.pid === undefined) return; // the 'error' event reports it
    this.track(command, child, child.pid);
  }

  private track(command: SpawnCommand, child: ChildProcess, pid: number): void {
    const { tenant, processKey, runId } = command;
    const startedAt = Date.now();
    const batcher = new OutputBatcher(this.options.outputBatchLines ?? 1000, this.options.outputFlushMs ?? 25, (lines) =>
      this.emitOutput(run, lines),
    );
    const stdout = child.stdout!;
    const stderr = child.stderr!;
    const maxLine = this.options.maxLineBytes ?? 16 * 1024;
    const splitters = [new LineSplitter('stdout', maxLine, batcher.add), new LineSplitter('stderr', maxLine, batcher.add)];
    let openPipes = 2;
    let stdioClosed!: () => void;
    const stdioDone = new Promise<void>((resolve) => (stdioClosed = resolve));
    [stdout, stderr].forEach((pipe, index) => {
      pipe.on('data', (chunk: Buffer) => splitters[index]!.push(chunk));
      pipe.once('close', () => {
        splitters[index]!.end();
        if (--openPipes === 0) stdioClosed();
      });
      pipe.on('error', () => {});
    });
    let markGone!: () => void;
    const run: Run = {
      command,
      child,
      pid,
      startedAt,
      ready: false,
      exited: false,
      cancelReadiness: () => {},
      batcher,
      linesReported: 0,
      pipes: [stdout, stderr],
      lastCpu: null,
      usage: null,
      killTimer: null,
      gone: new Promise<void>((resolve) => (markGone = resolve)),
    };
    this.runs.set(runId, run);
    this.options.report({ kind: 'spawned', tenant, processKey, runId, pid, startedAt });
    run.cancelReadiness = startReadinessProbe(command.ready, {
      notifyStream: (child.stdio[3] as Readable | undefined) ?? null,
      onReady: () => {
        if (run.exited) return;
        run.ready = true;
        this.options.report({ kind: 'ready', tenant, processKey, runId, pid });
      },
      onTimeout: (message) => this.logger.warn({ processKey, runId, pid }, message),
    });

    child.once('exit', (code, signal) => {
      const exitedAt = Date.now();
      run.exited = true;
      run.cancelReadiness();
      // Whatever the leader left in its group is part of this run: stop it too.
      if (processGroupAlive(pid) && run.killTimer === null) {
        this.signalGroup(pid, isSignalName(command.stopSignal) ? command.stopSignal : 'SIGTERM');
        run.killTimer = setTimeout(() => this.signalGroup(pid, 'SIGKILL'), command.stopWaitMs);
      }
      const drained = new Promise<void>((resolve) => setTimeout(resolve, STDIO_DRAIN_MS).unref());
      void Promise.race([stdioDone, drained]).then(async () => {
        for (const splitter of splitters) splitter.end();
        batcher.flush();
        for (const pipe of run.pipes) this.paused.delete(pipe);
        this.cpuByRun.delete(runId);
        this.options.report({
          kind: 'exited',
          tenant,
          processKey,
          runId,
          pid,
          code,
          signal,
          exitedAt,
          durationMs: exitedAt - startedAt,
          usage: run.usage,
        });
        // Cheap check every 25 ms; every 10th round a /proc scan that ignores zombies.
        for (let round = 1; processGroupAlive(pid); round++) {
          if (round % 10 === 0 && !processGroupHasLiveMembers(pid)) break;
          await new Promise((resolve) => setTimeout(resolve, GROUP_POLL_MS));
        }
        if (run.killTimer !== null) clearTimeout(run.killTimer);
        for (const pipe of run.pipes) pipe.destroy();
        (child.stdio[3] as Readable | undefined)?.destroy();
        this.runs.delete(runId);
        markGone();
      });
    });
  }

  private emitOutput(run: Run, lines: OutputLine[]): void {
    const { tenant, processKey, runId } = run.command;
    const firstSeq = run.linesReported + 1;
    run.linesReported += lines.length;
    this.options.report({ kind: 'output', tenant, processKey, runId, pid: run.pid, lines, firstSeq });
    if (!run.exited && this.options.outputBlocked?.()) {
      for (const pipe of run.pipes) {
        if (!this.paused.has(pipe)) {
          pipe.pause();
          this.paused.add(pipe);
        }
      }
    }
  }

  /** The consumer drained: let paused children write again. */
  resumeOutput(): void {
    for (const pipe of this.paused) pipe.resume();
    this.paused.clear();
  }

  /**
   * Stops a run: `signal` to its process group, SIGKILL to the group after `waitMs`. Resolves
   * once the run's `exited` was reported and no process of its group is left. Unknown runs
   * (already exited) resolve at once.
   */
  async stop(command: StopCommand): Promise<void> {
    const run = this.runs.get(command.runId);
    if (!run) return;
    if (!run.exited) {
      const signal = isSignalName(command.signal) ? command.signal : 'SIGTERM';
      if (signal !== command.signal) this.logger.warn({ signal: command.signal }, 'unknown stop signal, using SIGTERM');
      this.signalGroup(run.pid, signal);
    }
    if (run.killTimer !== null) clearTimeout(run.killTimer);
    run.killTimer = setTimeout(() => this.signalGroup(run.pid, 'SIGKILL'), Math.max(0, command.waitMs));
    await run.gone;
  }

  /** Sends one signal to a run's leader process. Throws on an unknown signal name. */
  signal(command: SignalCommand): boolean {
    if (!isSignalName(command.signal)) throw new Error(`unknown signal ${JSON.stringify(command.signal)}`);
    const run = this.runs.get(command.runId);
    if (!run || run.exited) return false;
    try {
      process.kill(run.pid, command.signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops every run with its own stopSignal and stopWaitMs (graceful minion shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.runs.values()].map((run) =>
        this.stop({
          kind: 'stop',
          tenant: run.command.tenant,
          processKey: run.command.processKey,
          runId: run.command.runId,
          signal: run.command.stopSignal,
          waitMs: run.command.stopWaitMs,
        }),
      ),
    );
  }

  /** The runs alive now, for reconciliation after a (re)connect. */
  running(): RunningProcess[] {
    return [...this.runs.values()]
      .filter((run) => !run.exited)
      .map((run) => ({
        tenant: run.command.tenant,
        processKey: run.command.processKey,
        runId: run.command.runId,
        pid: run.pid,
        startedAt: run.startedAt,
        ready: run.ready,
      }));
  }

  list(tenant?: string): SupervisedProcessInfo[] {
    return this.running()
      .filter((proc) => tenant === undefined || proc.tenant === tenant)
      .map((proc) => {
        const run = this.runs.get(proc.runId)!;
        const sample = this.cpuByRun.get(proc.runId);
        return { ...proc, cmd: run.command.cmd, args: run.command.args, cpu: sample?.cpu ?? null, rss: sample?.rss ?? null };
      });
  }

  /** Stops sampling. Does not touch the processes: they outlive the supervisor object. */
  close(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
  }

  /** One CPU/RSS sample of every live run, one `stats` report per tenant. */
  sampleStats(): void {
    const now = Date.now();
    const byTenant = new Map<string, { processKey: string; runId: string; pid: number; cpu: number; rss: number }[]>();
    for (const run of this.runs.values()) {
      if (run.exited) continue;
      const times = readCpuTimes(run.pid);
      const rss = readRssBytes(run.pid);
      if (times === null || rss === null) continue;
      const totalMs = times.userMs + times.systemMs;
      const since = run.lastCpu ?? { totalMs: 0, at: run.startedAt };
      const wallMs = Math.max(1, now - since.at);
      const cpu = Math.round(((totalMs - since.totalMs) / wallMs) * 1000) / 10;
      run.lastCpu = { totalMs, at: now };
      const peak = readPeakRssBytes(run.pid) ?? rss;
      run.usage = {
        cpuUserMs: Math.round(times.userMs),
        cpuSystemMs: Math.round(times.systemMs),
        maxRssBytes: Math.max(run.usage?.maxRssBytes ?? 0, peak),
      };
      const sample = { processKey: run.command.processKey, runId: run.command.runId, pid: run.pid, cpu: Math.max(0, cpu), rss };
      this.cpuByRun.set(run.command.runId, { cpu: sample.cpu, rss });
      const list = byTenant.get(run.command.tenant) ?? [];
      list.push(sample);
      byTenant.set(run.command.tenant, list);
    }
    for (const [tenant, samples] of byTenant) this.options.report({ kind: 'stats', tenant, samples });
  }

  private signalGroup(pgid: number, signal: string): void {
    try {
      process.kill(-pgid, signal as NodeJS.Signals);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}
