import type { HttpResponse } from '../uws.js';
import { statusLine } from './errors.js';

/**
 * One uWS response and what has happened to it. uWS forbids touching a response after it
 * was aborted or ended; every write goes through here so those rules hold in one place.
 * Writes after an await must be corked (batched into one syscall): `write` always corks.
 */
export class ResponseHandle {
  readonly res: HttpResponse;
  aborted = false;
  finished = false;
  headersSent = false;
  status = 0;
  private readonly abortListeners: (() => void)[] = [];
  private readonly abortController = new AbortController();

  /**
   * @param closeAfter asked as a response ends: true closes the connection after it
   *   (`Connection: close`), e.g. while the server drains before a restart
   */
  constructor(
    res: HttpResponse,
    private readonly closeAfter: () => boolean = () => false,
  ) {
    this.res = res;
    res.onAborted(() => {
      this.aborted = true;
      this.abortController.abort();
      for (const listener of this.abortListeners.splice(0)) listener();
    });
  }

  /** Aborted when the client goes away before the response ended. */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get open(): boolean {
    return !this.aborted && !this.finished;
  }

  onAbort(listener: () => void): void {
    if (this.aborted) listener();
    else this.abortListeners.push(listener);
  }

  /** Sends a complete response. No-op if the client is gone or a response was sent. */
  send(status: number, headers: Record<string, string>, body: string | Uint8Array, closeConnection = false): void {
    if (!this.open || this.headersSent) return;
    this.status = status;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [key, value] of Object.entries(headers)) this.res.writeHeader(key, value);
      this.res.end(body, closeConnection || this.closeAfter());
    });
    this.headersSent = true;
    this.finished = true;
  }

  sendJson(status: number, body: unknown, headers: Record<string, string> = {}, closeConnection = false): void {
    this.send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(body), closeConnection);
  }

  /** Starts a chunked response (status and headers go out with the first chunk). */
  writeHead(status: number, headers: Record<string, string>): void {
    if (!this.open || this.headersSent) return;
    this.status = status;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [key, value] of Object.entries(headers)) this.res.writeHeader(key, value);
    });
    this.headersSent = true;
  }

  /** Writes a chunk; false means it was buffered beyond the socket (wait for onWritable). */
  writeChunk(chunk: string | Uint8Array): boolean {
    if (!this.open) return true;
    let drained = true;
    this.res.cork(() => {
      drained = this.res.write(chunk);
    });
    return drained;
  }

  end(chunk?: string | Uint8Array): void {
    if (!this.open) return;
    this.res.cork(() => {
      this.res.end(chunk ?? '', this.closeAfter());
    });
    this.finished = true;
  }

  /** Drops the connection (after a response can no longer be delivered cleanly). */
  close(): void {
    if (!this.open) return;
    this.finished = true;
    this.res.close();
  }
}
