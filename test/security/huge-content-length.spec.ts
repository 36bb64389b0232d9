import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, startServerProcess, type ServerProcess } from '../support/index.js';

// Issue 15 item 8: a request declaring a 100 GB body was dropped without an answer, so the
// client could not tell a size limit from a crash. It gets a 413 that says the limit.

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/**
 * Sends only the head of a request (as curl does with `Expect: 100-continue` before a large
 * upload) and collects what the server answers until it closes the connection.
 */
function sendHead(contentLength: string, extra: Record<string, string> = {}): Promise<{ status: number; headers: string; body: any; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    let raw = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no close within 10 s; got ${JSON.stringify(raw)}`)), 10_000);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      const headers = {
        host: `127.0.0.1:${server.port}`,
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/json',
        'content-length': contentLength,
        ...extra,
      };
      socket.write(`POST /api/v1/tenants/acme/watchers HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    });
    socket.on('data', (chunk: string) => {
      // an interim `100 Continue` is not the answer
      raw = (raw + chunk).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
      // a complete response: the server may keep the connection open after it
      const end = raw.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(raw.slice(0, end))?.[1];
      if (end >= 0 && length !== undefined && Buffer.byteLength(raw.slice(end + 4)) >= Number(length)) socket.end();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const end = raw.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      let body: unknown = raw.slice(end + 4);
      try {
        body = JSON.parse(body as string);
      } catch {
        // not JSON: left as text for the failure message
      }
      resolve({ status, headers: raw.slice(0, Math.max(end, 0)), body, raw });
    });
  });
}

describe('a declared body far over the limit', () => {
  for (const [size, contentLength] of [
    ['100 GB', '100000000000'],
    ['1 GB', '1000000000'],
    ['500 MB', '500000000'],
  ] as const) {
    it(`${size}: answered 413 with the limit, before any of the body is sent`, async () => {
      const response = await sendHead(contentLength, { expect: '100-continue' });
      expect(response.status, response.raw.slice(0, 300)).toBe(413);
      expect(response.body.error).toMatchObject({ code: 'too-large', limit: 1024 * 1024 });
      expect(response.body.error.message).toBe(`request body of ${contentLength} bytes exceeds the limit of 1048576 bytes`);
      expect(response.headers).toMatch(/connection: close/i);
    });
  }

  it('the server keeps serving', async () => {
    expect((await httpJson(`${server.url}/health/ready`)).status).toBe(200);
  });
});
