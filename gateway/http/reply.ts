/**
 * What a route handler may return besides a plain JSON value (which is sent as 200).
 * `body` is serialised as JSON unless `raw` is given.
 */
export class HttpReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly raw: string | Uint8Array | undefined;

  private constructor(status: number, headers: Record<string, string>, body: unknown, raw: string | Uint8Array | undefined) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.raw = raw;
  }

  static json(body: unknown, status = 200, headers: Record<string, string> = {}): HttpReply {
    return new HttpReply(status, headers, body, undefined);
  }

  static text(text: string | Uint8Array, contentType = 'text/plain; charset=utf-8', status = 200, headers: Record<string, string> = {}): HttpReply {
    return new HttpReply(status, { 'content-type': contentType, ...headers }, undefined, text);
  }

  static noContent(headers: Record<string, string> = {}): HttpReply {
    return new HttpReply(204, headers, undefined, '');
  }

  static redirect(location: string, status = 302): HttpReply {
    return new HttpReply(status, { location }, undefined, '');
  }
}
