import { constants as osConstants } from 'node:os';
import { InvalidArgumentError, isValidName, NAME_PATTERN } from '../../store/index.js';
import type { ReadinessSpec, RestartPolicy, WatcherSpec } from './events.js';
import {
  MAX_ENV_NAME_CHARS,
  MAX_FRAME_BYTES,
  MAX_PATH_CHARS,
  MAX_PROCESS_ARGS,
  MAX_PROCESS_ENV,
  MAX_PROCESS_TEXT_CHARS,
  MAX_READY_PATH_CHARS,
  MAX_SPAWN_WIRE_BYTES,
  wireSizeBound,
} from '../minion/limits.js';

/**
 * Validation of watcher specs as the config file and the HTTP API accept them
 * (docs/architecture.md "Views" watchers view, §14 example). Every error names the field by its path
 * (`tenants.acme.watchers.web.numprocesses: must be an integer >= 0`) and nothing is
 * half-applied: the spec is either fully valid, with defaults filled in, or rejected.
 */

const DEFAULTS: WatcherSpec = {
  cmd: '',
  args: [],
  env: {},
  cwd: null,
  numprocesses: 1,
  minion: 'local',
  restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 },
  ready: { kind: 'none' },
  stopSignal: 'SIGTERM',
  stopWaitMs: 5000,
  logs: { maxLines: 10_000 },
  active: true,
};
export const WATCHER_SPEC_DEFAULTS: Readonly<WatcherSpec> = Object.freeze(DEFAULTS);

/** `user` and `group` have no default value: absent means the tenant's account. */
const TOP_LEVEL_FIELDS = [...Object.keys(WATCHER_SPEC_DEFAULTS), 'user', 'group'] as (keyof WatcherSpec)[];
/** A user or group: a POSIX account name or a number. */
export const ACCOUNT_PATTERN = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}|\d{1,10})$/;

/** `user`/`group`: a name or number; null removes it (a PATCH back to the tenant's account). */
function accountField(value: unknown, path: string, base: string | undefined): string | undefined {
  if (value === undefined) return base;
  if (value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return String(value);
  if (typeof value !== 'string' || !ACCOUNT_PATTERN.test(value)) {
    fail(path, `must be an account name or number (letters, digits, _ . -; got ${JSON.stringify(value)})`);
  }
  return value;
}
/** slots are 0..9999 (store/keys.ts) */
const MAX_PROCESSES = 10_000;
const MAX_MS = 7 * 24 * 3_600_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const fieldPath = (path: string, field: string): string => (path ? `${path}.${field}` : field);

function fail(path: string, why: string): never {
  throw new InvalidArgumentError(`${path}: ${why}`, { field: path });
}

function plainObject(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path || 'watcher', 'must be an object');
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) fail(fieldPath(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
  }
  return object;
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** Scalars become strings (YAML reads `PORT: 3000` as a number; processes only see strings). */
function stringish(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return fail(path, `must be a string (got ${value === null ? 'null' : typeof value})`);
}

function noNul(text: string, path: string): string {
  if (text.includes('\0')) fail(path, 'must not contain NUL characters');
  return text;
}

function maxChars(text: string, path: string, max: number): string {
  if (text.length > max) fail(path, `at most ${max} characters (got ${text.length})`);
  return text;
}

/** `SIGTERM`, `TERM` or `sigterm` -> `SIGTERM`, if this OS knows the signal. */
export function normalizeSignal(value: unknown, path = 'signal'): string {
  if (typeof value !== 'string' || value.trim() === '') return fail(path, `must be a signal name like SIGTERM (got ${JSON.stringify(value)})`);
  const upper = value.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!(name in osConstants.signals)) return fail(path, `unknown signal ${JSON.stringify(value)} (e.g. SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGKILL)`);
  return name;
}

function parseRestart(value: unknown, path: string, base: RestartPolicy): RestartPolicy {
  if (value === undefined) return { ...base };
  const input = plainObject(value, path, ['delayMs', 'minAliveMs', 'maxRetries']);
  return {
    delayMs: input.delayMs === undefined ? base.delayMs : integer(input.delayMs, `${path}.delayMs`, 0, MAX_MS),
    minAliveMs: input.minAliveMs === undefined ? base.minAliveMs : integer(input.minAliveMs, `${path}.minAliveMs`, 0, MAX_MS),
    maxRetries: input.maxRetries === undefined ? base.maxRetries : integer(input.maxRetries, `${path}.maxRetries`, 0, 1_000_000),
  };
}

function parseReady(value: unknown, path: string, base: ReadinessSpec): ReadinessSpec {
  if (value === undefined) return structuredClone(base);
  if (typeof value === 'string') value = { kind: value };
  const kindOf = (value as { kind?: unknown } | null)?.kind;
  const timeout = (input: Record<string, unknown>): { timeoutMs?: number } =>
    input.timeoutMs === undefined ? {} : { timeoutMs: integer(input.timeoutMs, `${path}.timeoutMs`, 1, MAX_MS) };
  const host = (input: Record<string, unknown>): { host?: string } => {
    if (input.host === undefined) return {};
    if (typeof input.host !== 'string' || !/^[A-Za-z0-9.:_[\]-]{1,253}$/.test(input.host)) fail(`${path}.host`, 'must be a host name or IP address');
    return { host: input.host };
  };
  switch (kindOf) {
    case 'none':
      plainObject(value, path, ['kind']);
      return { kind: 'none' };
    case 'delay': {
      const input = plainObject(value, path, ['kind', 'delayMs']);
      if (input.delayMs === undefined) fail(`${path}.delayMs`, 'is required for ready.kind delay');
      return { kind: 'delay', delayMs: integer(input.delayMs, `${path}.delayMs`, 0, MAX_MS) };
    }
    case 'tcp': {
      const input = plainObject(value, path, ['kind', 'port', 'host', 'timeoutMs']);
      if (input.port === undefined) fail(`${path}.port`, 'is required for ready.kind tcp');
      return { kind: 'tcp', port: integer(input.port, `${path}.port`, 1, 65535), ...host(input), ...timeout(input) };
    }
    case 'http': {
      const input = plainObject(value, path, ['kind', 'port', 'path', 'host', 'timeoutMs']);
      if (input.port === undefined) fail(`${path}.port`, 'is required for ready.kind http');
      let httpPath: { path?: string } = {};
      if (input.path !== undefined) {
        if (typeof input.path !== 'string' || !input.path.startsWith('/') || /\s/.test(input.path)) fail(`${path}.path`, 'must be a URL path starting with /');
        httpPath = { path: maxChars(input.path, `${path}.path`, MAX_READY_PATH_CHARS) };
      }
      return { kind: 'http', port: integer(input.port, `${path}.port`, 1, 65535), ...httpPath, ...host(input), ...timeout(input) };
    }
    case 'notify': {
      const input = plainObject(value, path, ['kind', 'timeoutMs']);
      return { kind: 'notify', ...timeout(input) };
    }
    default:
      return fail(`${path}.kind`, `must be one of none, delay, tcp, http, notify (got ${JSON.stringify(kindOf)})`);
  }
}

/**
 * Validates a watcher spec and fills in defaults. `path` prefixes every error message
 * (e.g. `tenants.acme.watchers.web`). With `base`, absent fields keep the base's values
 * instead of the defaults (a PATCH); nested objects (`restart`) merge field by field.
 * Callers strip fields that are not part of the spec (a watcher `name`) before calling.
 */
export function parseWatcherSpec(input: unknown, path = '', base?: WatcherSpec): WatcherSpec {
  const from = base ?? WATCHER_SPEC_DEFAULTS;
  const spec = plainObject(input, path, TOP_LEVEL_FIELDS);
  const at = (field: string): string => fieldPath(path, field);

  let cmd = from.cmd;
  if (spec.cmd !== undefined || !base) {
    if (typeof spec.cmd !== 'string' || spec.cmd.trim() === '') fail(at('cmd'), 'is required: the command to run (a non-empty string)');
    cmd = maxChars(noNul(spec.cmd, at('cmd')), at('cmd'), MAX_PATH_CHARS);
  }

  let args = [...from.args];
  if (spec.args !== undefined) {
    if (!Array.isArray(spec.args)) fail(at('args'), 'must be a list of strings');
    if (spec.args.length > MAX_PROCESS_ARGS) fail(at('args'), `at most ${MAX_PROCESS_ARGS} arguments (got ${spec.args.length})`);
    args = spec.args.map((arg, i) => maxChars(noNul(stringish(arg, `${at('args')}[${i}]`), `${at('args')}[${i}]`), `${at('args')}[${i}]`, MAX_PROCESS_TEXT_CHARS));
  }

  let env = { ...from.env };
  if (spec.env !== undefined) {
    if (spec.env === null) env = {};
    else {
      const input = plainObject(spec.env, at('env'), Object.keys(spec.env as object));
      env = {};
      const names = Object.keys(input);
      if (names.length > MAX_PROCESS_ENV) fail(at('env'), `at most ${MAX_PROCESS_ENV} variables (got ${names.length})`);
      for (const [name, value] of Object.entries(input)) {
        if (!ENV_NAME.test(name)) fail(`${at('env')}.${name}`, 'is not a valid environment variable name');
        if (name.length > MAX_ENV_NAME_CHARS) fail(`${at('env')}.${name.slice(0, 40)}...`, `name of at most ${MAX_ENV_NAME_CHARS} characters (got ${name.length})`);
        const text = noNul(stringish(value, `${at('env')}.${name}`), `${at('env')}.${name}`);
        env[name] = maxChars(text, `${at('env')}.${name}`, MAX_PROCESS_TEXT_CHARS);
      }
    }
  }

  let cwd = from.cwd;
  if (spec.cwd !== undefined) {
    if (spec.cwd !== null && (typeof spec.cwd !== 'string' || spec.cwd === '')) fail(at('cwd'), 'must be a directory path or null');
    cwd = spec.cwd === null ? null : maxChars(noNul(spec.cwd as string, at('cwd')), at('cwd'), MAX_PATH_CHARS);
  }
  // Each process is started by one spawn command frame: the minion refuses one over the frame
  // limit or its field limits, and refusing drops the connection every tenant on it shares
  // (actors/minion/limits.ts; docs/operations.md "Frame limits").
  const spawnBytes = wireSizeBound({ cmd, args, env, cwd }, MAX_SPAWN_WIRE_BYTES);
  if (spawnBytes > MAX_SPAWN_WIRE_BYTES) {
    fail(
      path || 'watcher',
      `cmd, args, env and cwd take more than ${MAX_SPAWN_WIRE_BYTES} bytes in a minion frame: over what the minion frame limit of ${MAX_FRAME_BYTES} bytes leaves for them`,
    );
  }

  const numprocesses = spec.numprocesses === undefined ? from.numprocesses : integer(spec.numprocesses, at('numprocesses'), 0, MAX_PROCESSES);

  let minion = from.minion;
  if (spec.minion !== undefined) {
    if (!isValidName(spec.minion)) fail(at('minion'), `must be a minion id matching ${NAME_PATTERN.source} (got ${JSON.stringify(spec.minion)})`);
    minion = spec.minion;
  }

  let active = from.active;
  if (spec.active !== undefined) {
    if (typeof spec.active !== 'boolean') fail(at('active'), `must be true or false (got ${JSON.stringify(spec.active)})`);
    active = spec.active;
  }

  let logs = { ...from.logs };
  if (spec.logs !== undefined) {
    const input = plainObject(spec.logs, at('logs'), ['maxLines']);
    if (input.maxLines !== undefined) logs = { maxLines: integer(input.maxLines, `${at('logs')}.maxLines`, 1, 10_000_000) };
  }

  const user = accountField(spec.user, at('user'), from.user);
  const group = accountField(spec.group, at('group'), from.group);

  return {
    cmd,
    args,
    env,
    cwd,
    numprocesses,
    minion,
    restart: parseRestart(spec.restart, at('restart'), from.restart),
    ready: parseReady(spec.ready, at('ready'), from.ready),
    stopSignal: spec.stopSignal === undefined ? from.stopSignal : normalizeSignal(spec.stopSignal, at('stopSignal')),
    stopWaitMs: spec.stopWaitMs === undefined ? from.stopWaitMs : integer(spec.stopWaitMs, at('stopWaitMs'), 0, MAX_MS),
    logs,
    active,
    ...(user === undefined ? {} : { user }),
    ...(group === undefined ? {} : { group }),
  };
}

/** Top-level fields whose values differ (deep comparison), in spec field order. */
export function diffWatcherSpecs(a: WatcherSpec, b: WatcherSpec): (keyof WatcherSpec)[] {
  return TOP_LEVEL_FIELDS.filter((field) => !deepEqual(a[field], b[field]));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => deepEqual(item, other[i]));
  }
  const aKeys = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bKeys = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return aKeys.length === bKeys.length && aKeys.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
