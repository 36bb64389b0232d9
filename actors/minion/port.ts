import type { Grains } from './events.js';
import type { ReadinessSpec } from '../watcher/events.js';

/**
 * The boundary between the actors and the minions. Only minions spawn managed processes
 * (README "What it is"): actors decide and record, then send a `MinionCommand` through the
 * `MinionPort`; minions answer with `MinionReport`s that the actor runtime turns into events.
 *
 * The gateway implements `MinionPort` over the `/minion` websocket protocol; the actor
 * runtime implements `MinionReportSink`. Tests may implement either side in memory.
 *
 * A minion connection serves one or more tenants (its token's tenants, narrowed by
 * `corral minion --tenant`); its key in each tenant is `<tenant>:<id>`.
 */

export interface SpawnCommand {
  kind: 'spawn';
  tenant: string;
  /** `<tenant>:<watcher>:<slot>` */
  processKey: string;
  /** unique per run; every report about this run carries it (dedupes after reconnects) */
  runId: string;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | null;
  ready: ReadinessSpec;
  stopSignal: string;
  stopWaitMs: number;
  /**
   * The OS account to run as (the watcher's `user`/`group`, else the tenant's); absent: the
   * minion's default (never root: `nobody` when the minion is root; docs/security.md).
   */
  user?: string;
  group?: string;
}
/** stop a run: send `signal`, wait `waitMs`, then SIGKILL (the minion escalates itself) */
export interface StopCommand {
  kind: 'stop';
  tenant: string;
  processKey: string;
  runId: string;
  signal: string;
  waitMs: number;
}
/** send one signal to a run (kill with a chosen signal) */
export interface SignalCommand {
  kind: 'signal';
  tenant: string;
  processKey: string;
  runId: string;
  signal: string;
}
export interface RunJobCommand {
  kind: 'runJob';
  tenant: string;
  jid: string;
  fun: string;
  args: unknown[];
  timeoutMs: number;
  /** the OS account for functions that run commands (the tenant's `user`/`group`), as in SpawnCommand */
  user?: string;
  group?: string;
}
/** An OS account as configured (names or numbers; the minion resolves them). */
export interface AccountRequest {
  user?: string;
  group?: string;
}
/** The tenant's configured account (`tenants.<t>.user`/`group`); null: none configured. */
export type TenantAccountLookup = (tenant: string) => AccountRequest | null;

export interface CancelJobCommand {
  kind: 'cancelJob';
  tenant: string;
  jid: string;
}
export type MinionCommand = SpawnCommand | StopCommand | SignalCommand | RunJobCommand | CancelJobCommand;

/** A process the minion is running right now (sent on every (re)connect for reconciliation). */
export interface RunningProcess {
  tenant: string;
  processKey: string;
  runId: string;
  pid: number;
  /** ms epoch */
  startedAt: number;
  ready: boolean;
}

export interface ConnectedMinion {
  /** minion id, e.g. the host name */
  id: string;
  tenant: string;
  /** `<tenant>:<id>` */
  key: string;
  version: string;
  protocol: number;
  grains: Grains;
}

export interface MinionHello {
  id: string;
  version: string;
  protocol: number;
  grains: Grains;
  /** the tenants this connection serves */
  tenants: string[];
  running: RunningProcess[];
}

export type MinionReport =
  | { kind: 'spawned'; tenant: string; processKey: string; runId: string; pid: number; startedAt: number }
  | { kind: 'spawnFailed'; tenant: string; processKey: string; runId: string; error: string }
  | { kind: 'ready'; tenant: string; processKey: string; runId: string; pid: number }
  | {
      kind: 'exited';
      tenant: string;
      processKey: string;
      runId: string;
      pid: number;
      code: number | null;
      signal: string | null;
      exitedAt: number;
      durationMs: number;
      usage: { cpuUserMs: number; cpuSystemMs: number; maxRssBytes: number } | null;
    }
  | {
      kind: 'output';
      tenant: string;
      processKey: string;
      runId: string;
      pid: number;
      lines: { fd: 'stdout' | 'stderr'; line: string; truncated?: boolean }[];
      /**
       * The run's number of the first line (1, 2, 3... per run, across reconnects; line i is
       * `firstSeq + i`). With it the server stores a resent report's lines once; a minion that
       * does not send it gets no deduplication.
       */
      firstSeq?: number;
    }
  | { kind: 'stats'; tenant: string; samples: { processKey: string; runId: string; pid: number; cpu: number; rss: number }[] }
  | {
      kind: 'jobReturn';
      tenant: string;
      jid: string;
      minion: string;
      return: unknown;
      retcode: number;
      success: boolean;
      durationMs: number;
    };

/** Implemented by the gateway's minion hub. */
export interface MinionPort {
  /** Sends a command to minion `id` serving `command.tenant`; false if it is not connected. */
  send(minionId: string, command: MinionCommand): boolean;
  /** The minions connected now that serve `tenant`. */
  connected(tenant: string): ConnectedMinion[];
}

/** Implemented by the actor runtime; the hub calls it for everything a minion says. */
export interface MinionReportSink {
  /** A minion connected (or reconnected): record presence and reconcile its running processes. */
  minionConnected(hello: MinionHello): Promise<void>;
  minionDisconnected(minionId: string, tenants: string[], reason: string): Promise<void>;
  /**
   * A report. Resolves once what it caused is durable: only then does the hub acknowledge
   * it to the minion, which resends unacknowledged reports after a reconnect (so handling
   * must be idempotent per runId/jid).
   */
  report(minionId: string, report: MinionReport): Promise<void>;
}
