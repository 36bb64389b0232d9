import { InvalidArgumentError, NotFoundError, logStream, processStream, type EventStore, type RecordedEvent } from '../../../store/index.js';
import { HttpReply, type RequestContext } from '../../http/index.js';
import type { Gateway } from '../../server.js';
import { parseProcessId } from './table.js';

/** Scribe's default `--maxlen`: lines per response unless `limit` says otherwise. */
export const DEFAULT_LOG_PAGE = 100;
export const MAX_LOG_PAGE = 10_000;
/** lines read from the store per step while following */
const FOLLOW_PAGE = 1000;

export interface LogLine {
  /** revision in the process's `log-` stream: pass `next` as `from` to continue */
  revision: number;
  time: string;
  pid: number | null;
  fd: 'stdout' | 'stderr';
  line: string;
  truncated?: true;
}

function toLine(event: RecordedEvent): LogLine {
  const data = event.data as { pid?: number; fd: 'stdout' | 'stderr'; line: string; truncated?: boolean };
  const line: LogLine = { revision: event.revision, time: new Date(event.time).toISOString(), pid: data.pid ?? null, fd: data.fd, line: data.line };
  if (data.truncated) line.truncated = true;
  return line;
}

function integerParameter(ctx: RequestContext, name: string, min: number, max: number): number | undefined {
  const text = ctx.query[name];
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d{1,15}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(text.slice(0, 40))})`, { parameter: name });
  }
  return Number(text);
}

/**
 * `GET /api/v1/tenants/{t}/processes/{w}:{slot}/logs?from=&limit=&follow=` over the
 * process's `log-` stream (docs/architecture.md "Events"; README "HTTP"). Responses are chunked like Scribe's
 * `--maxlen`: at most `limit` lines (default 100, max 10,000) and `next` to continue, so a
 * client loads a long log incrementally. `from` is a revision (>= 0) or `-N` (the last N
 * lines); without it the last `limit` lines. Lines dropped by retention are skipped and
 * reported by `firstRevision`.
 *
 * `follow=1` answers NDJSON (one line object per line) from `from` and keeps streaming new
 * lines until the client disconnects. It pulls pages from the store and waits for the
 * socket to drain between pages, so a slow reader costs the server one page of memory,
 * whatever the process writes; the store subscription only wakes it up. A reader so slow
 * that retention dropped lines it had not read yet gets `{"dropped": n, "beforeRevision": r}`.
 */
export function registerLogRoutes(gateway: Gateway, deps: { store: EventStore }): void {
  const { store } = deps;
  gateway.router.get('/api/v1/tenants/:t/processes/:id/logs', async (ctx) => {
    const tenant = ctx.params.t!;
    ctx.requireRole(tenant, 'read');
    const { watcher, slot } = parseProcessId(ctx.params.id!, 'process');
    const from = integerParameter(ctx, 'from', -MAX_LOG_PAGE, Number.MAX_SAFE_INTEGER);
    const limit = integerParameter(ctx, 'limit', 1, MAX_LOG_PAGE) ?? DEFAULT_LOG_PAGE;
    const followText = ctx.query.follow;
    if (followText !== undefined && !['0', '1', 'true', 'false', ''].includes(followText)) {
      throw new InvalidArgumentError(`follow must be 1/true or 0/false (got ${JSON.stringify(followText.slice(0, 20))})`, { parameter: 'follow' });
    }
    const follow = followText === '1' || followText === 'true' || followText === '';
    const stream = logStream(tenant, watcher, slot);
    const info = await store.streamInfo(stream);
    if (info.lastRevision === -1 && (await store.streamInfo(processStream(tenant, watcher, slot))).lastRevision === -1) {
      throw new NotFoundError(`process ${watcher}:${slot} not found in tenant ${tenant}`, { tenant, process: `${watcher}:${slot}` });
    }
    const firstRevision = Math.max(0, info.firstRevision);
    const end = info.lastRevision + 1;
    let start = from === undefined ? end - limit : from < 0 ? end + from : from;
    start = Math.max(start, firstRevision);

    if (!follow) {
      const events = start < end ? await store.readStream(stream, { afterRevision: start - 1, limit }) : [];
      const lines = events.map(toLine);
      const next = lines.length > 0 ? lines[lines.length - 1]!.revision + 1 : Math.max(start, end);
      return HttpReply.json({ key: `${tenant}:${watcher}:${slot}`, from: start, next, firstRevision, lastRevision: info.lastRevision, lines });
    }

    const out = ctx.stream({ headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' } });
    let wake: (() => void) | null = null;
    let pending = false;
    const notify = (): void => {
      pending = true;
      const waiter = wake;
      wake = null;
      waiter?.();
    };
    out.onClose(notify);
    let after = start - 1;
    const subscription = store.subscribeToStream(stream, { afterRevision: Math.max(after, info.lastRevision) }).subscribe({
      next: (notice) => {
        if (notice.kind === 'events') notify();
      },
      error: (error: unknown) => {
        ctx.log.warn({ err: error, stream }, 'log follow subscription failed');
        out.destroy();
        notify();
      },
    });
    try {
      // Headers go out with the first chunk: an idle log still answers at once (NDJSON readers skip blank lines).
      if (start >= end) await out.write('\n');
      while (!out.closed) {
        pending = false;
        const events = await store.readStream(stream, { afterRevision: after, limit: FOLLOW_PAGE });
        if (events.length > 0) {
          let chunk = '';
          // a reader slower than the process lost lines to retention: say how many, never silently
          const gap = events[0]!.revision - after - 1;
          if (gap > 0) chunk += `${JSON.stringify({ dropped: gap, beforeRevision: events[0]!.revision })}\n`;
          after = events[events.length - 1]!.revision;
          for (const event of events) chunk += `${JSON.stringify(toLine(event))}\n`;
          await out.write(chunk);
          continue;
        }
        if (!pending) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      subscription.unsubscribe();
      out.end();
    }
    return undefined;
  });
}
