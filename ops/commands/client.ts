import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CorralError } from '../../store/index.js';
import { UsageError } from './usage.js';

export interface ServerTarget {
  url: string;
  token: string;
}

/** The flags every command that talks to a server takes (spread into its parseFlags options). */
export const SERVER_FLAGS = {
  server: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

/**
 * `--server`/`--token`, else CORRAL_SERVER/CORRAL_TOKEN, else the local server of
 * `./.corral` (or `--data-dir`/CORRAL_DATA_DIR): its `server.json` URL and `admin.token`.
 */
export function resolveServerTarget(values: { server?: string; token?: string; 'data-dir'?: string }): ServerTarget {
  const dataDir = resolve(values['data-dir'] ?? process.env.CORRAL_DATA_DIR ?? '.corral');
  let url = values.server ?? process.env.CORRAL_SERVER;
  if (!url) {
    const file = join(dataDir, 'server.json');
    if (!existsSync(file)) throw new UsageError(`no --server given and no running server found (${file} does not exist)`);
    url = serverFileUrl(file);
  }
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--server must be an http(s) URL (got ${JSON.stringify(url)})`);
  let token = values.token ?? process.env.CORRAL_TOKEN;
  if (!token) {
    const file = join(dataDir, 'admin.token');
    if (!existsSync(file)) throw new UsageError(`no --token given and ${file} does not exist`);
    token = readFileSync(file, 'utf8').trim();
  }
  return { url: url.replace(/\/+$/, ''), token };
}

/**
 * The `url` of a server.json. A server writes it whole (temp file, then rename), so a
 * truncated or garbage one was damaged afterwards or left by something else: say so in one
 * line naming the file, never with a raw SyntaxError.
 */
function serverFileUrl(file: string): string {
  const unusable = (why: string): CorralError =>
    new CorralError('unavailable', `${file} ${why}; remove it, or give --server and --token`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // the parser quotes a piece of the file: no control characters (newlines, NULs) in the one line
    const reason = error instanceof SyntaxError ? `is not valid JSON (${error.message.replace(/[\u0000-\u001f\u007f]+/g, ' ')})` : `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    throw unusable(reason);
  }
  const url = typeof parsed === 'object' && parsed !== null ? (parsed as { url?: unknown }).url : undefined;
  if (typeof url !== 'string') throw unusable('has no "url"');
  return url;
}

/** One JSON request; a non-2xx answer becomes a CorralError with the server's message. */
export async function requestJson(target: ServerTarget, method: string, path: string, body?: unknown): Promise<any> {
  let response: Response;
  try {
    response = await fetch(`${target.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new CorralError('unavailable', `cannot reach ${target.url}: ${(error as Error).cause ? String((error as { cause: Error }).cause.message) : (error as Error).message}`);
  }
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  if (!response.ok) {
    const message = parsed?.error?.message ?? `${response.status} ${text.slice(0, 200)}`;
    const code = parsed?.error?.code ?? 'internal';
    throw new CorralError(code, `${method} ${path}: ${response.status}: ${message}`, parsed?.error);
  }
  return parsed;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
