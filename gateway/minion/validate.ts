/**
 * Shape checks for decoded minion-protocol values. Every check names the path of the bad
 * field (`report.lines[3].line`) so a protocol error says exactly what was wrong. Values are
 * rebuilt from known fields only: nothing unexpected from the wire travels further.
 */
import {
  MAX_ENV_NAME_CHARS,
  MAX_JOB_ARGS,
  MAX_PATH_CHARS,
  MAX_PROCESS_ARGS,
  MAX_PROCESS_ENV,
  MAX_PROCESS_TEXT_CHARS,
  MAX_READY_PATH_CHARS,
  type Grains, type MinionCommand, type MinionReport, type ReadinessSpec, type RunningProcess } from '../../actors/index.js';

export class ProtocolError extends Error {
  /**
   * @param closeCode the websocket close code (protocol.ts CLOSE_*): 4400 for a violation,
   * 4426 when the two sides share no protocol version (fatal for the minion)
   */
  constructor(
    message: string,
    readonly closeCode: number = 4400,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_KEY_CHARS = 256;
const MAX_TEXT_CHARS = 64 * 1024;
export const MAX_LINES_PER_REPORT = 10_000;
export const MAX_RUNNING = 100_000;

type Obj = Record<string, unknown>;
const fail = (path: string, what: string, value: unknown): never => {
  const shown = value === undefined ? 'nothing' : typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : typeof value;
  throw new ProtocolError(`${path}: expected ${what}, got ${shown}`);
};

export function obj(value: unknown, path: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    return fail(path, 'a map', value);
  }
  return value as Obj;
}
export function str(value: unknown, path: string, max = MAX_KEY_CHARS, min = 0): string {
  if (typeof value !== 'string') return fail(path, 'a string', value);
  if (value.length > max) throw new ProtocolError(`${path}: longer than ${max} characters`);
  if (value.length < min) throw new ProtocolError(`${path}: must not be empty`);
  return value;
}
export function name(value: unknown, path: string): string {
  const text = str(value, path, 63);
  if (!NAME_PATTERN.test(text)) throw new ProtocolError(`${path}: ${JSON.stringify(text)} is not a valid name (${NAME_PATTERN.source})`);
  return text;
}
export function int(value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) return fail(path, 'an integer', value);
  if (value < min || value > max) throw new ProtocolError(`${path}: ${value} is outside ${min}..${max}`);
  return value;
}
export function num(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(path, 'a finite number', value);
  return value;
}
export function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') return fail(path, 'a boolean', value);
  return value;
}
export function arr(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) return fail(path, 'an array', value);
  if (value.length > max) throw new ProtocolError(`${path}: more than ${max} items`);
  return value;
}
const nullable = <T>(value: unknown, check: (v: unknown) => T): T | null => (value === null ? null : check(value));
const optional = <T>(value: unknown, check: (v: unknown) => T): T | undefined => (value === undefined ? undefined : check(value));
function strings(value: unknown, path: string, max: number): string[] {
  return arr(value, path, max).map((item, i) => str(item, `${path}[${i}]`, MAX_PROCESS_TEXT_CHARS));
}
function stringMap(value: unknown, path: string): Record<string, string> {
  const map = obj(value, path);
  const out: Record<string, string> = {};
  const keys = Object.keys(map);
  if (keys.length > MAX_PROCESS_ENV) throw new ProtocolError(`${path}: more than ${MAX_PROCESS_ENV} entries`);
  for (const key of keys) out[str(key, `${path} key`, MAX_ENV_NAME_CHARS)] = str(map[key], `${path}.${key}`, MAX_PROCESS_TEXT_CHARS);
  return out;
}

export function grains(value: unknown, path: string): Grains {
  const g = obj(value, path);
  const keys = Object.keys(g);
  if (keys.length > 256) throw new ProtocolError(`${path}: more than 256 grains`);
  const out: Grains = {
    os: str(g.os, `${path}.os`),
    arch: str(g.arch, `${path}.arch`),
    hostname: str(g.hostname, `${path}.hostname`),
    cpus: int(g.cpus, `${path}.cpus`),
    memory: int(g.memory, `${path}.memory`),
    nodeVersion: str(g.nodeVersion, `${path}.nodeVersion`),
  };
  for (const key of keys) {
    if (key in out) continue;
    const custom = g[key];
    if (custom !== null && !['string', 'number', 'boolean'].includes(typeof custom)) {
      fail(`${path}.${key}`, 'a string, number, boolean or null', custom);
    }
    out[str(key, `${path} key`, 63)] = typeof custom === 'string' ? str(custom, `${path}.${key}`, 1024) : custom;
  }
  return out;
}

export function runningProcess(value: unknown, path: string): RunningProcess {
  const p = obj(value, path);
  return {
    tenant: name(p.tenant, `${path}.tenant`),
    processKey: str(p.processKey, `${path}.processKey`, MAX_KEY_CHARS, 1),
    runId: str(p.runId, `${path}.runId`, MAX_KEY_CHARS, 1),
    pid: int(p.pid, `${path}.pid`, 1),
    startedAt: int(p.startedAt, `${path}.startedAt`),
    ready: bool(p.ready, `${path}.ready`),
  };
}

type RunRef = { tenant: string; processKey: string; runId: string };
function runRef(r: Obj, path: string): RunRef {
  return {
    tenant: name(r.tenant, `${path}.tenant`),
    processKey: str(r.processKey, `${path}.processKey`, MAX_KEY_CHARS, 1),
    runId: str(r.runId, `${path}.runId`, MAX_KEY_CHARS, 1),
  };
}

export function report(value: unknown, path: string): MinionReport {
  const r = obj(value, path);
  const kind = r.kind;
  switch (kind) {
    case 'spawned':
      return { kind, ...runRef(r, path), pid: int(r.pid, `${path}.pid`, 1), startedAt: int(r.startedAt, `${path}.startedAt`) };
    case 'spawnFailed':
      return { kind, ...runRef(r, path), error: str(r.error, `${path}.error`, MAX_TEXT_CHARS) };
    case 'ready':
      return { kind, ...runRef(r, path), pid: int(r.pid, `${path}.pid`, 1) };
    case 'exited': {
      const usage = nullable(r.usage, (u) => {
        const o = obj(u, `${path}.usage`);
        return {
          cpuUserMs: num(o.cpuUserMs, `${path}.usage.cpuUserMs`),
          cpuSystemMs: num(o.cpuSystemMs, `${path}.usage.cpuSystemMs`),
          maxRssBytes: num(o.maxRssBytes, `${path}.usage.maxRssBytes`),
        };
      });
      return {
        kind,
        ...runRef(r, path),
        pid: int(r.pid, `${path}.pid`, 1),
        code: nullable(r.code, (c) => int(c, `${path}.code`, -(2 ** 31), 2 ** 31)),
        signal: nullable(r.signal, (s) => str(s, `${path}.signal`, 32)),
        exitedAt: int(r.exitedAt, `${path}.exitedAt`),
        durationMs: int(r.durationMs, `${path}.durationMs`),
        usage,
      };
    }
    case 'output': {
      // optional: minions that predate line numbering send none (their lines are not deduplicated)
      const firstSeq = optional(r.firstSeq, (s) => int(s, `${path}.firstSeq`, 1));
      const output: Extract<MinionReport, { kind: 'output' }> = {
        kind,
        ...runRef(r, path),
        pid: int(r.pid, `${path}.pid`, 1),
        lines: arr(r.lines, `${path}.lines`, MAX_LINES_PER_REPORT).map((item, i) => {
          const l = obj(item, `${path}.lines[${i}]`);
          const fd = l.fd;
          if (fd !== 'stdout' && fd !== 'stderr') fail(`${path}.lines[${i}].fd`, '"stdout" or "stderr"', fd);
          const line = str(l.line, `${path}.lines[${i}].line`, MAX_TEXT_CHARS);
          const truncated = optional(l.truncated, (t) => bool(t, `${path}.lines[${i}].truncated`));
          return truncated ? { fd: fd as 'stdout' | 'stderr', line, truncated } : { fd: fd as 'stdout' | 'stderr', line };
        }),
      };
      if (firstSeq !== undefined) output.firstSeq = firstSeq;
      return output;
    }
    case 'stats':
      return {
        kind,
        tenant: name(r.tenant, `${path}.tenant`),
        samples: arr(r.samples, `${path}.samples`, MAX_RUNNING).map((item, i) => {
          const s = obj(item, `${path}.samples[${i}]`);
          const at = `${path}.samples[${i}]`;
          return {
            processKey: str(s.processKey, `${at}.processKey`, MAX_KEY_CHARS, 1),
            runId: str(s.runId, `${at}.runId`, MAX_KEY_CHARS, 1),
            pid: int(s.pid, `${at}.pid`, 1),
            cpu: num(s.cpu, `${at}.cpu`),
            rss: num(s.rss, `${at}.rss`),
          };
        }),
      };
    case 'jobReturn':
      return {
        kind,
        tenant: name(r.tenant, `${path}.tenant`),
        jid: str(r.jid, `${path}.jid`, 64, 1),
        minion: name(r.minion, `${path}.minion`),
        return: r.return,
        retcode: int(r.retcode, `${path}.retcode`, -(2 ** 31), 2 ** 31),
        success: bool(r.success, `${path}.success`),
        durationMs: int(r.durationMs, `${path}.durationMs`),
      };
    default:
      return fail(`${path}.kind`, 'one of spawned, spawnFailed, ready, exited, output, stats, jobReturn', kind);
  }
}

export function readiness(value: unknown, path: string): ReadinessSpec {
  const r = obj(value, path);
  const timeoutMs = optional(r.timeoutMs, (t) => int(t, `${path}.timeoutMs`));
  const withTimeout = <T extends object>(spec: T): T => (timeoutMs === undefined ? spec : { ...spec, timeoutMs });
  const host = optional(r.host, (h) => str(h, `${path}.host`));
  switch (r.kind) {
    case 'none':
      return { kind: 'none' };
    case 'delay':
      return { kind: 'delay', delayMs: int(r.delayMs, `${path}.delayMs`) };
    case 'tcp':
      return withTimeout({ kind: 'tcp' as const, port: int(r.port, `${path}.port`, 1, 65535), ...(host ? { host } : {}) });
    case 'http': {
      const httpPath = optional(r.path, (p) => str(p, `${path}.path`, MAX_READY_PATH_CHARS));
      return withTimeout({ kind: 'http' as const, port: int(r.port, `${path}.port`, 1, 65535), ...(host ? { host } : {}), ...(httpPath ? { path: httpPath } : {}) });
    }
    case 'notify':
      return withTimeout({ kind: 'notify' as const });
    default:
      return fail(`${path}.kind`, 'one of none, delay, tcp, http, notify', r.kind);
  }
}

/** The optional `user`/`group` of a spawn or runJob (an account name or number). */
function account(c: Record<string, unknown>, path: string): { user?: string; group?: string } {
  const user = c.user === null ? undefined : optional(c.user, (u) => str(u, `${path}.user`, 64, 1));
  const group = c.group === null ? undefined : optional(c.group, (g) => str(g, `${path}.group`, 64, 1));
  return { ...(user === undefined ? {} : { user }), ...(group === undefined ? {} : { group }) };
}

export function command(value: unknown, path: string): MinionCommand {
  const c = obj(value, path);
  const tenant = name(c.tenant, `${path}.tenant`);
  switch (c.kind) {
    case 'spawn':
      return {
        kind: 'spawn',
        ...runRef(c, path),
        tenant,
        // the limits the watcher spec is checked against on the server (actors/watcher/spec.ts)
        cmd: str(c.cmd, `${path}.cmd`, MAX_PATH_CHARS, 1),
        args: strings(c.args, `${path}.args`, MAX_PROCESS_ARGS),
        env: stringMap(c.env, `${path}.env`),
        cwd: nullable(c.cwd, (d) => str(d, `${path}.cwd`, MAX_PATH_CHARS, 1)),
        ready: readiness(c.ready, `${path}.ready`),
        stopSignal: str(c.stopSignal, `${path}.stopSignal`, 32, 1),
        stopWaitMs: int(c.stopWaitMs, `${path}.stopWaitMs`),
        ...account(c, path),
      };
    case 'stop':
      return { kind: 'stop', ...runRef(c, path), signal: str(c.signal, `${path}.signal`, 32, 1), waitMs: int(c.waitMs, `${path}.waitMs`) };
    case 'signal':
      return { kind: 'signal', ...runRef(c, path), signal: str(c.signal, `${path}.signal`, 32, 1) };
    case 'runJob':
      return {
        kind: 'runJob',
        tenant,
        jid: str(c.jid, `${path}.jid`, 64, 1),
        fun: str(c.fun, `${path}.fun`, 256, 1),
        // the server refuses more at job creation (actors/job/validate.ts)
        args: arr(c.args, `${path}.args`, MAX_JOB_ARGS),
        timeoutMs: int(c.timeoutMs, `${path}.timeoutMs`),
        ...account(c, path),
      };
    case 'cancelJob':
      return { kind: 'cancelJob', tenant, jid: str(c.jid, `${path}.jid`, 64, 1) };
    default:
      return fail(`${path}.kind`, 'one of spawn, stop, signal, runJob, cancelJob', c.kind);
  }
}
