// The minion sink stores numbered output lines once: a report resent after a lost ack (the
// rolling restart's hand-over) appends nothing again, also on a server that did not write them.
import { describe, expect, it } from 'vitest';
import { ADMIN, harness, MINION, sleepSpec, until, type Harness } from '../../test/actors/harness.js';
import { logStream, processStream, type RecordedEvent } from '../../store/index.js';
import type { MinionReport } from '../minion/port.js';
import type { LogLine } from '../log/events.js';

type Output = Extract<MinionReport, { kind: 'output' }>;
const LOG = logStream('acme', 'web', 0);

async function running(h: Harness, extra: Record<string, unknown> = {}): Promise<{ runId: string; pid: number }> {
  await h.runtime.createTenant('acme', ADMIN);
  await h.runtime.createWatcher('acme', 'web', sleepSpec(extra), ADMIN);
  await until(async () => (await h.actions(processStream('acme', 'web', 0))).at(-1) === 'ready', 'slot 0 ready');
  return h.minions.runOf('acme:web:0')!;
}
const output = (run: { runId: string; pid: number }, firstSeq: number | undefined, texts: string[]): Output => ({
  kind: 'output',
  tenant: 'acme',
  processKey: 'acme:web:0',
  runId: run.runId,
  pid: run.pid,
  lines: texts.map((line) => ({ fd: 'stdout' as const, line })),
  ...(firstSeq === undefined ? {} : { firstSeq }),
});
const lines = (events: RecordedEvent[]) => events.map((event) => (event.data as LogLine).line);

describe('minion sink: numbered output lines are stored once', () => {
  it('a resent report appends nothing; an overlapping one only its new lines; seq on every line, the run on the last of each append', async () => {
    const h = await harness();
    const run = await running(h);
    await h.minions.emit(MINION, output(run, 1, ['a', 'b', 'c']));
    await h.minions.emit(MINION, output(run, 1, ['a', 'b', 'c']));
    await h.minions.emit(MINION, output(run, 3, ['c', 'd']));
    await h.minions.emit(MINION, output(run, 2, ['b']));
    const events = await h.events(LOG);
    expect(lines(events)).toEqual(['a', 'b', 'c', 'd']);
    expect(events.map((event) => event.data)).toEqual([
      { pid: run.pid, fd: 'stdout', line: 'a', seq: 1 },
      { pid: run.pid, fd: 'stdout', line: 'b', seq: 2 },
      { pid: run.pid, fd: 'stdout', line: 'c', seq: 3, run: run.runId },
      { pid: run.pid, fd: 'stdout', line: 'd', seq: 4, run: run.runId },
    ]);
  });

  it('a report without firstSeq (an older minion) is stored as it comes, every time', async () => {
    const h = await harness();
    const run = await running(h);
    await h.minions.emit(MINION, output(run, undefined, ['x']));
    await h.minions.emit(MINION, output(run, undefined, ['x']));
    const events = await h.events(LOG);
    expect(lines(events)).toEqual(['x', 'x']);
    expect(events.map((event) => event.data)).toEqual([
      { pid: run.pid, fd: 'stdout', line: 'x' },
      { pid: run.pid, fd: 'stdout', line: 'x' },
    ]);
  });

  it('cold start: a new runtime reads the newest stored seq of the run back from the stream before its first append', async () => {
    const h = await harness();
    const run = await running(h);
    await h.minions.emit(MINION, output(run, 1, ['1', '2', '3']));
    await h.runtime.stop();
    const next = await h.newRuntime();
    await h.minions.connect(MINION, ['acme']);
    // what the old server stored but never acknowledged comes again, then the next lines
    await h.minions.emit(MINION, output(run, 1, ['1', '2', '3']));
    await h.minions.emit(MINION, output(run, 2, ['2', '3', '4']));
    await h.minions.emit(MINION, output(run, 5, ['5']));
    expect(lines(await h.events(LOG))).toEqual(['1', '2', '3', '4', '5']);
    await next.stop();
  });

  it('cold start: another run wrote the stream after this one (a reload surge): the scan finds this run further back', async () => {
    const h = await harness();
    const run = await running(h);
    const other = { runId: 'surge-run', pid: 999_001 };
    await h.minions.emit(MINION, output(run, 1, ['r1', 'r2']));
    for (let i = 0; i < 3; i++) await h.minions.emit(MINION, output(other, i * 2 + 1, [`s${i * 2 + 1}`, `s${i * 2 + 2}`]));
    await h.runtime.stop();
    const next = await h.newRuntime();
    await h.minions.connect(MINION, ['acme']);
    await h.minions.emit(MINION, output(run, 1, ['r1', 'r2']));
    await h.minions.emit(MINION, output(other, 5, ['s5', 's6']));
    await h.minions.emit(MINION, output(run, 3, ['r3']));
    expect(lines(await h.events(LOG))).toEqual(['r1', 'r2', 's1', 's2', 's3', 's4', 's5', 's6', 'r3']);
    await next.stop();
  });

  it('a new run of the slot starts again from 1 and is not confused with the previous run', async () => {
    const h = await harness();
    const run = await running(h);
    await h.minions.emit(MINION, output(run, 1, ['old 1', 'old 2', 'old 3']));
    await h.runtime.stop();
    const next = await h.newRuntime();
    await h.minions.connect(MINION, ['acme']);
    const newer = { runId: 'next-run', pid: run.pid };
    await h.minions.emit(MINION, output(newer, 1, ['new 1']));
    await h.minions.emit(MINION, output(newer, 1, ['new 1']));
    expect(lines(await h.events(LOG))).toEqual(['old 1', 'old 2', 'old 3', 'new 1']);
    await next.stop();
  });
});
