import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { writeFileAtomicSync } from '../../../store/index.js';

export const MINION_PID_FILE = 'minion.pid';
const WATCHDOG_MS = 500;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
const RESTART_RESET_MS = 60_000;
export const MINION_LOG_FILE = 'minion.log';

export interface LocalMinionRecord {
  pid: number;
  id: string;
  startedAt: string;
}

export interface LocalMinionOptions {
  dataDir: string;
  id: string;
  grains: Record<string, string>;
  log: Logger;
  /** the `corral` launcher (default: bin/corral.js of this installation) */
  bin?: string;
}

/** bin/corral.js of this installation, found upwards from this file (works from dist/ and from sources). */
export function corralBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'bin', 'corral.js');
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find bin/corral.js above ' + fileURLToPath(import.meta.url));
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A live process that is a `corral minion` (not a stranger that reused the pid). */
function isOurMinion(record: LocalMinionRecord): boolean {
  if (!isAlive(record.pid)) return false;
  try {
    const argv = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('minion') && argv.includes(record.id);
  } catch {
    // no /proc (not Linux): trust the pid file
    return true;
  }
}

export function readMinionRecord(dataDir: string): LocalMinionRecord | null {
  try {
    const record = JSON.parse(readFileSync(join(dataDir, MINION_PID_FILE), 'utf8')) as LocalMinionRecord;
    return Number.isInteger(record.pid) && record.pid > 0 ? record : null;
  } catch {
    return null;
  }
}

/**
 * The local minion (README "What it is"): a separate, detached OS process (its own session), so
 * it and its managed processes outlive a crash of the server; it follows the server through
 * `<dataDir>/server.json` and `admin.token`, re-read before every reconnect. The pid file
 * makes a restarted server adopt the minion that survived instead of starting a second one.
 */
export class LocalMinion {
  private record: LocalMinionRecord | null = null;
  private adopted = false;
  private watchdog: NodeJS.Timeout | null = null;
  private restartDelayMs = RESTART_MIN_MS;
  private nextRestartAt = 0;
  private upSince = 0;

  constructor(private readonly options: LocalMinionOptions) {}

  get pid(): number | null {
    return this.record?.pid ?? null;
  }

  get wasAdopted(): boolean {
    return this.adopted;
  }

  /** Adopts a live local minion of this data directory, or spawns one. */
  ensureRunning(): LocalMinionRecord {
    const { dataDir, id, log } = this.options;
    const existing = readMinionRecord(dataDir);
    if (existing && existing.id === id && isOurMinion(existing)) {
      this.record = existing;
      this.adopted = true;
      log.info({ pid: existing.pid, minion: id }, 'local minion still running: adopting it');
      return existing;
    }
    const logFd = openSync(join(dataDir, MINION_LOG_FILE), 'a', 0o600);
    const args = [
      this.options.bin ?? corralBin(),
      'minion',
      '--server-file',
      join(dataDir, 'server.json'),
      '--token-file',
      join(dataDir, 'admin.token'),
      '--id',
      id,
    ];
    for (const [key, value] of Object.entries(this.options.grains)) args.push('--grain', `${key}=${value}`);
    let child;
    try {
      child = spawn(process.execPath, args, {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: { ...process.env, CORRAL_LOG_LEVEL: process.env.CORRAL_MINION_LOG_LEVEL ?? 'info' },
      });
    } finally {
      closeSync(logFd);
    }
    child.unref();
    if (child.pid === undefined) throw new Error('could not start the local minion');
    const record: LocalMinionRecord = { pid: child.pid, id, startedAt: new Date().toISOString() };
    const file = join(dataDir, MINION_PID_FILE);
    writeFileAtomicSync(file, `${JSON.stringify(record)}\n`, 0o600);
    this.record = record;
    log.info({ pid: child.pid, minion: id, log: join(dataDir, MINION_LOG_FILE) }, 'started the local minion');
    return record;
  }

  /**
   * Restarts the local minion when it died (kill -9, OOM), while `active()` (this server leads:
   * one server restarts it, the others adopt the new one). Checked every half second; the
   * delay between restarts doubles from 0.5 s to 30 s and is reset once a minion stayed up
   * a minute (ops/modules/supervision/README.md). The new minion stops the processes the
   * dead one left running before it connects (ops/minion/orphans.ts).
   */
  supervise(active: () => boolean): void {
    if (this.watchdog !== null) return;
    this.upSince = Date.now();
    this.watchdog = setInterval(() => {
      if (!active()) return;
      const record = this.record;
      const now = Date.now();
      if (record !== null && isOurMinion(record)) {
        if (now - this.upSince > RESTART_RESET_MS) this.restartDelayMs = RESTART_MIN_MS;
        return;
      }
      if (now < this.nextRestartAt) return;
      this.nextRestartAt = now + this.restartDelayMs;
      this.restartDelayMs = Math.min(RESTART_MAX_MS, this.restartDelayMs * 2);
      this.options.log.warn({ pid: record?.pid ?? null }, 'the local minion is gone: starting a new one');
      try {
        this.ensureRunning();
        this.upSince = now;
      } catch (error) {
        this.options.log.error({ err: error }, 'could not start the local minion; trying again');
      }
    }, WATCHDOG_MS);
    this.watchdog.unref();
  }

  /** Stops restarting it (before a stop, or when the minion is to be kept as it is). */
  stopSupervising(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /**
   * SIGTERM: the minion stops its managed processes (stop signal, then SIGKILL after their
   * stopWaitMs), reports their exits and exits. Resolves once it is gone (SIGKILL after `timeoutMs`).
   */
  async stop(timeoutMs = 20_000): Promise<void> {
    this.stopSupervising();
    const record = this.record;
    if (!record) return;
    const { log, dataDir } = this.options;
    if (isOurMinion(record)) {
      log.info({ pid: record.pid }, 'stopping the local minion and its processes');
      try {
        process.kill(record.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const deadline = Date.now() + timeoutMs;
      while (isAlive(record.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      if (isAlive(record.pid)) {
        log.warn({ pid: record.pid }, 'the local minion did not exit in time: SIGKILL');
        try {
          process.kill(record.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    const current = readMinionRecord(dataDir);
    if (current?.pid === record.pid) rmSync(join(dataDir, MINION_PID_FILE), { force: true });
    this.record = null;
  }
}
