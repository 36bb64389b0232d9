import type { ResponseHandle } from './response.js';

export interface StreamInit {
  status?: number;
  headers?: Record<string, string>;
}

/**
 * A streamed (chunked) response with backpressure, for NDJSON history and log follow.
 * `write` resolves at once while the socket keeps up and otherwise when uWS reports the
 * socket writable again: a producer that awaits every write never buffers more than one
 * chunk beyond what the kernel accepted, however slow the client.
 *
 *   const out = ctx.stream({ headers: { 'content-type': 'application/x-ndjson' } });
 *   for (const item of items) { if (out.closed) break; await out.writeJsonLine(item); }
 *   out.end();
 */
export class ResponseStream {
  private readonly handle: ResponseHandle;
  private waitingForDrain: (() => void) | null = null;
  private readonly init: Required<StreamInit>;

  constructor(handle: ResponseHandle, init: StreamInit = {}) {
    this.handle = handle;
    this.init = { status: init.status ?? 200, headers: init.headers ?? { 'content-type': 'application/octet-stream' } };
    handle.onAbort(() => this.releaseWaiter());
    handle.res.onWritable(() => {
      this.releaseWaiter();
      return true;
    });
  }

  /** True once the client went away or the stream ended: stop producing. */
  get closed(): boolean {
    return !this.handle.open;
  }

  /** Aborted when the client disconnects. */
  get signal(): AbortSignal {
    return this.handle.signal;
  }

  /** True while a write waits for the client to read (the socket buffer is full). */
  get backpressured(): boolean {
    return this.waitingForDrain !== null;
  }

  onClose(listener: () => void): void {
    this.handle.onAbort(listener);
  }

  /** Resolves when the chunk is accepted and the socket has room for more. */
  write(chunk: string | Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.handle.headersSent) this.handle.writeHead(this.init.status, this.init.headers);
    if (this.handle.writeChunk(chunk)) return Promise.resolve();
    // uWS buffered the chunk; the next onWritable means the buffer drained.
    return new Promise((resolve) => {
      this.waitingForDrain = resolve;
    });
  }

  writeJsonLine(value: unknown): Promise<void> {
    return this.write(`${JSON.stringify(value)}\n`);
  }

  end(chunk?: string | Uint8Array): void {
    if (this.closed) return;
    if (!this.handle.headersSent) this.handle.writeHead(this.init.status, this.init.headers);
    this.handle.end(chunk);
    this.releaseWaiter();
  }

  /** Ends abruptly (after an error mid-stream the client must not mistake it for complete). */
  destroy(): void {
    this.handle.close();
    this.releaseWaiter();
  }

  private releaseWaiter(): void {
    const waiter = this.waitingForDrain;
    this.waitingForDrain = null;
    waiter?.();
  }
}
