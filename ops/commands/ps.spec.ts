import { describe, expect, it } from 'vitest';
import { renderTable } from './ps.js';
import type { ProcessView } from './processes.js';

const process = (overrides: Partial<ProcessView>): ProcessView => ({
  key: 'acme:web:0', tenant: 'acme', watcher: 'web', slot: 0, minion: 'm1', state: 'running', runId: 'r', pid: 4242, ready: true,
  startedAt: 0, exitedAt: null, exitCode: null, signal: null, restarts: 2, cpu: 12.345, rss: 3 * 1024 * 1024, lastExit: null, ...overrides,
});

describe('ps table', () => {
  it('aligns columns and shows a dead process without pid, uptime, CPU or memory', () => {
    const table = renderTable([process({}), process({ key: 'acme:web:10', slot: 10, state: 'fatal', pid: null })], false, 125_000);
    expect(table).toBe(
      ['NAME         STATE    PID   UPTIME  RESTARTS  CPU    MEM', 'acme:web:0   running  4242  2m5s    2         12.3%  3.0 MiB', 'acme:web:10  fatal    -     -       2         -      -', ''].join('\n'),
    );
  });

  it('colours the state (after padding) and the header only when asked', () => {
    const table = renderTable([process({ state: 'fatal', pid: null })], true, 0);
    expect(table).toContain('acme:web:0  \u001b[31mfatal\u001b[0m  -');
    expect(table.startsWith('\u001b[1mNAME')).toBe(true);
  });
});
