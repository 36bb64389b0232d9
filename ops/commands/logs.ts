import { parseDuration } from '../../gateway/index.js';
import { CorralError } from '../../store/index.js';
import { requestJson, resolveServerTarget, SERVER_FLAGS, type ServerTarget } from './client.js';
import { checkTarget, parseTarget, targetKey } from './targets.js';
import { integerFlag, parseFlags, UsageError } from './usage.js';

export const usage = 'corral logs [--server URL] [--token T] [-f|--follow] [-n|--lines N] [--since TIME] TENANT:WATCHER[:SLOT]';

/** tail's default */
const DEFAULT_LINES = 10;
/** the server's largest page (MAX_LOG_PAGE), also the default retention of a process's log */
const PAGE = 10_000;

interface LogLine {
  revision: number;
  time: string;
  fd: 'stdout' | 'stderr';
  line: string;
}

interface LogPage {
  next: number;
  firstRevision: number;
  lastRevision: number;
  lines: LogLine[];
}

/** One slot's log: where reading it stands, and the key printed before its lines. */
interface SlotLog {
  key: string;
  path: string;
}

/**
 * `corral logs`: the last lines of one process (`tenant:watcher:slot`), or of every slot of a
 * watcher merged by time, each line prefixed with its slot's key (as `pm2 logs` does), from
 * `GET .../processes/{w}:{slot}/logs`. `-f` then follows each slot's log (`follow=1`) from
 * the revision after the last line read, so nothing is missed or printed twice at the
 * hand-over (README "HTTP": logs are read in chunks, `from=<next>`); Ctrl-C ends it with 0.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { ...SERVER_FLAGS, follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' }, since: { type: 'string' } },
    true,
  );
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const target = parseTarget(positionals[0], { least: 'watcher', most: 'slot' });
  // With --since and no -n: every line since then.
  const count = integerFlag(values.lines, '--lines', 0, PAGE) ?? (values.since === undefined ? DEFAULT_LINES : undefined);
  const since = values.since === undefined ? undefined : parseSince(values.since);
  const server = resolveServerTarget(values);
  const watcher = (await checkTarget(server, target))!;
  const slots = target.slot !== undefined ? [target.slot] : Array.from({ length: watcher.numprocesses }, (_, slot) => slot);
  const logs: SlotLog[] = slots.map((slot) => ({
    key: targetKey({ ...target, slot }),
    path: `/api/v1/tenants/${target.tenant}/processes/${target.watcher}:${slot}/logs`,
  }));
  const prefixed = target.slot === undefined;
  const print = (log: SlotLog, line: LogLine): boolean => process.stdout.write(prefixed ? `${log.key} | ${line.line}\n` : `${line.line}\n`);

  const stopFollowing = new AbortController();
  if (values.follow) {
    const interrupt = (): void => stopFollowing.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
  }
  const histories = await Promise.all(logs.map((log) => readHistory(server, log, count, since)));
  // Merged by time (a stable sort keeps each slot's own order), then the last `count` of all.
  let merged = histories.flatMap((history, index) => history.lines.map((line) => ({ log: logs[index]!, line })));
  merged.sort((a, b) => (a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : 0));
  if (count !== undefined) merged = count === 0 ? [] : merged.slice(-count);
  for (const { log, line } of merged) print(log, line);
  if (!values.follow) return 0;
  await Promise.all(logs.map((log, index) => follow(server, log, histories[index]!.next, stopFollowing.signal, (line) => print(log, line))));
  return 0;
}

/** An ISO 8601 time, or a duration ago (`90s`, `15m`, `2h`, `1d`); as epoch ms. */
function parseSince(text: string): number {
  if (/^\d+(\.\d+)?(ms|s|m|h|d|w)?$/.test(text)) {
    try {
      return Date.now() - parseDuration(text, '--since');
    } catch {
      // falls through to the usage error
    }
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time)) throw new UsageError(`--since must be a time (2026-01-02T15:04:05Z) or a duration ago (90s, 15m, 2h, 1d) (got ${JSON.stringify(text)})`);
  return time;
}

const page = (server: ServerTarget, log: SlotLog, query: string): Promise<LogPage> => requestJson(server, 'GET', `${log.path}?${query}`) as Promise<LogPage>;

/**
 * The lines to print before following, and the revision to follow from (`next`). With
 * `since`, the first line at or after it is found by bisecting the revisions (a log is in
 * time order), one line per probe, rather than reading the whole log.
 */
async function readHistory(server: ServerTarget, log: SlotLog, count: number | undefined, since: number | undefined): Promise<{ lines: LogLine[]; next: number }> {
  if (since === undefined) {
    if (count === 0) return { lines: [], next: (await page(server, log, 'limit=1')).lastRevision + 1 };
    const last = await page(server, log, `from=-${count}&limit=${count}`);
    return { lines: last.lines, next: last.next };
  }
  const bounds = await page(server, log, 'limit=1');
  let low = Math.max(0, bounds.firstRevision);
  let high = bounds.lastRevision + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const probe = (await page(server, log, `from=${middle}&limit=1`)).lines[0];
    if (probe === undefined) low = middle + 1; // dropped by retention meanwhile
    else if (Date.parse(probe.time) < since) low = probe.revision + 1;
    else high = middle;
  }
  const lines: LogLine[] = [];
  let next = low;
  for (;;) {
    const chunk = await page(server, log, `from=${next}&limit=${PAGE}`);
    lines.push(...chunk.lines.filter((line) => Date.parse(line.time) >= since));
    next = chunk.next;
    if (chunk.lines.length < PAGE) break;
  }
  return { lines: count === undefined ? lines : lines.slice(Math.max(0, lines.length - count)), next };
}

/** Prints the slot's new lines as the server streams them (NDJSON) until `signal` aborts. */
async function follow(server: ServerTarget, log: SlotLog, from: number, signal: AbortSignal, print: (line: LogLine) => void): Promise<void> {
  if (signal.aborted) return;
  let response: Response;
  try {
    response = await fetch(`${server.url}${log.path}?follow=1&from=${from}`, { headers: { authorization: `Bearer ${server.token}` }, signal });
  } catch (error) {
    if (signal.aborted) return;
    throw new CorralError('unavailable', `cannot follow ${log.key} at ${server.url}: ${(error as Error).message}`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new CorralError((body?.error?.code ?? 'internal') as never, `following ${log.key}: ${response.status}: ${body?.error?.message ?? response.statusText}`);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (text.trim() === '') continue;
        const item = JSON.parse(text) as LogLine | { dropped: number; beforeRevision: number };
        // lines retention dropped before this reader got to them: said, never silent
        if ('dropped' in item) process.stderr.write(`corral logs: ${log.key}: ${item.dropped} line(s) dropped by retention before revision ${item.beforeRevision}\n`);
        else print(item);
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    throw new CorralError('unavailable', `following ${log.key}: ${(error as Error).message}`);
  }
  if (!signal.aborted) throw new CorralError('unavailable', `following ${log.key}: the server ended the stream`);
}
