// `corral events`: history as NDJSON with --select/--filter, and --follow printing new
// events live (over /ws when the server has it, else by polling) until interrupted.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORRAL_BIN, REPO_ROOT, runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { api, cleanupCorral, startCorral, waitRunning } from './support.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({ config: { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['307'], numprocesses: 2 } } } } } });
  await waitRunning(server, 'acme', 'web', 2);
}, 60_000);
afterAll(() => cleanupCorral([server]), 60_000);

describe('corral events', () => {
  it('prints the history as NDJSON, narrowed by --select and --filter', async () => {
    const all = await runCorral(['events', '--data-dir', server.dataDir, '--tenant', 'acme']);
    expect(all.code, all.stderr).toBe(0);
    const events = all.stdout.trim().split('\n').map((line) => JSON.parse(line) as { position: number; type: string; action: string; key: string });
    expect(events.some((e) => e.type === 'tenants' && e.action === 'create')).toBe(true);
    events.slice(1).forEach((e, i) => expect(e.position).toBeGreaterThan(events[i]!.position));
    const spawns = await runCorral(['events', '--data-dir', server.dataDir, '--select', 'processes.spawn.*']);
    const lines = spawns.stdout.trim().split('\n').map((line) => JSON.parse(line) as { action: string; key: string });
    expect(lines.map((e) => e.key).sort()).toEqual(['acme:web:0', 'acme:web:1']);
    expect(lines.every((e) => e.action === 'spawn')).toBe(true);
    const filtered = await runCorral(['events', '--data-dir', server.dataDir, '--select', 'processes.spawn.*', '--filter', 'slot=Eq(1)']);
    expect(filtered.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(['acme:web:1']);
    const bad = await runCorral(['events', '--data-dir', server.dataDir, '--select', 'processes.spawn']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/select/);
  }, 60_000);

  it('--follow prints new events live until interrupted', async () => {
    // from the head now: nothing before it is printed, everything after it is (no race with the start-up)
    const head = ((await api(server).get('/api/v1/tenants/acme/events?limit=1')).body as { head: number }).head;
    const child = spawn(process.execPath, [CORRAL_BIN, 'events', '--data-dir', server.dataDir, '--tenant', 'acme', '--select', 'processes.kill,exit.*', '--from', String(head), '--follow'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    expect((await api(server).post('/api/v1/tenants/acme/processes/web:1/kill', { signal: 'SIGKILL' })).status).toBe(200);
    await waitFor(() => /"action":"exit"/.test(output) && /"action":"kill"/.test(output), { timeoutMs: 20_000, description: `kill and exit events in ${output}` });
    const printed = output.trim().split('\n').map((line) => JSON.parse(line) as { key: string; action: string });
    expect(printed.every((e) => e.key === 'acme:web:1' && ['kill', 'exit'].includes(e.action))).toBe(true);
    child.kill('SIGINT');
    expect(await exited, output).toBe(0);
  }, 60_000);
});
