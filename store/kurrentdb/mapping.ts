import {
  ANY,
  BACKWARDS,
  FORWARDS,
  NO_STREAM,
  STREAM_EXISTS,
  eventTypeFilter,
  streamNameFilter,
  binaryEvent,
  type AppendStreamState,
  type EventData,
  type Filter,
  type Position as KurrentPosition,
  type RecordedEvent as KurrentRecordedEvent,
} from '@kurrent/kurrentdb-client';
import { Packr } from 'msgpackr';
import { CorruptStoreError, EventTooLargeError, InvalidArgumentError, UnavailableError } from '../errors.js';
import { STREAM_PATTERN } from '../keys.js';
import type { EventToAppend, ExpectedRevision, Position, RecordedEvent } from '../types.js';
import { uuidv7, UUID_PATTERN } from '../uuid.js';
import type { CompiledSelection } from '../validation.js';

/**
 * Pure translation between Corral's envelope and KurrentDB's events, stream names,
 * revisions, positions and filters. No I/O here, so all of it is unit-tested without a
 * server (mapping.spec.ts). The README of this folder explains each choice.
 */

export { FORWARDS, BACKWARDS };

// ---------------------------------------------------------------------------------------
// Stream names

/**
 * A namespace lets several Corral clusters (or test runs) share one KurrentDB: every
 * stream becomes `<namespace>/<stream>`. Corral stream names never contain `/`, so the
 * split is unambiguous.
 */
export const NAMESPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkNamespace(namespace: unknown): string | undefined {
  if (namespace === undefined || namespace === '') return undefined;
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new InvalidArgumentError(
      `invalid KurrentDB namespace ${JSON.stringify(namespace)}: must match ${NAMESPACE_PATTERN.source}`,
      { field: 'namespace' },
    );
  }
  return namespace;
}

/**
 * KurrentDB reserves `$`-prefixed names for system streams (`$all`, `$settings`, `$$x` is
 * the metadata of `x`). Corral's own `$components`/`$leader` therefore travel as `_$components`:
 * `_` can never start a Corral stream name (STREAM_PATTERN starts with `$` or a-z), so
 * the mapping is a bijection between Corral names and the KurrentDB names it produces.
 */
function encodeLocal(streamOrPrefix: string): string {
  return streamOrPrefix.startsWith('$') ? `_${streamOrPrefix}` : streamOrPrefix;
}

export function toKurrentStream(stream: string, namespace: string | undefined): string {
  const local = encodeLocal(stream);
  return namespace === undefined ? local : `${namespace}/${local}`;
}

/** The Corral stream a KurrentDB stream stands for, or undefined if it is not one of ours. */
export function fromKurrentStream(name: string, namespace: string | undefined): string | undefined {
  let local = name;
  if (namespace !== undefined) {
    if (!name.startsWith(`${namespace}/`)) return undefined;
    local = name.slice(namespace.length + 1);
  }
  let stream: string;
  if (local.startsWith('_$')) stream = local.slice(1);
  else if (local.startsWith('$') || local.startsWith('_')) return undefined; // KurrentDB system stream / not ours
  else stream = local;
  return STREAM_PATTERN.test(stream) ? stream : undefined;
}

/**
 * KurrentDB prefix for a Corral stream prefix. It selects a superset of the streams the
 * Corral prefix selects (exact whenever the prefix is a real name prefix), because
 * `s.startsWith(p)` implies `encode(s).startsWith(encode(p))`; callers still check the
 * Corral prefix on the decoded name.
 */
export function toKurrentStreamPrefix(prefix: string | undefined, namespace: string | undefined): string | undefined {
  const local = prefix === undefined || prefix === '' ? '' : encodeLocal(prefix);
  const full = namespace === undefined ? local : `${namespace}/${local}`;
  return full === '' ? undefined : full;
}

// ---------------------------------------------------------------------------------------
// Revisions and positions

export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'noStream':
      return NO_STREAM;
    case 'streamExists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

/** KurrentDB's "current state" of a stream as Corral's revision: `no_stream` is -1. */
export function fromCurrentStreamState(state: unknown): number {
  if (typeof state === 'bigint') return Number(state);
  if (typeof state === 'number') return state;
  return -1;
}

/**
 * Corral's global position is KurrentDB's commit position: the byte offset of the event's
 * record in the transaction log. Every event written by a modern (gRPC) append has a
 * record of its own, so commit positions are unique and strictly increasing in $all order,
 * but not gapless (the port allows that). Offsets stay far below 2^53.
 */
export function toPosition(position: KurrentPosition): Position {
  const value = Number(position.commit);
  if (!Number.isSafeInteger(value)) throw new CorruptStoreError(`KurrentDB position ${position.commit} is beyond 2^53`);
  return value;
}

/** The KurrentDB position of an event whose Corral position is `position`. */
export function toKurrentPosition(position: Position): KurrentPosition {
  return { commit: BigInt(position), prepare: BigInt(position) };
}

/** Positions at or above this are KurrentDB's "no position" sentinels (2^64-1 and friends). */
export const NO_POSITION = 1n << 63n;

/** Lexicographic order of KurrentDB positions (commit first, as $all is ordered). */
export function compareKurrentPositions(a: KurrentPosition, b: KurrentPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

// ---------------------------------------------------------------------------------------
// Events

/**
 * Payloads are MessagePack (docs/architecture.md "Event store"), with the same options as the embedded store:
 * plain maps (no msgpackr records), so every event decodes on its own, in any process.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: false });

/** Marks the metadata of an event Corral wrote (envelope format 1). */
export const ENVELOPE_VERSION = 1;

/**
 * The Corral envelope fields that KurrentDB has no place for, stored as the event's JSON
 * metadata (readable in KurrentDB's UI). `$correlationId`/`$causationId` are KurrentDB's
 * own conventions, so its system projections (`$by_correlation_id`) work on Corral events.
 */
export interface EnvelopeMetadata {
  corral: typeof ENVELOPE_VERSION;
  key: string;
  tenant?: string;
  schema: number;
  meta?: Record<string, unknown>;
  $correlationId?: string;
  $causationId?: string;
}

export interface PreparedEvent {
  event: EventData;
  id: string;
  /** encoded data + metadata bytes: what the size limit is checked against */
  size: number;
}

export const kurrentEventType = (type: string, action: string): string => `${type}.${action}`;

/** Splits `<type>.<action>`; undefined when the name is not of that form. */
export function parseKurrentEventType(name: string): { type: string; action: string } | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1 || name.startsWith('$')) return undefined;
  return { type: name.slice(0, dot), action: name.slice(dot + 1) };
}

/** Encodes one (already validated) event; throws EventTooLargeError before anything is sent. */
export function toKurrentEvent(event: EventToAppend, maxEventBytes: number): PreparedEvent {
  const id = event.id ?? uuidv7();
  if (!UUID_PATTERN.test(id)) {
    // KurrentDB event ids are UUIDs; anything else would be rejected by the server mid-append
    throw new InvalidArgumentError(`invalid event id ${JSON.stringify(id.slice(0, 80))}: the KurrentDB store needs a UUID`, {
      field: 'id',
    });
  }
  const data = packr.pack(event.data);
  const metadata: EnvelopeMetadata = { corral: ENVELOPE_VERSION, key: event.key, schema: event.schema ?? 1 };
  if (event.tenant !== undefined) metadata.tenant = event.tenant;
  const meta = event.meta;
  if (meta !== undefined && Object.keys(meta).length > 0) {
    metadata.meta = { ...meta };
    if (meta.correlationId !== undefined) metadata.$correlationId = meta.correlationId;
    if (meta.causationId !== undefined) metadata.$causationId = meta.causationId;
  }
  const metadataBytes = Buffer.from(JSON.stringify(metadata), 'utf8');
  const size = data.length + metadataBytes.length;
  if (size > maxEventBytes) throw new EventTooLargeError(size, maxEventBytes);
  return {
    id,
    size,
    event: binaryEvent({ id, type: kurrentEventType(event.type, event.action), data, metadata: metadataBytes }),
  };
}

function parseMetadata(metadata: unknown): Record<string, unknown> | undefined {
  if (metadata instanceof Uint8Array) {
    try {
      metadata = JSON.parse(Buffer.from(metadata).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
    ? (metadata as Record<string, unknown>)
    : undefined;
}

/** What can be known about a KurrentDB event from its names alone, without decoding its data. */
export interface EventIdentity {
  stream: string;
  type: string;
  action: string;
}

export function identifyKurrentEvent(event: { streamId: string; type: string }, namespace: string | undefined): EventIdentity | undefined {
  const stream = fromKurrentStream(event.streamId, namespace);
  if (stream === undefined) return undefined;
  const parsed = parseKurrentEventType(event.type);
  if (parsed === undefined) return undefined;
  return { stream, ...parsed };
}

/**
 * Decodes a KurrentDB event into Corral's envelope. Returns undefined for events that are
 * not Corral's (system events, other applications' streams, events without the envelope),
 * so scans of $all can skip them; throws CorruptStoreError when an event claims to be
 * Corral's but cannot be decoded.
 */
export function fromKurrentEvent(
  event: KurrentRecordedEvent,
  namespace: string | undefined,
  position: KurrentPosition | undefined,
  identity: EventIdentity | undefined = identifyKurrentEvent(event, namespace),
): RecordedEvent | undefined {
  if (identity === undefined) return undefined;
  const metadata = parseMetadata(event.metadata);
  if (metadata === undefined || metadata.corral !== ENVELOPE_VERSION) return undefined;
  const where = { stream: event.streamId, revision: Number(event.revision), id: event.id };
  if (typeof metadata.key !== 'string' || typeof metadata.schema !== 'number') {
    throw new CorruptStoreError(`KurrentDB event ${event.id} in ${event.streamId} has a malformed Corral envelope`, where);
  }
  const at = position ?? event.position;
  // servers before 22.6 leave stream-read positions unset or at the uint64 "none" sentinel
  if (at === undefined || at.commit >= NO_POSITION) {
    throw new UnavailableError(
      `KurrentDB returned event ${event.id} without a position: the server is too old (KurrentDB/EventStoreDB >= 22.6 is required)`,
      where,
    );
  }
  let data: unknown;
  if (event.isJson) {
    data = event.data; // written by another tool as JSON: already parsed by the client
  } else {
    try {
      data = packr.unpack(event.data as Uint8Array);
    } catch (error) {
      throw new CorruptStoreError(`KurrentDB event ${event.id} in ${event.streamId}: payload is not valid MessagePack`, where, {
        cause: error,
      });
    }
  }
  const recorded: RecordedEvent = {
    id: event.id,
    stream: identity.stream,
    type: identity.type,
    action: identity.action,
    key: metadata.key,
    schema: metadata.schema,
    revision: Number(event.revision),
    position: toPosition(at),
    time: event.created.getTime(),
    data,
    meta: parseMetadata(metadata.meta) ?? {},
  };
  if (typeof metadata.tenant === 'string') recorded.tenant = metadata.tenant;
  return recorded;
}

// ---------------------------------------------------------------------------------------
// Filters

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * The server-side filter for a selection. KurrentDB takes one filter per read, on either
 * the event type or the stream name, so:
 * - with `types`/`excludeTypes`: an event-type regex (matching types, not excluded types,
 *   never `$` system types): excluded events are skipped on the server, never sent;
 * - otherwise, with a namespace or stream prefix: a stream-name prefix filter;
 * - otherwise: everything but `$` system event types.
 * The caller still checks the whole selection on each event's names, so the server filter
 * only has to select a superset.
 */
export function toServerFilter(selection: CompiledSelection, namespace: string | undefined): Filter {
  const { types, excludeTypes } = selection;
  if (types !== undefined || excludeTypes !== undefined) {
    return eventTypeFilter({ regex: eventTypeRegex(types, excludeTypes) });
  }
  const prefix = toKurrentStreamPrefix(selection.streamPrefix, namespace);
  if (prefix !== undefined) return streamNameFilter({ prefixes: [prefix] });
  return eventTypeFilter({ regex: '^[^$]' });
}

/** Regex over `<type>.<action>` names; exported for the unit tests. */
export function eventTypeRegex(types: ReadonlySet<string> | undefined, excludeTypes: ReadonlySet<string> | undefined): string {
  const alternatives = (names: ReadonlySet<string>): string => [...names].map(escapeRegex).join('|');
  let regex = '^(?!\\$)';
  if (excludeTypes !== undefined && excludeTypes.size > 0) regex += `(?!(?:${alternatives(excludeTypes)})\\.)`;
  if (types !== undefined) regex += types.size === 0 ? '(?!)' : `(?:${alternatives(types)})\\.`;
  return regex;
}

/** The filter that selects this store's events in $all scans that have no selection. */
export function namespaceFilter(namespace: string | undefined): Filter {
  return namespace === undefined
    ? eventTypeFilter({ regex: '^[^$]' })
    : streamNameFilter({ prefixes: [`${namespace}/`] });
}
