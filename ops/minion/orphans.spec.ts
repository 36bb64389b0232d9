import { describe, expect, it } from 'vitest';
import { orphansOf, type ProcessInfo } from './orphans.js';

const table = (rows: [pid: number, ppid: number, command: string, marked: boolean][]): Map<number, ProcessInfo> =>
  new Map(rows.map(([pid, ppid, command, marked]) => [pid, { pid, ppid, pgid: pid, command, marked }]));

describe('orphansOf', () => {
  it('finds marked processes whose minion is gone, and leaves those of a live minion of the id', () => {
    const procs = table([
      [1, 0, '/sbin/init', false],
      [100, 1, 'node bin/corral.js minion --server-file s --id box', false],
      [101, 100, 'sleep 10', true], // the live minion's run
      [102, 101, 'sh -c child', true], // and its child
      [200, 1, 'sleep 20', true], // reparented to init: its minion died
      [201, 200, 'sleep 21', true], // its child
      [300, 1, 'sleep 30', false], // not ours
      [400, 1, 'node bin/corral.js minion --id other', false],
      [401, 400, 'sleep 40', true], // marked for box but under a minion of another id: orphaned for box
    ]);
    expect(orphansOf(procs, 'box', 999).map((p) => p.pid).sort()).toEqual([200, 201, 401]);
  });

  it('leaves the sweeping process’s own runs alone (an agent embedded in a test), and survives a parent loop', () => {
    const procs = table([
      [500, 1, 'node bin/corral.js minion --id box', false],
      [501, 500, 'sleep 50', true],
      [600, 601, 'a', true],
      [601, 600, 'b', true],
    ]);
    expect(orphansOf(procs, 'box', 500).map((p) => p.pid).sort()).toEqual([600, 601]);
    // a process that is not a minion by its command line but is the sweeper itself
    const embedded = table([[700, 1, 'node vitest', false], [701, 700, 'sleep 70', true]]);
    expect(orphansOf(embedded, 'box', 700)).toEqual([]);
  });
});
