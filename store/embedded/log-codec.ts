import type { ScanPage } from './append-record.js';

/**
 * The value codec of the `log` database. Append records are encoded by us before the write
 * transaction (append-record.ts), so `encode` passes them through. `decode` is where the
 * read speed comes from: LMDB hands it its reused read buffer directly (no copy per value;
 * lmdb-js skips the copy because this codec does not ask for a stable buffer), and it feeds
 * the record to the scan page in progress, which decodes only what the page wants.
 *
 * Outside a scan `decode` returns a copy of the bytes (nothing in the store reads that way;
 * point reads use `getBinaryFast`).
 */
export class LogRecordCodec {
  /** the page of the scan in progress (scans are synchronous, so one at a time) */
  private page: ScanPage | undefined;

  encode(record: Buffer): Buffer {
    return record;
  }

  /** returns whether the page is full, so the scan loop can stop */
  decode(bytes: Uint8Array): boolean | Buffer {
    const page = this.page;
    if (page === undefined) return Buffer.from(bytes);
    page.take(bytes);
    return page.full;
  }

  /** Runs a synchronous scan with every record it reads fed to `page`. */
  feeding<T>(page: ScanPage, scan: () => T): T {
    this.page = page;
    try {
      return scan();
    } finally {
      this.page = undefined;
    }
  }
}
