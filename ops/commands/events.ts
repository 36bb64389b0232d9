import { CorralError } from '../../store/index.js';
import { requestJson, resolveServerTarget, SERVER_FLAGS, sleep, type ServerTarget } from './client.js';
import { resolveTenant } from './jobs.js';
import { NoWebsocket, subscribe } from './subscribe.js';
import { parseFlags, UsageError } from './usage.js';

export const usage = 'corral events [--server URL] [--token T] [--tenant T] [--select SPEC] [--filter EXPR] [--from start|now|POS] [--follow]';

/**
 * `corral events`: the tenant's event history as NDJSON (one event per line), from
 * `GET /api/v1/tenants/{t}/events` streamed; with `--follow` it then continues live over the
 * native websocket `/ws` from the last position printed (no gap, no duplicate at the
 * hand-over) until interrupted; a server without `/ws` is polled instead (every 500 ms).
 * `--from now` prints only new events (needs --follow).
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...SERVER_FLAGS,
    tenant: { type: 'string' },
    select: { type: 'string' },
    filter: { type: 'string' },
    from: { type: 'string' },
    follow: { type: 'boolean' },
  }, true);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const from = values.from ?? 'start';
  if (from !== 'start' && from !== 'now' && !/^\d{1,15}$/.test(from)) throw new UsageError(`--from must be start, now or a position (got ${JSON.stringify(from)})`);
  // Interrupting a follow is its normal end (exit 0), even during the history part.
  if (values.follow) {
    const onSignal = (): void => {
      interrupted = true;
      for (const listener of interruptListeners) listener();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const target = resolveServerTarget(values);
  const tenant = await resolveTenant(target, values.tenant);
  let last: number;
  if (from === 'now') {
    if (!values.follow) throw new UsageError('--from now prints only new events: add --follow');
    last = -1;
  } else {
    last = await printHistory(target, tenant, from === 'start' ? 0 : Number(from), values.select, values.filter);
  }
  if (!values.follow) return 0;
  try {
    return await follow(target, tenant, last, values.select, values.filter);
  } catch (error) {
    if (!(error instanceof NoWebsocket)) throw error;
    // a server without the websocket protocols: poll the history instead
    return poll(target, tenant, last < 0 ? await headOf(target, tenant) : last, values.select, values.filter);
  }
}

let interrupted = false;
const interruptListeners = new Set<() => void>();

async function headOf(target: ServerTarget, tenant: string): Promise<number> {
  return ((await requestJson(target, 'GET', `/api/v1/tenants/${tenant}/events?limit=1`)) as { head: number }).head;
}

/** `--follow` without `/ws`: pages of the history every 500 ms from the last position seen. */
async function poll(target: ServerTarget, tenant: string, after: number, select?: string, filter?: string): Promise<number> {
  while (!interrupted) {
    const query = new URLSearchParams({ from: String(after), limit: '1000' });
    if (select) query.set('select', select);
    if (filter) query.set('filter', filter);
    const page = (await requestJson(target, 'GET', `/api/v1/tenants/${tenant}/events?${query}`)) as { events: { position: number }[]; next: number | null; head: number };
    for (const event of page.events) process.stdout.write(`${JSON.stringify(event)}\n`);
    after = page.next ?? Math.max(after, page.head);
    if (page.next === null) await sleep(500);
  }
  return 0;
}

async function printHistory(target: ServerTarget, tenant: string, after: number, select?: string, filter?: string): Promise<number> {
  const query = new URLSearchParams({ from: String(after) });
  if (select) query.set('select', select);
  if (filter) query.set('filter', filter);
  const response = await fetch(`${target.url}/api/v1/tenants/${tenant}/events?${query}`, {
    headers: { authorization: `Bearer ${target.token}`, accept: 'application/x-ndjson' },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new CorralError((body?.error?.code ?? 'internal') as never, `GET events: ${response.status}: ${body?.error?.message ?? response.statusText}`);
  }
  const head = Number(response.headers.get('x-corral-head') ?? after);
  let last = after;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (interrupted) break;
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() === '') continue;
      last = (JSON.parse(line) as { position: number }).position;
      process.stdout.write(`${line}\n`);
    }
  }
  // everything up to the head was scanned, selected or not
  return Math.max(last, head);
}

async function follow(target: ServerTarget, tenant: string, after: number, select?: string, filter?: string): Promise<number> {
  if (interrupted) return 0;
  const subscription = subscribe(target, { select: select ?? '*.*.*', from: after < 0 ? 'now' : after, ...(filter ? { filter } : {}) }, (item) => {
    if (item.tenant !== tenant && item.tenant !== undefined) return;
    const { op: _op, sub: _sub, pos, object: _object, original: _original, ...event } = item;
    process.stdout.write(`${JSON.stringify({ position: pos, ...event })}\n`);
  }, 'corral events');
  interruptListeners.add(subscription.close);
  try {
    await subscription.done;
  } finally {
    interruptListeners.delete(subscription.close);
  }
  return 0;
}
