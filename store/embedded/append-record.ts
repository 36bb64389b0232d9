import { Packr } from 'msgpackr';
import { eventBody, eventFromBody, HEADER_BYTES, packr, unpackBody, type Body } from '../codec.js';
import { EventTooLargeError } from '../errors.js';
import type { EventToAppend, Position, RecordedEvent, Revision } from '../types.js';
import { selectionMatches, type CompiledSelection } from '../validation.js';

/**
 * The stored form of one append (store format 3): all events of one `append` call in one
 * LMDB value, keyed by the position of its first event. One append is one stream, one
 * commit time and consecutive positions and revisions, so those are stored once:
 *
 *   0  u8   record format (3)
 *   1  u8   0
 *   2  u16  stream length S (LE)
 *   4  u32  event count N (LE)
 *   8  f64  commit time, ms epoch (LE)  }
 *  16  f64  first revision (LE)         } patched inside the write transaction
 *  24  f64  first position (LE)         } (known only once the write lock is held)
 *  32  S bytes stream (ASCII)
 *      then blocks of consecutive events until N are covered:
 *        u32 L (LE) = length of the rest of the block, u8 k = events in the block
 *        (+0x80 when its bodies are records), k times (u8 type length T, T bytes type,
 *        ASCII), then the msgpack bodies (codec.ts `eventBody`): either one body, plain
 *        MessagePack (k = 1), or an array of k bodies encoded with msgpackr records
 *        (`blockPackr`).
 *
 * Why one value per append: LMDB costs about a microsecond per value on both the write and
 * the cursor path, far more than copying 200 bytes.
 * Why blocks: a big append's events mostly share a `data` shape; msgpackr records write each
 * shape's keys once per block and decode it with a compiled reader, about twice as fast as
 * maps (measured 0.30-0.40 vs 0.62-0.68 µs per event, 64-event blocks). Records pay off
 * only after a dozen or so objects of one shape, so small appends keep one plain body per
 * event. Blocks are self-contained (no structures shared across values or processes), and
 * small (at most 64 events) so that a read starting or stopping inside an append decodes
 * little that it throws away. Types stay per event so that filtered scans skip whole blocks
 * without decoding them.
 *
 * The per-stream index (stream-index.ts) has one entry per append record, so a stream read
 * fetches the record straight from the entry's first position. Retention that cuts into a
 * record re-keys it (see `dropLeadingEvents`).
 */
export const APPEND_RECORD_FORMAT = 3;
export const APPEND_HEADER_BYTES = 32;
const TIME_OFFSET = 8;
const REVISION_OFFSET = 16;
const POSITION_OFFSET = 24;
/** appends with fewer events get one plain body per event */
const MIN_EVENTS_FOR_BLOCKS = 24;
const MAX_BLOCK_EVENTS = 64;
const RECORDS_FLAG = 0x80;

/**
 * Encodes blocks of several bodies. Never used on single bodies: with records on, msgpackr
 * reads bytes 0x40-0x7f as record references, so the two kinds must not be mixed up.
 */
const blockPackr = new Packr({ useRecords: true, moreTypes: false, copyBuffers: true });

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
}

interface EncodedBlock {
  first: number;
  count: number;
  bytes: Uint8Array;
  records: boolean;
}

/**
 * Encodes one append before the write transaction. Each event is checked against
 * `maxEventBytes` by the size it has as a standalone record (header + type + stream + body).
 */
export function encodeAppendRecord(stream: string, events: readonly EventToAppend[], maxEventBytes: number): Buffer {
  const streamLength = stream.length;
  const blocks: EncodedBlock[] = [];
  let total = APPEND_HEADER_BYTES + streamLength;
  const single = (i: number): void => {
    // msgpackr returns views of its own buffer that later packs never overwrite
    const body = packr.pack(eventBody(events[i]!));
    const size = HEADER_BYTES + events[i]!.type.length + streamLength + body.length;
    if (size > maxEventBytes) throw new EventTooLargeError(size, maxEventBytes);
    blocks.push({ first: i, count: 1, bytes: body, records: false });
  };
  if (events.length < MIN_EVENTS_FOR_BLOCKS) {
    for (let i = 0; i < events.length; i++) single(i);
  } else {
    // blocks of about equal size rather than a small one at the end
    const size = Math.ceil(events.length / Math.ceil(events.length / MAX_BLOCK_EVENTS));
    for (let first = 0; first < events.length; first += size) {
      const count = Math.min(size, events.length - first);
      const bodies: unknown[] = new Array(count);
      for (let i = 0; i < count; i++) bodies[i] = eventBody(events[first + i]!);
      const bytes = blockPackr.pack(bodies);
      // the block is within the limit, so each of its events is; otherwise check them one by one
      if (HEADER_BYTES + 255 + streamLength + bytes.length <= maxEventBytes) blocks.push({ first, count, bytes, records: true });
      else for (let i = first; i < first + count; i++) single(i);
    }
  }
  for (const block of blocks) {
    total += 5 + block.bytes.length;
    for (let i = block.first; i < block.first + block.count; i++) total += 1 + events[i]!.type.length;
  }
  const record = Buffer.allocUnsafe(total) as Latin1Buffer;
  record[0] = APPEND_RECORD_FORMAT;
  record[1] = 0;
  record.writeUInt16LE(streamLength, 2);
  record.writeUInt32LE(events.length, 4);
  record.fill(0, TIME_OFFSET, APPEND_HEADER_BYTES);
  record.latin1Write(stream, APPEND_HEADER_BYTES, streamLength);
  let offset = APPEND_HEADER_BYTES + streamLength;
  for (const block of blocks) {
    const start = offset;
    record[offset + 4] = block.records ? RECORDS_FLAG | block.count : block.count;
    offset += 5;
    for (let i = block.first; i < block.first + block.count; i++) {
      const type = events[i]!.type;
      record[offset] = type.length;
      record.latin1Write(type, offset + 1, type.length);
      offset += 1 + type.length;
    }
    record.set(block.bytes, offset);
    offset += block.bytes.length;
    record.writeUInt32LE(offset - start - 4, start);
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

/** Where one block's parts are: `start` is the offset of its length field. */
interface Block {
  start: number;
  /** offset of the first type length byte */
  types: number;
  /** offset of the msgpack bodies */
  bodies: number;
  end: number;
  /** index (inside the record) of the block's first event */
  first: number;
  count: number;
  records: boolean;
}

function readBlock(record: Latin1Buffer, start: number, first: number): Block {
  const count = record[start + 4]! & ~RECORDS_FLAG;
  let bodies = start + 5;
  for (let i = 0; i < count; i++) bodies += 1 + record[bodies]!;
  return { start, types: start + 5, bodies, end: start + 4 + record.readUInt32LE(start), first, count, records: (record[start + 4]! & RECORDS_FLAG) !== 0 };
}

function decodeBodies(record: Latin1Buffer, block: Block): Body[] {
  return block.records ? (blockPackr.unpack(record, { start: block.bodies, end: block.end }) as Body[]) : [unpackBody(record, block.bodies, block.end)];
}

/** The type strings of a block's events. */
function blockTypes(record: Latin1Buffer, block: Block): string[] {
  const types: string[] = new Array(block.count);
  let at = block.types;
  for (let i = 0; i < block.count; i++) {
    types[i] = record.latin1Slice(at + 1, at + 1 + record[at]!);
    at += 1 + record[at]!;
  }
  return types;
}

interface RecordHeader {
  stream: string;
  time: number;
  firstRevision: Revision;
  firstPosition: Position;
  count: number;
  /** offset of the first block */
  blocks: number;
}

function readHeader(record: Latin1Buffer): RecordHeader {
  const blocks = APPEND_HEADER_BYTES + record.readUInt16LE(2);
  return {
    stream: record.latin1Slice(APPEND_HEADER_BYTES, blocks),
    time: record.readDoubleLE(TIME_OFFSET),
    firstRevision: record.readDoubleLE(REVISION_OFFSET),
    firstPosition: record.readDoubleLE(POSITION_OFFSET),
    count: record.readUInt32LE(4),
    blocks,
  };
}

/** The blocks holding events up to index `to` (all of them by default). */
function blocksUpTo(record: Latin1Buffer, header: RecordHeader, to: number = header.count - 1): Block[] {
  const blocks: Block[] = [];
  let offset = header.blocks;
  for (let first = 0; first <= to && first < header.count; ) {
    const block = readBlock(record, offset, first);
    blocks.push(block);
    first += block.count;
    offset = block.end;
  }
  return blocks;
}

/**
 * Decodes events [from, to] (indexes inside the record, inclusive) into `out`, ascending
 * or descending, until `out` holds `limit` events; blocks outside the range or past the
 * limit are not decoded. The bytes may be LMDB's reused read buffer: everything is decoded
 * (copied out) before returning.
 */
export function decodeAppendEntries(bytes: Uint8Array, from: number, to: number, backward: boolean, out: RecordedEvent[], limit: number): void {
  const record = asBuffer(bytes);
  const header = readHeader(record);
  const blocks = blocksUpTo(record, header, to);
  for (let b = 0; b < blocks.length && out.length < limit; b++) {
    const block = blocks[backward ? blocks.length - 1 - b : b]!;
    const low = Math.max(from, block.first);
    const high = Math.min(to, block.first + block.count - 1);
    if (low > high) continue;
    const bodies = decodeBodies(record, block);
    const types = blockTypes(record, block);
    for (let k = 0; k <= high - low && out.length < limit; k++) {
      const index = backward ? high - k : low + k;
      const j = index - block.first;
      out.push(eventFromBody(bodies[j]!, header.stream, types[j]!, header.firstRevision + index, header.firstPosition + index, header.time));
    }
  }
}

/**
 * A copy of `record` without its first `drop` events (retention cutting into an append);
 * the copy's first position and revision move up by `drop`, its time stays. A block the
 * cut goes through keeps its remaining events as single-body blocks.
 */
export function dropLeadingEvents(bytes: Uint8Array, drop: number): Buffer {
  const record = asBuffer(bytes);
  const header = readHeader(record);
  const parts: Uint8Array[] = [record.subarray(0, header.blocks)];
  for (const block of blocksUpTo(record, header)) {
    if (block.first + block.count <= drop) continue;
    if (block.first >= drop) {
      parts.push(record.subarray(block.start, block.end));
      continue;
    }
    const bodies = decodeBodies(record, block);
    const types = blockTypes(record, block);
    for (let j = drop - block.first; j < block.count; j++) {
      const body = packr.pack(bodies[j]);
      const single = Buffer.allocUnsafe(6 + types[j]!.length + body.length) as Latin1Buffer;
      single.writeUInt32LE(single.length - 4, 0);
      single[4] = 1;
      single[5] = types[j]!.length;
      single.latin1Write(types[j]!, 6, types[j]!.length);
      single.set(body, 6 + types[j]!.length);
      parts.push(single);
    }
  }
  const kept = Buffer.concat(parts);
  kept.writeUInt32LE(header.count - drop, 4);
  kept.writeDoubleLE(header.firstRevision + drop, REVISION_OFFSET);
  kept.writeDoubleLE(header.firstPosition + drop, POSITION_OFFSET);
  return kept;
}

/**
 * One page of a scan over the global log in position order. Fed record by record (by the
 * `log` database's decoder, straight from LMDB's read buffer); decodes only blocks holding
 * events after `after` that match the selection, judging by type and stream alone.
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
    const after = this.after;
    if (firstPosition + count - 1 <= after) return;
    const header = readHeader(record);
    const { stream, time, firstRevision } = header;
    const selection = this.selection;
    const events = this.events;
    let offset = header.blocks;
    for (let first = 0; first < count; ) {
      const block = readBlock(record, offset, first);
      offset = block.end;
      first += block.count;
      if (firstPosition + first - 1 <= after) continue;
      let bodies: Body[] | undefined;
      let at = block.types;
      for (let j = 0; j < block.count; j++) {
        const typeStart = at + 1;
        at = typeStart + record[at]!;
        const index = block.first + j;
        const position = firstPosition + index;
        if (position <= after) continue;
        this.scannedTo = position;
        this.scanned++;
        const type = record.latin1Slice(typeStart, at);
        if (selection.all || selectionMatches(selection, type, stream)) {
          bodies ??= decodeBodies(record, block);
          events.push(eventFromBody(bodies[j]!, stream, type, firstRevision + index, position, time));
          if (events.length >= this.limit) return void (this.full = true);
        }
        if (this.scanned >= this.maxScanned) return void (this.full = true);
      }
    }
  }
}
