/**
 * Turning a child's stdout/stderr byte streams into batches of lines.
 *
 * Splitting works on bytes (`Buffer.indexOf(10)`), so a chunk boundary inside a multi-byte
 * character never corrupts it and a 64 KiB chunk of short lines costs one scan. A line longer
 * than `maxLineBytes` is cut there, sent with `truncated: true`, and the rest of it (up to
 * the next newline) is skipped, so one runaway line cannot grow memory without bound.
 */

export type OutputFd = 'stdout' | 'stderr';
export interface OutputLine {
  fd: OutputFd;
  line: string;
  truncated?: boolean;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** inside an over-long line whose head was already emitted */
  private skipping = false;

  constructor(
    private readonly fd: OutputFd,
    private readonly maxLineBytes: number,
    private readonly onLine: (line: OutputLine) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (this.skipping) {
        if (newline === -1) return;
        this.skipping = false;
        start = newline + 1;
        continue;
      }
      const piece = chunk.subarray(start, end);
      if (this.size + piece.length > this.maxLineBytes) {
        this.parts.push(piece.subarray(0, this.maxLineBytes - this.size));
        this.emit(true);
        if (newline === -1) {
          this.skipping = true;
          return;
        }
      } else if (newline === -1) {
        this.parts.push(piece);
        this.size += piece.length;
        return;
      } else if (this.size === 0) {
        this.onLine({ fd: this.fd, line: piece.toString('utf8') });
      } else {
        this.parts.push(piece);
        this.emit(false);
      }
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.size > 0) this.emit(false);
    this.skipping = false;
  }

  private emit(truncated: boolean): void {
    const line = (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.onLine(truncated ? { fd: this.fd, line, truncated: true } : { fd: this.fd, line });
  }
}

/**
 * Collects lines of one run and hands them over in batches: when `batchLines` are pending,
 * when they may take `batchBytes` encoded (3 bytes per UTF-16 unit, an upper bound), or
 * `flushMs` after the first pending line, whichever comes first. Batching keeps the report
 * rate near `1000 / flushMs` per busy process whatever the line rate; the byte bound keeps a
 * batch of long lines (1000 of 16 KiB) well inside one minion frame (1 MiB).
 */
export const DEFAULT_BATCH_BYTES = 256 * 1024;
export class OutputBatcher {
  private pending: OutputLine[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly batchLines: number,
    private readonly flushMs: number,
    private readonly onBatch: (lines: OutputLine[]) => void,
    private readonly batchBytes = DEFAULT_BATCH_BYTES,
  ) {}

  add = (line: OutputLine): void => {
    this.pending.push(line);
    this.pendingBytes += line.line.length * 3;
    if (this.pending.length >= this.batchLines || this.pendingBytes >= this.batchBytes) this.flush();
    else if (this.timer === null) this.timer = setTimeout(this.flush, this.flushMs);
  };

  flush = (): void => {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.onBatch(lines);
  };
}
