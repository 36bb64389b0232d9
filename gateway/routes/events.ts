import type { Gateway } from '../server.js';
import { InvalidArgumentError } from '../../store/index.js';
import { MODEL_API, assertModel, changeTypesOf, compileSpecifier, MINION_JOBS, type ChangePredicate } from '../../projections/index.js';
import { HttpReply, type RequestContext } from '../http/index.js';
import { scanTenantHistory, type HistoryEvent } from './read/event-history.js';
import { checkTimeNotFuture, parseFilterParameter, parseLimit, parseLogPoint, parseModel, parseSelect } from './read/params.js';
import type { ReadDeps } from './read/view-query.js';

export const EVENTS_DEFAULT_LIMIT = 100;
export const EVENTS_MAX_LIMIT = 10_000;
/** a JSON page stops after examining this many positions, even if it found fewer than `limit` events */
export const EVENTS_SCAN_BUDGET = 250_000;
/** NDJSON lines are written in chunks of about this size (each awaits the socket: backpressure) */
const NDJSON_CHUNK_CHARS = 64 * 1024;

/** Paged JSON body of `GET /api/v1/tenants/{t}/events`. */
export interface EventPageBody {
  tenant: string;
  /** the position this page read after (resolved from an ISO `from`) */
  from: number;
  events: HistoryEvent[];
  /** pass as `from` for the next page; null when this page reached `head` */
  next: number | null;
  /** the head of the log when the request came in: the page covers (from, head] at most */
  head: number;
}

/**
 * Event history for audits (README "HTTP"): one tenant's stored events in position order,
 * never another tenant's or cluster-wide ones.
 *
 * - `from`: read after this position (default 0), or an ISO time (events appended at or after it).
 * - `select`: a specifier `type.action.key[.filter]` (keys tenant-qualified, `minion_jobs` and
 *   `watcher_processes` allowed); `filter`: a filter term. Both mean exactly what they mean on
 *   a websocket subscription: fields resolve against the view object after the event
 *   (`original` before it), rebuilt by folding from the nearest snapshot. Without a filter
 *   nothing is folded and the store skips unselected types.
 * - `model`: the model API the `data` is shaped at (default this node's).
 * - JSON (default): `{tenant, from, events, next, head}`, `limit` 1..10,000 (default 100).
 *   A page may hold fewer than `limit` events and still have a `next` when a selective
 *   filter had to scan more than EVENTS_SCAN_BUDGET positions.
 * - NDJSON (`Accept: application/x-ndjson` or `?format=ndjson`): one event per line, streamed
 *   with backpressure up to the head at request time (headers `x-corral-from`,
 *   `x-corral-head`); `limit` optional and unbounded; stops when the client goes away.
 */
export function registerEventRoutes(gateway: Gateway, deps: ReadDeps): void {
  gateway.router.get('/api/v1/tenants/:t/events', async (ctx) => {
    const tenant = ctx.params.t!;
    ctx.requireRole(tenant, 'read');
    const ndjson = wantsNdjson(ctx);
    const limit = ndjson
      ? parseLimit(ctx.query.limit, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
      : parseLimit(ctx.query.limit, EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, ' per page: page on with `next`, or stream with Accept: application/x-ndjson');
    const select = ctx.query.select !== undefined && ctx.query.select.trim() !== '' ? parseSelect(ctx.query.select.trim()) : null;
    const filter = parseFilterParameter(ctx.query.filter);
    const requested = parseModel(ctx.query.model);
    const model = requested === undefined ? deps.engine.ownModel : assertModel(requested, { min: MODEL_API.min, max: deps.engine.ownModel }, 'model');
    const head = await deps.store.headPosition();
    const after = await resolveFrom(ctx.query.from, head, deps);

    const predicates: ChangePredicate[] = [];
    if (select) predicates.push(compileSpecifier(select));
    if (filter) predicates.push(filter);
    const predicate: ChangePredicate | null =
      predicates.length === 0 ? null : predicates.length === 1 ? predicates[0]! : (change) => predicates[0]!(change) && predicates[1]!(change);
    const scan = scanTenantHistory(deps.engine, deps.store, {
      tenant,
      after,
      upTo: head,
      predicate,
      needsObjects: filter !== null || select?.filter != null || (select?.types.includes(MINION_JOBS) ?? false),
      types: select ? changeTypesOf(select) : null,
      model,
      signal: ctx.signal,
    });

    if (ndjson) {
      await streamNdjson(ctx, scan, limit, after, head);
      return undefined;
    }
    return HttpReply.json(await collectPage(scan, limit, after, head, tenant));
  });
}

function wantsNdjson(ctx: RequestContext): boolean {
  const format = ctx.query.format;
  if (format !== undefined && format !== 'json' && format !== 'ndjson') {
    throw new InvalidArgumentError(`invalid format ${JSON.stringify(format.slice(0, 40))}: expected json or ndjson`, { parameter: 'format' });
  }
  if (format !== undefined) return format === 'ndjson';
  return (ctx.headers.accept ?? '').toLowerCase().includes('application/x-ndjson');
}

async function resolveFrom(text: string | undefined, head: number, deps: ReadDeps): Promise<number> {
  if (text === undefined || text.trim() === '') return 0;
  const point = parseLogPoint('from', text);
  if (point.kind === 'position') {
    if (point.position > head) throw new InvalidArgumentError(`from ${point.position} is beyond the head of the log (${head})`, { parameter: 'from', head });
    return point.position;
  }
  checkTimeNotFuture('from', point);
  // events appended at or after the time: read after the one before the first of them
  return Math.min(head, Math.max(0, (await deps.store.positionAtTime(point.ms)) - 1));
}

async function collectPage(
  scan: AsyncGenerator<{ events: HistoryEvent[]; scannedTo: number }>,
  limit: number,
  after: number,
  head: number,
  tenant: string,
): Promise<EventPageBody> {
  const events: HistoryEvent[] = [];
  let next: number | null = null;
  for await (const page of scan) {
    const room = limit - events.length;
    if (page.events.length > room) {
      for (let i = 0; i < room; i++) events.push(page.events[i]!);
      next = events[events.length - 1]!.position;
      break;
    }
    for (const event of page.events) events.push(event);
    if (page.scannedTo >= head) break;
    if (events.length === limit || page.scannedTo - after >= EVENTS_SCAN_BUDGET) {
      next = page.scannedTo;
      break;
    }
  }
  return { tenant, from: after, events, next, head };
}

async function streamNdjson(
  ctx: RequestContext,
  scan: AsyncGenerator<{ events: HistoryEvent[]; scannedTo: number }>,
  limit: number,
  after: number,
  head: number,
): Promise<void> {
  const out = ctx.stream({
    headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-corral-from': String(after), 'x-corral-head': String(head) },
  });
  let sent = 0;
  let chunk = '';
  pages: for await (const page of scan) {
    for (const event of page.events) {
      if (sent === limit) break pages;
      chunk += `${JSON.stringify(event)}\n`;
      sent++;
      if (chunk.length >= NDJSON_CHUNK_CHARS) {
        await out.write(chunk);
        chunk = '';
        if (out.closed) break pages;
      }
    }
  }
  if (chunk !== '') await out.write(chunk);
  out.end();
}
