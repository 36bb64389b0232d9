import { InvalidArgumentError, WrongExpectedRevisionError } from './errors.js';
import { assertStreamName } from './keys.js';
import type {
  AppendOptions,
  EventSelection,
  EventToAppend,
  ExpectedRevision,
  Revision,
  ReadAllOptions,
  ReadStreamOptions,
  StreamMetadata,
} from './types.js';

/**
 * Input checks shared by every backend, so that bad input gets the same clear error
 * everywhere and is rejected before anything is written.
 */

const EVENT_NAME_PATTERN = /^[a-z][a-zA-Z0-9_-]{0,62}$/;
const MAX_KEY_LENGTH = 1024;
const MAX_ID_LENGTH = 128;
export const DEFAULT_READ_LIMIT = 1000;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

const isRevision = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

export function checkExpectedRevision(stream: string, options: AppendOptions | undefined): ExpectedRevision {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidArgumentError(`append to ${stream}: options must be an object, got ${show(options)}`);
  }
  const expected = options?.expectedRevision === undefined ? 'any' : options.expectedRevision;
  if (expected === 'any' || expected === 'noStream' || expected === 'streamExists' || isRevision(expected)) return expected;
  throw new InvalidArgumentError(
    `append to ${stream}: invalid expected revision ${show(expected)}: must be 'any', 'noStream', 'streamExists' or a revision (an integer >= 0)`,
    { stream, field: 'expectedRevision' },
  );
}

/** Validates a whole append; throws before anything is written. Returns the stream name. */
export function checkAppend(stream: unknown, events: unknown, options: AppendOptions | undefined): ExpectedRevision {
  const name = assertStreamName(stream);
  const expected = checkExpectedRevision(name, options);
  if (!Array.isArray(events)) throw new InvalidArgumentError(`append to ${name}: events must be an array, got ${show(events)}`);
  for (let i = 0; i < events.length; i++) checkEvent(name, i, events[i]);
  return expected;
}

/** the last type/action that passed the pattern: batches repeat them, so the regex runs once */
let lastValidType: string | null = null;
let lastValidAction: string | null = null;

function checkEvent(stream: string, index: number, event: unknown): asserts event is EventToAppend {
  const where = `append to ${stream}: event ${index}`;
  if (typeof event !== 'object' || event === null) throw new InvalidArgumentError(`${where} must be an object, got ${show(event)}`);
  const e = event as Partial<EventToAppend> & Record<string, unknown>;
  const fail = (field: string, rule: string): never => {
    throw new InvalidArgumentError(`${where}: invalid ${field} ${show(e[field])}: ${rule}`, { stream, index, field });
  };
  if (typeof e.type !== 'string' || e.type !== lastValidType) {
    if (typeof e.type !== 'string' || !EVENT_NAME_PATTERN.test(e.type)) fail('type', `must match ${EVENT_NAME_PATTERN.source}`);
    lastValidType = e.type as string;
  }
  if (typeof e.action !== 'string' || e.action !== lastValidAction) {
    if (typeof e.action !== 'string' || !EVENT_NAME_PATTERN.test(e.action)) fail('action', `must match ${EVENT_NAME_PATTERN.source}`);
    lastValidAction = e.action as string;
  }
  if (typeof e.key !== 'string' || e.key.length > MAX_KEY_LENGTH) fail('key', `must be a string of at most ${MAX_KEY_LENGTH} characters`);
  if (e.tenant !== undefined && (typeof e.tenant !== 'string' || e.tenant.length === 0 || e.tenant.length > 63)) {
    fail('tenant', 'must be a non-empty string of at most 63 characters when given');
  }
  if (e.id !== undefined && (typeof e.id !== 'string' || e.id.length === 0 || e.id.length > MAX_ID_LENGTH)) {
    fail('id', `must be a non-empty string of at most ${MAX_ID_LENGTH} characters when given`);
  }
  if (e.schema !== undefined && (!Number.isSafeInteger(e.schema) || (e.schema as number) < 1)) fail('schema', 'must be an integer >= 1');
  if (!('data' in e) || e.data === undefined) fail('data', 'is required (use null for no payload)');
  if (e.meta !== undefined && (typeof e.meta !== 'object' || e.meta === null || Array.isArray(e.meta))) fail('meta', 'must be an object when given');
  for (const field of ['data', 'meta'] as const) {
    if (!hasProtoKey(e[field])) continue;
    throw new InvalidArgumentError(
      `${where}: invalid ${field}: a member named "__proto__" at ${field}${protoKeyPath(e[field])} cannot be stored (MessagePack decoders rename it); rename it`,
      { stream, index, field },
    );
  }
}

const isNested = (value: unknown): value is object => typeof value === 'object' && value !== null && !ArrayBuffer.isView(value);

/**
 * Whether a value holds an own member named `__proto__` (JSON.parse makes one from
 * `{"__proto__":...}`). Such a member would not survive the store: msgpackr renames it on
 * decoding (prototype-pollution safety), so it would come back changed. Runs on every
 * appended event, so it allocates nothing for flat payloads; iterative, so hostile nesting
 * cannot overflow the stack.
 */
function hasProtoKey(value: unknown): boolean {
  if (!isNested(value)) return false;
  let stack: object[] | null = null;
  for (let current: object | undefined = value; current !== undefined; current = stack?.pop()) {
    if (Array.isArray(current)) {
      for (const item of current as unknown[]) if (isNested(item)) (stack ??= []).push(item);
      continue;
    }
    if (Object.hasOwn(current, '__proto__')) return true;
    for (const key in current) {
      const member = (current as Record<string, unknown>)[key];
      if (isNested(member)) (stack ??= []).push(member);
    }
  }
  return false;
}

/** The path (`.a[2].__proto__`) of a `__proto__` member, for the error message (only on that error). */
function protoKeyPath(value: unknown): string {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (!isNested(entry.value)) continue;
    if (Array.isArray(entry.value)) {
      entry.value.forEach((item: unknown, i) => stack.push({ value: item, path: `${entry!.path}[${i}]` }));
      continue;
    }
    if (Object.hasOwn(entry.value, '__proto__')) return `${entry.path}.__proto__`;
    for (const [key, member] of Object.entries(entry.value)) stack.push({ value: member, path: `${entry.path}.${key}` });
  }
  return '';
}

export function checkPosition(what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isRevision(value)) throw new InvalidArgumentError(`invalid ${what} ${show(value)}: must be an integer >= 0`);
  return value;
}

export function checkLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_READ_LIMIT;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`invalid limit ${show(value)}: must be an integer >= 1`);
  }
  return value;
}

export function checkRevisionBound(what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) {
    throw new InvalidArgumentError(`invalid ${what} ${show(value)}: must be an integer >= -1`);
  }
  return value;
}

export interface CheckedStreamRead {
  afterRevision: number;
  beforeRevision: number | undefined;
  limit: number;
  backward: boolean;
}

export function checkReadStream(stream: unknown, options: ReadStreamOptions | undefined): CheckedStreamRead {
  assertStreamName(stream);
  const o = options ?? {};
  if (o.direction !== undefined && o.direction !== 'forward' && o.direction !== 'backward') {
    throw new InvalidArgumentError(`invalid direction ${show(o.direction)}: must be 'forward' or 'backward'`);
  }
  return {
    afterRevision: checkRevisionBound('afterRevision', o.afterRevision, -1),
    beforeRevision: o.beforeRevision === undefined ? undefined : checkPosition('beforeRevision', o.beforeRevision, 0),
    limit: checkLimit(o.limit),
    backward: o.direction === 'backward',
  };
}

export function checkStreamMetadata(stream: string, metadata: unknown): StreamMetadata {
  if (typeof metadata !== 'object' || metadata === null) {
    throw new InvalidArgumentError(`stream metadata of ${stream} must be an object, got ${show(metadata)}`);
  }
  const m = metadata as StreamMetadata;
  const out: StreamMetadata = {};
  for (const field of ['maxCount', 'maxAgeMs'] as const) {
    const value = m[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(`stream metadata of ${stream}: invalid ${field} ${show(value)}: must be an integer >= 1`);
    }
    out[field] = value;
  }
  return out;
}

/** A selection prepared for fast matching on the hot read path. */
export interface CompiledSelection {
  /** true when everything matches (no test needed) */
  all: boolean;
  types: ReadonlySet<string> | undefined;
  excludeTypes: ReadonlySet<string> | undefined;
  streamPrefix: string | undefined;
}

export function compileSelection(selection: EventSelection | undefined): CompiledSelection {
  const s = selection ?? {};
  const names = (field: string, value: unknown): ReadonlySet<string> | undefined => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((t) => typeof t !== 'string')) {
      throw new InvalidArgumentError(`invalid ${field} ${show(value)}: must be an array of type names`);
    }
    return new Set(value as string[]);
  };
  const types = names('types', s.types);
  const excludeTypes = names('excludeTypes', s.excludeTypes);
  if (s.streamPrefix !== undefined && typeof s.streamPrefix !== 'string') {
    throw new InvalidArgumentError(`invalid streamPrefix ${show(s.streamPrefix)}: must be a string`);
  }
  const streamPrefix = s.streamPrefix === '' ? undefined : s.streamPrefix;
  return {
    all: types === undefined && (excludeTypes === undefined || excludeTypes.size === 0) && streamPrefix === undefined,
    types,
    excludeTypes: excludeTypes && excludeTypes.size > 0 ? excludeTypes : undefined,
    streamPrefix,
  };
}

export function selectionMatches(selection: CompiledSelection, type: string, stream: string): boolean {
  if (selection.all) return true;
  if (selection.types !== undefined && !selection.types.has(type)) return false;
  if (selection.excludeTypes !== undefined && selection.excludeTypes.has(type)) return false;
  if (selection.streamPrefix !== undefined && !stream.startsWith(selection.streamPrefix)) return false;
  return true;
}

export function checkReadAll(options: ReadAllOptions | undefined): { after: number; limit: number; selection: CompiledSelection } {
  const o = options ?? {};
  return { after: checkPosition('after position', o.after, 0), limit: checkLimit(o.limit), selection: compileSelection(o) };
}

/** Optimistic concurrency check; `actual` is the stream's last revision (-1: no stream). */
export function checkExpected(stream: string, expected: ExpectedRevision, actual: Revision): void {
  if (expected === 'any') return;
  if (expected === 'noStream' ? actual === -1 : expected === 'streamExists' ? actual >= 0 : actual === expected) return;
  throw new WrongExpectedRevisionError(stream, expected, actual);
}
