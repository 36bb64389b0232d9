import { decodeRecord, recordStream, recordType } from '../codec.js';
import type { RecordedEvent } from '../types.js';
import { selectionMatches, type CompiledSelection } from '../validation.js';

/**
 * The value codec of the `log` database. Records are encoded by us before the write
 * transaction (codec.ts), so `encode` passes them through. `decode` is where the read
 * speed comes from: LMDB hands it its reused read buffer directly (no copy per value),
 * and while a filtered scan runs it rejects events by their header alone, so skipped
 * events (e.g. `logs` for projections) are never decoded or allocated.
 *
 * The returned event carries position 0; the scan sets it from the key.
 */
export class LogRecordCodec {
  /** the selection of the scan in progress (scans are synchronous, so one at a time) */
  private selection: CompiledSelection | undefined;

  encode(record: Buffer): Buffer {
    return record;
  }

  decode(bytes: Uint8Array): RecordedEvent | null {
    const selection = this.selection;
    if (selection !== undefined && !selection.all && !selectionMatches(selection, recordType(bytes), recordStream(bytes))) return null;
    return decodeRecord(bytes, 0, bytes.length);
  }

  /** Runs a synchronous scan with `selection` applied inside `decode`. */
  filtered<T>(selection: CompiledSelection, scan: () => T): T {
    this.selection = selection;
    try {
      return scan();
    } finally {
      this.selection = undefined;
    }
  }
}
