// `corral logs`: the last N lines of a process or of a watcher (prefixed, merged by time),
// --since, and -f following live from the last line printed: no gap, no duplicate, Ctrl-C exits 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, corral, spawnCorral, startCorral, waitRunning } from './support.js';

// each slot prints `line <n>` with n counting up, every 200 ms
const COUNTER = "let n = 0; setInterval(() => console.log('line', ++n), 200)";
const numbers = (text: string, prefix = ''): number[] =>
  text.split('\n').filter((line) => line.startsWith(`${prefix}line `)).map((line) => Number(line.slice(prefix.length + 5)));

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({ config: { tenants: { acme: { watchers: { web: { cmd: 'node', args: ['-e', COUNTER], numprocesses: 2 } } } } } });
  await waitRunning(server, 'acme', 'web', 2);
  // enough lines in both logs for -n 3 and more
  await waitFor(async () => ((await api(server).get('/api/v1/tenants/acme/processes/web:1/logs?limit=1')).body as { lastRevision: number }).lastRevision >= 5, {
    timeoutMs: 20_000,
    description: 'six lines of acme:web:1',
  });
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

describe('corral logs', () => {
  it('-n 3 prints exactly the last three lines of a process', async () => {
    const result = await corral(server, ['logs', '-n', '3', 'acme:web:0']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(3);
    const printed = numbers(result.stdout);
    expect(printed).toEqual([printed[0]!, printed[0]! + 1, printed[0]! + 2]);
  }, 60_000);

  it('a watcher target merges its slots, each line prefixed with its slot', async () => {
    const result = await corral(server, ['logs', '--lines', '8', 'acme:web']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    expect(lines.every((line) => /^acme:web:[01] \| line \d+$/.test(line))).toBe(true);
    expect(new Set(lines.map((line) => line.slice(0, 10)))).toEqual(new Set(['acme:web:0', 'acme:web:1']));
    for (const slot of ['acme:web:0 | ', 'acme:web:1 | ']) {
      const own = numbers(result.stdout, slot);
      own.slice(1).forEach((n, i) => expect(n).toBe(own[i]! + 1));
    }
  }, 60_000);

  it('--since prints the lines from then on', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const page = (await api(server).get('/api/v1/tenants/acme/processes/web:0/logs?limit=100')).body as { lines: { time: string; line: string }[] };
    const result = await corral(server, ['logs', '--since', since, 'acme:web:0']);
    expect(result.code, result.stderr).toBe(0);
    const expected = page.lines.filter((line) => line.time >= since).map((line) => line.line);
    // the process kept writing meanwhile: what the page had is the start of what was printed
    expect(result.stdout.trimEnd().split('\n').slice(0, expected.length)).toEqual(expected);
    expect(result.stdout.trimEnd().split('\n').every((line) => /^line \d+$/.test(line))).toBe(true);
  }, 60_000);

  it('-f continues from the last line printed with no gap and no duplicate, shows a new line within a second, and exits 0 on Ctrl-C', async () => {
    const follower = spawnCorral(server, ['logs', '-f', '-n', '2', 'acme:web:1']);
    await waitFor(() => numbers(follower.output()).length >= 2, { timeoutMs: 20_000, description: `the history in ${follower.output()}` });
    const seen = numbers(follower.output()).length;
    const started = Date.now();
    await waitFor(() => numbers(follower.output()).length > seen, { timeoutMs: 1000, intervalMs: 10, description: `a new line within a second in ${follower.output()}` });
    expect(Date.now() - started).toBeLessThan(1000);
    await waitFor(() => numbers(follower.output()).length >= 8, { timeoutMs: 20_000, description: `more lines in ${follower.output()}` });
    follower.child.kill('SIGINT');
    expect(await follower.exited, follower.output()).toBe(0);
    const printed = numbers(follower.output());
    printed.slice(1).forEach((n, i) => expect(n, follower.output()).toBe(printed[i]! + 1));
  }, 60_000);

  it('an unknown watcher is named (exit 1); a target without a watcher is a usage error (exit 2)', async () => {
    const unknown = await corral(server, ['logs', 'acme:nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown watcher "nope" in tenant acme');
    const usage = await corral(server, ['logs', 'acme']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('expected TENANT:WATCHER or TENANT:WATCHER:SLOT');
  }, 60_000);
});
