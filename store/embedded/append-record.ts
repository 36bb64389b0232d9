import { eventBody, eventFromBody, HEADER_BYTES, packr, unpackBody } from '../codec.js';
import { EventTooLargeError } from '../errors.js';
import type { EventToAppend, Position, RecordedEvent, Revision } from '../types.js';
import { selectionMatches, type CompiledSelection } from '../validation.js';

/**
 * The stored form of one append (store format 2): all events of one `append` call in one
 * LMDB value, keyed by the position of its first event. One append is one stream, one
 * commit time and consecutive positions and revisions, so those are stored once:
 *
 *   0  u8   record format (2)
 *   1  u8   0
 *   2  u16  stream length S (LE)
 *   4  u32  event count N (LE)
 *   8  f64  commit time, ms epoch (LE)  }
 *  16  f64  first revision (LE)         } patched inside the write transaction
 *  24  f64  first position (LE)         } (known only once the write lock is held)
 *  32  S bytes stream (ASCII)
 *      then N entries: u32 L (LE) = length of the rest of the entry, u8 type length T,
 *      T bytes type (ASCII), msgpack body (codec.ts `eventBody`)
 *
 * Why: LMDB costs about a microsecond per value on both the write and the cursor path, far
 * more than copying 200 bytes; one value per append makes that cost per append instead of
 * per event. Type stays per entry so that filtered scans skip events without decoding them.
 * The per-stream index (stream-index.ts) has one entry per append record, so a stream read
 * fetches the record straight from the entry's first position. Retention that cuts into a
 * record re-keys it (see `dropLeadingEvents`).
 */
export const APPEND_RECORD_FORMAT = 2;
export const APPEND_HEADER_BYTES = 32;
const TIME_OFFSET = 8;
const REVISION_OFFSET = 16;
const POSITION_OFFSET = 24;

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
}

/**
 * Encodes one append before the write transaction. Each event is checked against
 * `maxEventBytes` by the size it had as a standalone record (header + type + stream + body).
 */
export function encodeAppendRecord(stream: string, events: readonly EventToAppend[], maxEventBytes: number): Buffer {
  const streamLength = stream.length;
  const bodies: Uint8Array[] = new Array(events.length);
  let total = APPEND_HEADER_BYTES + streamLength;
  for (let i = 0; i < events.length; i++) {
    // msgpackr returns views of its own buffer that later packs never overwrite
    const body = packr.pack(eventBody(events[i]!));
    const typeLength = events[i]!.type.length;
    const size = HEADER_BYTES + typeLength + streamLength + body.length;
    if (size > maxEventBytes) throw new EventTooLargeError(size, maxEventBytes);
    bodies[i] = body;
    total += 5 + typeLength + body.length;
  }
  const record = Buffer.allocUnsafe(total) as Latin1Buffer;
  record[0] = APPEND_RECORD_FORMAT;
  record[1] = 0;
  record.writeUInt16LE(streamLength, 2);
  record.writeUInt32LE(events.length, 4);
  record.fill(0, TIME_OFFSET, APPEND_HEADER_BYTES);
  record.latin1Write(stream, APPEND_HEADER_BYTES, streamLength);
  let offset = APPEND_HEADER_BYTES + streamLength;
  for (let i = 0; i < events.length; i++) {
    const type = events[i]!.type;
    const body = bodies[i]!;
    record.writeUInt32LE(1 + type.length + body.length, offset);
    record[offset + 4] = type.length;
    record.latin1Write(type, offset + 5, type.length);
    record.set(body, offset + 5 + type.length);
    offset += 5 + type.length + body.length;
  }
  return record;
}

export function patchAppendRecord(record: Buffer, firstPosition: Position, firstRevision: Revision, time: number): void {
  record.writeDoubleLE(time, TIME_OFFSET);
  record.writeDoubleLE(firstRevision, REVISION_OFFSET);
  record.writeDoubleLE(firstPosition, POSITION_OFFSET);
}

/** LMDB may hand values over as plain Uint8Arrays (large values in shared memory): view them as Buffers, no copy. */
export const asBuffer = (bytes: Uint8Array): Latin1Buffer =>
  ((bytes as Latin1Buffer).latin1Slice === undefined ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : bytes) as Latin1Buffer;

export const appendRecordCount = (record: Uint8Array): number => asBuffer(record).readUInt32LE(4);
export const appendRecordTime = (record: Uint8Array): number => asBuffer(record).readDoubleLE(TIME_OFFSET);
export const appendRecordFirstPosition = (record: Uint8Array): number => asBuffer(record).readDoubleLE(POSITION_OFFSET);

export function isWellFormedAppendRecord(record: Uint8Array): boolean {
  return record.length >= APPEND_HEADER_BYTES && record[0] === APPEND_RECORD_FORMAT &&
    APPEND_HEADER_BYTES + (record[2]! | (record[3]! << 8)) <= record.length;
}

/**
 * Decodes entries [from, to] (indexes inside the record, inclusive) into `out`, ascending
 * or descending, at most until `out` holds `limit` events. The bytes may be LMDB's reused
 * read buffer: everything is decoded (copied out) before returning.
 */
export function decodeAppendEntries(bytes: Uint8Array, from: number, to: number, backward: boolean, out: RecordedEvent[], limit: number): void {
  const record = asBuffer(bytes);
  const streamEnd = APPEND_HEADER_BYTES + record.readUInt16LE(2);
  const stream = record.latin1Slice(APPEND_HEADER_BYTES, streamEnd);
  const time = record.readDoubleLE(TIME_OFFSET);
  const firstRevision = record.readDoubleLE(REVISION_OFFSET);
  const firstPosition = record.readDoubleLE(POSITION_OFFSET);
  const starts: number[] = [];
  let offset = streamEnd;
  for (let i = 0; i <= to; i++) {
    if (i >= from) starts.push(offset);
    offset += 4 + record.readUInt32LE(offset);
  }
  for (let k = 0; k < starts.length && out.length < limit; k++) {
    const index = backward ? to - k : from + k;
    const start = starts[backward ? starts.length - 1 - k : k]!;
    out.push(decodeEntry(record, start, stream, time, firstRevision + index, firstPosition + index));
  }
}

function decodeEntry(record: Latin1Buffer, start: number, stream: string, time: number, revision: Revision, position: Position): RecordedEvent {
  const typeStart = start + 5;
  const bodyStart = typeStart + record[start + 4]!;
  return eventFromBody(unpackBody(record, bodyStart, start + 4 + record.readUInt32LE(start)), stream, record.latin1Slice(typeStart, bodyStart), revision, position, time);
}

/**
 * A copy of `record` without its first `drop` events (retention cutting into an append);
 * the copy's first position and revision move up by `drop`, its time stays.
 */
export function dropLeadingEvents(bytes: Uint8Array, drop: number): Buffer {
  const record = asBuffer(bytes);
  const streamEnd = APPEND_HEADER_BYTES + record.readUInt16LE(2);
  let offset = streamEnd;
  for (let i = 0; i < drop; i++) offset += 4 + record.readUInt32LE(offset);
  const kept = Buffer.allocUnsafe(streamEnd + record.length - offset);
  record.copy(kept, 0, 0, streamEnd);
  record.copy(kept, streamEnd, offset);
  kept.writeUInt32LE(record.readUInt32LE(4) - drop, 4);
  kept.writeDoubleLE(record.readDoubleLE(REVISION_OFFSET) + drop, REVISION_OFFSET);
  kept.writeDoubleLE(record.readDoubleLE(POSITION_OFFSET) + drop, POSITION_OFFSET);
  return kept;
}

/**
 * One page of a scan over the global log in position order. Fed record by record (by the
 * `log` database's decoder, straight from LMDB's read buffer); decodes only events after
 * `after` that match the selection, judging by type and stream without touching the body.
 */
export class ScanPage {
  readonly events: RecordedEvent[] = [];
  /** every position <= scannedTo has been examined */
  scannedTo: Position;
  /** the page is full (limit events, or maxScanned examined) */
  full = false;
  private scanned = 0;

  constructor(
    private readonly after: Position,
    private readonly selection: CompiledSelection,
    private readonly limit: number,
    private readonly maxScanned: number,
  ) {
    this.scannedTo = after;
  }

  take(bytes: Uint8Array): void {
    const record = asBuffer(bytes);
    const count = record.readUInt32LE(4);
    const firstPosition = record.readDoubleLE(POSITION_OFFSET);
    if (firstPosition + count - 1 <= this.after) return;
    const streamEnd = APPEND_HEADER_BYTES + record.readUInt16LE(2);
    const stream = record.latin1Slice(APPEND_HEADER_BYTES, streamEnd);
    const time = record.readDoubleLE(TIME_OFFSET);
    const firstRevision = record.readDoubleLE(REVISION_OFFSET);
    const selection = this.selection;
    const all = selection.all;
    const events = this.events;
    let offset = streamEnd;
    for (let i = 0; i < count; i++) {
      const start = offset;
      offset += 4 + record.readUInt32LE(start);
      const position = firstPosition + i;
      if (position <= this.after) continue;
      this.scannedTo = position;
      this.scanned++;
      if (all) {
        events.push(decodeEntry(record, start, stream, time, firstRevision + i, position));
        if (events.length >= this.limit) return void (this.full = true);
      } else {
        const typeStart = start + 5;
        const type = record.latin1Slice(typeStart, typeStart + record[start + 4]!);
        if (selectionMatches(selection, type, stream)) {
          events.push(decodeEntry(record, start, stream, time, firstRevision + i, position));
          if (events.length >= this.limit) return void (this.full = true);
        }
      }
      if (this.scanned >= this.maxScanned) return void (this.full = true);
    }
  }
}
