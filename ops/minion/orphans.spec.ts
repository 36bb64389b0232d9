import { describe, expect, it } from 'vitest';
import { orphansOf, type ProcessInfo } from './orphans.js';

const run = (pid: number, minionPid: number | null): ProcessInfo => ({ pid, pgid: pid, minionPid });

describe('orphansOf', () => {
  const alive = (pid: number): boolean => pid === 100 || pid === 700;
  it('finds the runs whose minion no longer runs, and leaves those of a live minion', () => {
    const table = [run(101, 100), run(102, 100), run(201, 200), run(202, 200), run(301, null)];
    expect(orphansOf(table, 999, alive).map((p) => p.pid)).toEqual([201, 202]);
  });
  it('never touches its own runs (an agent embedded in a test process) nor itself', () => {
    const table = [run(501, 500), run(500, 400)];
    expect(orphansOf(table, 500, alive).map((p) => p.pid)).toEqual([]);
  });
  it('leaves runs whose minion pid is alive again (reused): it cannot tell, so it does not kill', () => {
    expect(orphansOf([run(701, 700)], 999, alive)).toEqual([]);
  });
});
