import { assertJid, assertName, CorralError, InvalidArgumentError } from '../../store/index.js';
import { MAX_FRAME_BYTES, MAX_JOB_ARGS, MAX_JOB_ARGS_WIRE_BYTES, wireSizeBound } from '../minion/limits.js';
import type { TargetType } from './events.js';
import { compileTarget, type CompiledTarget } from './target.js';

/** Salt's function names: `module.function` (`test.ping`, `cmd.run`); more dots allowed. */
export const FUN_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
export const MAX_FUN_LENGTH = 128;
/** Encoded (JSON) size limit of a job's args: the request body limit of the HTTP API. */
export const MAX_ARGS_BYTES = 1024 * 1024;
const MAX_ARGS_DEPTH = 64;
export const MIN_TIMEOUT_MS = 10;
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface JobRequest {
  tenant: string;
  fun: string;
  args?: unknown[];
  tgt: string;
  tgtType?: TargetType;
  timeoutMs?: number;
  /** who runs it: a token subject or user name */
  principal: string;
}

export interface ValidJobRequest {
  tenant: string;
  fun: string;
  args: unknown[];
  target: CompiledTarget;
  timeoutMs: number;
  principal: string;
}

const describe = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : typeof value;

/** Throws unless `value` is plain JSON data (what the store and every protocol can carry unchanged). */
function assertJsonData(value: unknown, path: string, depth: number): void {
  if (depth > MAX_ARGS_DEPTH) throw new InvalidArgumentError(`${path} is nested deeper than ${MAX_ARGS_DEPTH} levels (or is cyclic)`, { field: 'args' });
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`${path} is ${value}: not representable in JSON`, { field: 'args' });
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) assertJsonData(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new InvalidArgumentError(`${path} is a ${prototype?.constructor?.name ?? 'non-plain'} object: only JSON data is allowed`, { field: 'args' });
    }
    for (const [key, item] of Object.entries(value)) assertJsonData(item, `${path}.${key}`, depth + 1);
    return;
  }
  throw new InvalidArgumentError(`${path} is ${typeof value}: only JSON data is allowed`, { field: 'args' });
}

export function validateArgs(args: unknown): unknown[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) throw new InvalidArgumentError(`args must be an array, got ${describe(args)}`, { field: 'args' });
  // The minion refuses a runJob frame it cannot take, and refusing drops the connection every
  // tenant on that minion shares: so what it would refuse is refused here, before anything is
  // recorded (actors/minion/limits.ts; README "Run a job").
  if (args.length > MAX_JOB_ARGS) {
    throw new InvalidArgumentError(`job has ${args.length} args: a minion takes at most ${MAX_JOB_ARGS}`, {
      field: 'args',
      count: args.length,
      limit: MAX_JOB_ARGS,
    });
  }
  assertJsonData(args, 'args', 0);
  const bytes = Buffer.byteLength(JSON.stringify(args));
  if (bytes > MAX_ARGS_BYTES) {
    throw new CorralError('too-large', `job args are ${bytes} bytes encoded, over the limit of ${MAX_ARGS_BYTES} bytes (1 MiB)`, {
      field: 'args',
      size: bytes,
      limit: MAX_ARGS_BYTES,
    });
  }
  const wireBytes = wireSizeBound(args, MAX_JOB_ARGS_WIRE_BYTES);
  if (wireBytes > MAX_JOB_ARGS_WIRE_BYTES) {
    throw new InvalidArgumentError(
      `job args take more than ${MAX_JOB_ARGS_WIRE_BYTES} bytes in a minion frame (every number counts 9 bytes, every string 5 plus its UTF-8 bytes): ` +
        `over what the minion frame limit of ${MAX_FRAME_BYTES} bytes leaves for them`,
      { field: 'args', limit: MAX_JOB_ARGS_WIRE_BYTES, frameLimit: MAX_FRAME_BYTES },
    );
  }
  return args;
}

export function validateFun(fun: unknown): string {
  if (typeof fun !== 'string' || fun.length > MAX_FUN_LENGTH || !FUN_PATTERN.test(fun)) {
    throw new InvalidArgumentError(`invalid function name ${describe(fun)}: expected module.function (e.g. "test.ping", "cmd.run")`, { field: 'fun' });
  }
  return fun;
}

export function validateTimeout(timeoutMs: unknown): number {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < MIN_TIMEOUT_MS || timeoutMs > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `invalid timeoutMs ${typeof timeoutMs === 'number' ? timeoutMs : describe(timeoutMs)}: must be an integer from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS} (24 hours)`,
      { field: 'timeoutMs' },
    );
  }
  return timeoutMs;
}

export function validatePrincipal(principal: unknown): string {
  if (typeof principal !== 'string' || principal.trim() === '' || principal.length > 256) {
    throw new InvalidArgumentError(`invalid principal ${describe(principal)}: a non-empty name of at most 256 characters`, { field: 'principal' });
  }
  return principal;
}

/** Everything a job needs, checked before anything is appended. */
export function validateJobRequest(request: JobRequest): ValidJobRequest {
  if (request === null || typeof request !== 'object') throw new InvalidArgumentError('job request must be an object');
  return {
    tenant: assertName('tenant', request.tenant),
    fun: validateFun(request.fun),
    args: validateArgs(request.args),
    target: compileTarget(request.tgt, request.tgtType ?? 'glob'),
    timeoutMs: validateTimeout(request.timeoutMs),
    principal: validatePrincipal(request.principal),
  };
}

export function validateJid(jid: unknown): string {
  return assertJid(jid);
}
