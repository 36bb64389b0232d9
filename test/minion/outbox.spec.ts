import { describe, expect, it } from 'vitest';
import type { MinionReport } from '../../actors/index.js';
import type { ReportFrame } from '../../gateway/minion/index.js';
import { ReportOutbox } from '../../ops/minion/outbox.js';

const run = { tenant: 'acme', processKey: 'acme:web:0', runId: 'r1', pid: 5 };
const output = (n: number, size = 10): MinionReport => ({ kind: 'output', ...run, lines: [{ fd: 'stdout', line: `${n}:`.padEnd(size, 'x') }] });
const spawned: MinionReport = { kind: 'spawned', ...run, startedAt: 1 };
const stats: MinionReport = { kind: 'stats', tenant: 'acme', samples: [] };

function connection() {
  const frames: ReportFrame[] = [];
  return { frames, send: (frame: ReportFrame) => frames.push(frame) };
}

describe('ReportOutbox', () => {
  it('numbers reports from 1 per connection and resends unacked ones after a reconnect', () => {
    const outbox = new ReportOutbox();
    const first = connection();
    outbox.attach(first.send);
    outbox.push(spawned);
    outbox.push(output(1));
    outbox.push(output(2));
    expect(first.frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    outbox.ack(1);
    expect(outbox.pending).toBe(2);
    outbox.detach();
    outbox.push(output(3)); // queued while offline
    const second = connection();
    outbox.attach(second.send);
    expect(second.frames.map((f) => [f.seq, f.report])).toEqual([
      [1, output(1)],
      [2, output(2)],
      [3, output(3)],
    ]);
    outbox.ack(3);
    expect(outbox.pending).toBe(0);
    expect(outbox.pendingBytes).toBe(0);
  });

  it('sends stats once, never keeps them, and drops them while offline', () => {
    const outbox = new ReportOutbox();
    outbox.push(stats);
    expect(outbox.pending).toBe(0);
    const conn = connection();
    outbox.attach(conn.send);
    outbox.push(stats);
    outbox.push(spawned);
    expect(conn.frames.map((f) => f.report.kind)).toEqual(['stats', 'spawned']);
    expect(outbox.pending).toBe(1); // only `spawned` waits for its ack
    outbox.detach();
    const again = connection();
    outbox.attach(again.send);
    expect(again.frames.map((f) => f.report.kind)).toEqual(['spawned']);
  });

  it('keeps at most windowReports in flight', () => {
    const outbox = new ReportOutbox({ windowReports: 3 });
    const conn = connection();
    outbox.attach(conn.send);
    for (let i = 0; i < 10; i++) outbox.push(output(i));
    expect(conn.frames).toHaveLength(3);
    outbox.ack(2);
    expect(conn.frames).toHaveLength(5);
    outbox.ack(5);
    expect(conn.frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('while offline drops the oldest output beyond the bound, keeps reliable reports, and says how many lines were lost', () => {
    const outbox = new ReportOutbox({ maxOfflineOutputBytes: 2000 });
    outbox.push(spawned);
    for (let i = 0; i < 100; i++) outbox.push(output(i, 100));
    const conn = connection();
    outbox.attach(conn.send);
    const reports = conn.frames.map((f) => f.report);
    expect(reports[0]!.kind).toBe('output');
    const marker = reports[0] as Extract<MinionReport, { kind: 'output' }>;
    const dropped = Number(/\[corral: (\d+) output lines dropped while the server was unreachable\]/.exec(marker.lines[0]!.line)?.[1]);
    expect(reports).toContainEqual(spawned);
    const kept = reports.filter((r) => r.kind === 'output').length - 1;
    expect(dropped + kept).toBe(100);
    expect(dropped).toBeGreaterThan(80);
    // the newest lines are the ones kept
    expect(reports.at(-1)).toEqual(output(99, 100));
  });

  it('the marker of dropped numbered lines takes the number of the last dropped line; the kept lines keep theirs', () => {
    const outbox = new ReportOutbox({ maxOfflineOutputBytes: 2000 });
    const numbered = (n: number): Extract<MinionReport, { kind: 'output' }> => ({ ...(output(n, 100) as Extract<MinionReport, { kind: 'output' }>), firstSeq: n + 1 });
    for (let i = 0; i < 100; i++) outbox.push(numbered(i));
    const conn = connection();
    outbox.attach(conn.send);
    const reports = conn.frames.map((f) => f.report as Extract<MinionReport, { kind: 'output' }>);
    const [marker, firstKept] = reports;
    expect(marker!.lines[0]!.line).toMatch(/output lines dropped/);
    expect(marker!.firstSeq).toBe(firstKept!.firstSeq! - 1);
    expect(reports.slice(1).map((r) => r.firstSeq)).toEqual(reports.slice(1).map((_, i) => firstKept!.firstSeq! + i));
    expect(reports.at(-1)!.firstSeq).toBe(100);
  });

  it('reports blocked above the high-water mark while connected, and drained below the low-water mark', () => {
    let drained = 0;
    const outbox = new ReportOutbox({ highWaterBytes: 1000, lowWaterBytes: 300, onDrained: () => drained++ });
    const conn = connection();
    outbox.attach(conn.send);
    for (let i = 0; i < 10; i++) outbox.push(output(i, 200));
    expect(outbox.blocked()).toBe(true);
    outbox.ack(5);
    expect(drained).toBe(0); // still above the low-water mark
    outbox.ack(10);
    expect(drained).toBe(1);
    expect(outbox.blocked()).toBe(false);
    // offline never blocks: the children must not stall because the server is away
    outbox.detach();
    for (let i = 0; i < 10; i++) outbox.push(output(i, 200));
    expect(outbox.blocked()).toBe(false);
  });
});
