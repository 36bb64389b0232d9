import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import type { EventMeta, EventToAppend, RecordedEvent } from './types.js';
import { uuidv7 } from './uuid.js';

/**
 * The stored form of one event (format 1):
 *
 *   0  u8   format (1)
 *   1  u8   type length T
 *   2  u16  stream length S (LE)
 *   4  f64  time, ms epoch (LE)        } patched inside the write transaction, because
 *  12  f64  revision (LE)              } both are only known once the write lock is held
 *  20  T bytes type, S bytes stream (ASCII: both are validated names)
 *  20+T+S   msgpack [id, action, key, tenant|null, schema, data,
 *                    causationId|null, correlationId|null, principal|null, node|null, extraMeta?]
 *
 * Meta is an array, not a map: decoding a map costs a key read and a property store per field.
 *
 * Type, stream, time and revision sit in a fixed header so that filtered reads (skip the
 * `logs` type, match a stream prefix) and time-travel searches never decode the payload.
 * The global position is the record's key and is not repeated here.
 */
export const RECORD_FORMAT = 1;

/** Node's Buffer has these latin1 fast paths (what `toString('latin1')` dispatches to) but does not type them. */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
}
export const HEADER_BYTES = 20;
const TIME_OFFSET = 4;
const REVISION_OFFSET = 12;

/**
 * Plain MessagePack maps (no msgpackr records): payloads stay readable by any msgpack decoder.
 * copyBuffers: records may be read from LMDB's reused buffers, so binary payloads are copied out.
 */
export const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true });

/**
 * The msgpack body of one event (everything but type, stream, time, revision and position,
 * which live in fixed headers). Shared by the per-event record below (memory backend) and
 * the embedded store's append records (embedded/append-record.ts).
 */
export function eventBody(event: EventToAppend): unknown[] {
  const meta = event.meta;
  const extra = meta === undefined ? null : extraMeta(meta);
  const body: unknown[] = [
    event.id ?? uuidv7(),
    event.action,
    event.key,
    event.tenant ?? null,
    event.schema ?? 1,
    event.data,
    meta?.causationId ?? null,
    meta?.correlationId ?? null,
    meta?.principal ?? null,
    meta?.node ?? null,
  ];
  if (extra !== null) body.push(extra);
  return body;
}

/** Encodes an event once, before the write transaction; `time`/`revision` are patched later. */
export function encodeRecord(stream: string, event: EventToAppend): Buffer {
  const body = eventBody(event);
  const typeLength = event.type.length;
  const streamLength = stream.length;
  const headerLength = HEADER_BYTES + typeLength + streamLength;
  let record: Latin1Buffer;
  if (headerLength <= 0xff) {
    // msgpackr leaves room for the header in front of the body: no second buffer, no copy
    record = packr.pack(body, RESERVE_START_SPACE | headerLength) as Latin1Buffer;
  } else {
    const packed = packr.pack(body);
    record = Buffer.allocUnsafe(headerLength + packed.length) as Latin1Buffer;
    packed.copy(record, headerLength);
  }
  record[0] = RECORD_FORMAT;
  record[1] = typeLength;
  record.writeUInt16LE(streamLength, 2);
  record.writeDoubleLE(0, TIME_OFFSET);
  record.writeDoubleLE(0, REVISION_OFFSET);
  record.latin1Write(event.type, HEADER_BYTES, typeLength);
  record.latin1Write(stream, HEADER_BYTES + typeLength, streamLength);
  return record;
}

const KNOWN_META = new Set(['causationId', 'correlationId', 'principal', 'node']);

/** meta fields beyond the four of the envelope, kept so nothing a writer set is lost */
function extraMeta(meta: EventMeta): Record<string, unknown> | null {
  let extra: Record<string, unknown> | null = null;
  for (const name in meta) {
    if (KNOWN_META.has(name)) continue;
    const value = (meta as Record<string, unknown>)[name];
    if (value === undefined) continue;
    (extra ??= {})[name] = value;
  }
  return extra;
}

export function patchRecord(record: Buffer, revision: number, time: number): void {
  record.writeDoubleLE(time, TIME_OFFSET);
  record.writeDoubleLE(revision, REVISION_OFFSET);
}

export const recordType = (record: Uint8Array): string =>
  (record as Latin1Buffer).latin1Slice(HEADER_BYTES, HEADER_BYTES + record[1]!);

export function recordStream(record: Uint8Array): string {
  const start = HEADER_BYTES + record[1]!;
  return (record as Latin1Buffer).latin1Slice(start, start + (record[2]! | (record[3]! << 8)));
}

export const recordTime = (record: Uint8Array): number => (record as Buffer).readDoubleLE(TIME_OFFSET);
export const recordRevision = (record: Uint8Array): number => (record as Buffer).readDoubleLE(REVISION_OFFSET);

/** Throws unless `record` looks like a complete format-1 record (used when reading back). */
export function isWellFormedRecord(record: Uint8Array): boolean {
  return record.length > HEADER_BYTES && record[0] === RECORD_FORMAT &&
    HEADER_BYTES + record[1]! + (record[2]! | (record[3]! << 8)) < record.length;
}

export type Body = [string, string, string, string | null, number, unknown, string | null, string | null, string | null, string | null, Record<string, unknown>?];

/** Builds the envelope from a decoded body and the header fields. */
export function eventFromBody(body: Body, stream: string, type: string, revision: number, position: number, time: number): RecordedEvent {
  const extra = body[10];
  const meta: EventMeta = extra === undefined ? {} : { ...extra };
  if (body[6] !== null) meta.causationId = body[6];
  if (body[7] !== null) meta.correlationId = body[7];
  if (body[8] !== null) meta.principal = body[8];
  if (body[9] !== null) meta.node = body[9];
  const event: RecordedEvent = {
    id: body[0],
    stream,
    type,
    action: body[1],
    key: body[2],
    schema: body[4],
    revision,
    position,
    time,
    data: body[5],
    meta,
  };
  if (body[3] !== null) event.tenant = body[3];
  return event;
}

/** Decodes the msgpack body at [start, end) of `buffer`. */
export const unpackBody = (buffer: Uint8Array, start: number, end: number): Body => packr.unpack(buffer, { start, end }) as Body;

export function decodeRecord(record: Uint8Array, position: number, end: number = record.length): RecordedEvent {
  const typeLength = record[1]!;
  const streamLength = record[2]! | (record[3]! << 8);
  const buffer = record as Latin1Buffer;
  const streamStart = HEADER_BYTES + typeLength;
  const bodyStart = streamStart + streamLength;
  return eventFromBody(
    unpackBody(buffer, bodyStart, end),
    buffer.latin1Slice(streamStart, bodyStart),
    buffer.latin1Slice(HEADER_BYTES, streamStart),
    buffer.readDoubleLE(REVISION_OFFSET),
    position,
    buffer.readDoubleLE(TIME_OFFSET),
  );
}
