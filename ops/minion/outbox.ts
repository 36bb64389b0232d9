/**
 * The minion's outgoing reports: numbered per connection, kept until the server acknowledges
 * them, resent (renumbered from 1) after a reconnect.
 *
 * Guarantees and bounds:
 * - Reliable reports (spawned, spawnFailed, ready, exited, jobReturn) are never dropped.
 * - Output lines are kept too, but while the server is unreachable only up to
 *   `maxOfflineOutputBytes`: beyond that the oldest output is dropped and replaced by one
 *   marker line per run saying how many lines were lost (a managed process must not block on
 *   a full pipe because the control plane is being upgraded).
 * - While connected, `blocked()` turns true once `highWaterBytes` wait unacknowledged; the
 *   supervisor then pauses its children's pipes. `onDrained` fires when the backlog is below
 *   `lowWaterBytes` again. So a slow server slows the writers down instead of losing lines.
 * - Stats are best-effort: sent once, never kept, not queued while disconnected.
 * - At most `windowReports` / `windowBytes` are in flight, which bounds the socket buffer.
 * - Every report fits one frame (MAX_FRAME_BYTES, actors/minion/limits.ts), checked when it is
 *   queued: an output report too large is split into several, a jobReturn too large becomes a
 *   failed return saying so, anything else too large is dropped. A frame over the limit would
 *   make the server close the connection, and resending it after every reconnect would stall
 *   every tenant's reports on this minion for good.
 */
import { MAX_FRAME_BYTES, wireSizeBound, type MinionReport } from '../../actors/index.js';
import { encodeFrame, type ReportFrame } from '../../gateway/minion/index.js';

interface Entry {
  report: MinionReport;
  bytes: number;
  seq: number;
}

export interface OutboxOptions {
  windowReports?: number;
  windowBytes?: number;
  highWaterBytes?: number;
  lowWaterBytes?: number;
  maxOfflineOutputBytes?: number;
  onDrained?: () => void;
}

const estimateBytes = (report: MinionReport): number =>
  report.kind === 'output'
    ? report.lines.reduce((sum, line) => sum + line.line.length + 24, 96)
    : report.kind === 'stats'
      ? 64 + report.samples.length * 96
      : report.kind === 'jobReturn'
        ? 256 + estimateValueBytes(report.return)
        : 192;

function estimateValueBytes(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object') return 9;
  try {
    return JSON.stringify(value)?.length ?? 9;
  } catch {
    return 1024;
  }
}

export class ReportOutbox {
  /** not yet sent on the current connection, oldest first (from `head`) */
  private unsent: Entry[] = [];
  private head = 0;
  /** sent on the current connection, not yet acknowledged, seq ascending */
  private inflight: Entry[] = [];
  private inflightBytes = 0;
  private totalBytes = 0;
  /** bytes of output entries in `unsent` (bounded while offline) */
  private unsentOutputBytes = 0;
  private nextSeq = 1;
  private sender: ((frame: ReportFrame) => void) | null = null;
  private wasBlocked = false;
  private readonly dropped = new Map<string, { report: Extract<MinionReport, { kind: 'output' }>; lines: number }>();
  private readonly windowReports: number;
  private readonly windowBytes: number;
  private readonly highWaterBytes: number;
  private readonly lowWaterBytes: number;
  private readonly maxOfflineOutputBytes: number;

  constructor(private readonly options: OutboxOptions = {}) {
    this.windowReports = options.windowReports ?? 1000;
    this.windowBytes = options.windowBytes ?? 4 * 1024 * 1024;
    this.highWaterBytes = options.highWaterBytes ?? 8 * 1024 * 1024;
    this.lowWaterBytes = options.lowWaterBytes ?? 2 * 1024 * 1024;
    this.maxOfflineOutputBytes = options.maxOfflineOutputBytes ?? 32 * 1024 * 1024;
  }

  push = (report: MinionReport): void => {
    if (report.kind === 'stats' && this.sender === null) return;
    if (!fitsFrame(report)) {
      for (const part of fitToFrames(report)) this.enqueue(part);
      return;
    }
    this.enqueue(report);
  };

  private enqueue(report: MinionReport): void {
    const entry: Entry = { report, bytes: estimateBytes(report), seq: 0 };
    this.unsent.push(entry);
    this.totalBytes += entry.bytes;
    if (report.kind === 'output') this.unsentOutputBytes += entry.bytes;
    if (this.sender === null && report.kind === 'output') this.trimOfflineOutput();
    this.pump();
  }

  /** A connection is ready (welcome received): resend everything unacknowledged, numbered from 1. */
  attach(send: (frame: ReportFrame) => void): void {
    this.detach();
    this.nextSeq = 1;
    for (const { report, lines } of this.dropped.values()) {
      const marker = `[corral: ${lines} output lines dropped while the server was unreachable]`;
      // The marker takes the number of the last dropped line: stored unless that line was
      // (then nothing was actually lost); the run's later lines keep their numbers.
      const markerReport: Extract<MinionReport, { kind: 'output' }> = { ...report, lines: [{ fd: 'stderr', line: marker }] };
      if (report.firstSeq !== undefined) markerReport.firstSeq = report.firstSeq + report.lines.length - 1;
      this.unsent.splice(this.head, 0, { report: markerReport, bytes: 128, seq: 0 });
      this.totalBytes += 128;
      this.unsentOutputBytes += 128;
    }
    this.dropped.clear();
    this.sender = send;
    this.pump();
  }

  /** The connection is gone: what was in flight goes back to the front of the queue. */
  detach(): void {
    this.sender = null;
    if (this.inflight.length > 0) {
      for (const entry of this.inflight) if (entry.report.kind === 'output') this.unsentOutputBytes += entry.bytes;
      this.unsent = [...this.inflight, ...this.unsent.slice(this.head)];
      this.head = 0;
      this.inflight = [];
      this.inflightBytes = 0;
    }
    this.checkDrained();
  }

  /** Every report up to `seq` is durable on the server. */
  ack(seq: number): void {
    let count = 0;
    while (count < this.inflight.length && this.inflight[count]!.seq <= seq) {
      const entry = this.inflight[count]!;
      this.inflightBytes -= entry.bytes;
      this.totalBytes -= entry.bytes;
      count += 1;
    }
    if (count > 0) this.inflight = this.inflight.slice(count);
    this.pump();
    this.checkDrained();
  }

  /** true while connected and more than the high-water mark waits for acknowledgement */
  blocked = (): boolean => {
    const blocked = this.sender !== null && this.totalBytes > this.highWaterBytes;
    if (blocked) this.wasBlocked = true;
    return blocked;
  };

  /** reports not yet acknowledged (sent or not) */
  get pending(): number {
    return this.unsent.length - this.head + this.inflight.length;
  }
  get pendingBytes(): number {
    return this.totalBytes;
  }

  private pump(): void {
    const send = this.sender;
    if (send === null) return;
    while (this.head < this.unsent.length && this.inflight.length < this.windowReports && this.inflightBytes < this.windowBytes) {
      const entry = this.unsent[this.head]!;
      this.unsent[this.head++] = undefined as never;
      entry.seq = this.nextSeq++;
      if (entry.report.kind === 'output') this.unsentOutputBytes -= entry.bytes;
      if (entry.report.kind === 'stats') {
        this.totalBytes -= entry.bytes; // best-effort: not kept for a resend
      } else {
        this.inflight.push(entry);
        this.inflightBytes += entry.bytes;
      }
      send({ t: 'report', seq: entry.seq, report: entry.report });
      if (this.sender !== send) return; // the send closed the connection
    }
    if (this.head === this.unsent.length) {
      this.unsent = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.unsent.length) {
      this.unsent = this.unsent.slice(this.head);
      this.head = 0;
    }
  }

  private checkDrained(): void {
    if (this.wasBlocked && (this.sender === null || this.totalBytes < this.lowWaterBytes)) {
      this.wasBlocked = false;
      this.options.onDrained?.();
    }
  }

  private trimOfflineOutput(): void {
    for (let i = this.head; this.unsentOutputBytes > this.maxOfflineOutputBytes && i < this.unsent.length; ) {
      const entry = this.unsent[i]!;
      if (entry.report.kind !== 'output') {
        i += 1;
        continue;
      }
      // the oldest entries are usually output: dropping at the head costs nothing
      if (i === this.head) {
        this.unsent[this.head++] = undefined as never;
        i += 1;
      } else {
        this.unsent.splice(i, 1);
      }
      this.unsentOutputBytes -= entry.bytes;
      this.totalBytes -= entry.bytes;
      const key = `${entry.report.tenant}\u0000${entry.report.runId}`;
      const seen = this.dropped.get(key);
      this.dropped.set(key, { report: entry.report, lines: (seen?.lines ?? 0) + entry.report.lines.length });
    }
  }
}

/** the seq field at its widest: a frame measured with it fits whatever number it gets */
const WIDEST_SEQ = Number.MAX_SAFE_INTEGER;
const frameBytes = (report: MinionReport): number => encodeFrame({ t: 'report', seq: WIDEST_SEQ, report }).length;

/** Cheap upper bounds first; encodes only a report that might not fit. */
function fitsFrame(report: MinionReport): boolean {
  const bound =
    report.kind === 'output'
      ? // a UTF-16 unit is at most 3 UTF-8 bytes; 64 covers a line's map, keys and headers
        report.lines.reduce((sum, line) => sum + line.line.length * 3 + 64, 512)
      : 512 + wireSizeBound(report, MAX_FRAME_BYTES);
  return bound <= MAX_FRAME_BYTES || frameBytes(report) <= MAX_FRAME_BYTES;
}

/** What to queue instead of a report that does not fit one frame. */
export function fitToFrames(report: MinionReport): MinionReport[] {
  if (fitsFrame(report)) return [report];
  switch (report.kind) {
    case 'output': {
      if (report.lines.length === 1) {
        // the supervisor cuts lines at 16 KiB: only a foreign report gets here
        const [line] = report.lines;
        return [{ ...report, lines: [{ fd: line!.fd, line: line!.line.slice(0, 16 * 1024), truncated: true }] }];
      }
      // halves keep their line numbers: the second starts where the first ends
      const middle = Math.ceil(report.lines.length / 2);
      const first: typeof report = { ...report, lines: report.lines.slice(0, middle) };
      const second: typeof report = { ...report, lines: report.lines.slice(middle) };
      if (report.firstSeq !== undefined) second.firstSeq = report.firstSeq + middle;
      return [...fitToFrames(first), ...fitToFrames(second)];
    }
    case 'jobReturn': {
      const bytes = frameBytes(report);
      return [
        {
          ...report,
          return: `the return of job ${report.jid} takes ${bytes} bytes encoded, over the minion frame limit of ${MAX_FRAME_BYTES} bytes: it cannot be sent`,
          retcode: 1,
          success: false,
        },
      ];
    }
    default:
      // spawned, ready, exited and spawnFailed are small by construction; stats are best-effort
      return [];
  }
}
