// Observability of a real `corral serve` (README "HTTP"; docs/operations.md): /metrics covers the store,
// projections, actors, the gateway and every managed process slot; logs are pino JSON lines;
// SIGUSR2 and `corral ctl stack-dump` write a diagnostic report into the data directory and
// the server keeps running.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, runCorral, waitFor, type ServerProcess } from '../support/index.js';
import { cleanupCorral, startCorral, waitRunning } from './support.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCorral({
    config: { tenants: { acme: { watchers: { ticker: { cmd: 'sh', args: ['-c', 'while true; do echo tick; sleep 0.1; done'], numprocesses: 2 } } } } },
  });
}, 90_000);
afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 60_000);

const metrics = async (): Promise<string> => {
  const response = await httpJson(`${server.url}/metrics`, { token: server.token });
  expect(response.status).toBe(200);
  return response.text;
};
const sample = (text: string, name: string, labels = ''): number | null => {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    if ((series === name || series.startsWith(`${name}{`)) && series.includes(labels)) return Number(value);
  }
  return null;
};
const reports = (): string[] => readdirSync(server.dataDir).filter((name) => /^report-\d+-\d+\.json$/.test(name));

describe('observability', () => {
  it('/metrics covers the store, projections, actors, the gateway and CPU/RSS per process slot', async () => {
    await waitRunning(server.url, server.token, 'acme', 'ticker', 2);
    // websocket traffic, so the gateway's message and byte counters move
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${server.token}`, 'corral.v1.json');
    let received = 0;
    ws.on('message', () => received++);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.send(JSON.stringify({ op: 'sub', id: 's', select: 'logs.*.*', from: 'now' }));
    await waitFor(() => received > 5, { description: 'log events over /ws' });

    const text = await waitFor(
      async () => {
        const current = await metrics();
        return (sample(current, 'corral_process_rss_bytes', 'slot="1"') ?? 0) > 0 && (sample(current, 'corral_ws_messages_sent_total') ?? 0) > 0 ? current : null;
      },
      { timeoutMs: 30_000, description: 'process samples and websocket counters in /metrics' },
    );
    ws.close();
    const families = [
      // store: append rate and durable-commit (sync) latency
      'corral_store_appended_events_total',
      'corral_store_commits_total',
      'corral_store_commit_latency_seconds',
      'corral_store_head_position',
      // projections
      'corral_projection_lag_events',
      'corral_projection_position',
      'corral_model_api_system',
      // actors and minions
      'corral_actors',
      'corral_actor_runtime_leader',
      'corral_minion_connections',
      // gateway
      'corral_http_requests_total',
      'corral_ws_connections',
      'corral_ws_messages_sent_total',
      'corral_ws_bytes_sent_total',
      'corral_ws_lagged_subscriptions_total',
      // managed processes, per slot
      'corral_process_cpu_percent',
      'corral_process_rss_bytes',
      // the server process itself
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ];
    const missing = families.filter((family) => !text.includes(`# HELP ${family} `));
    expect(missing).toEqual([]);
    expect(sample(text, 'corral_store_appended_events_total')).toBeGreaterThan(0);
    expect(sample(text, 'corral_store_commit_latency_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'corral_projection_lag_events')).not.toBeNull();
    expect(sample(text, 'corral_actor_runtime_leader')).toBe(1);
    expect(sample(text, 'corral_ws_bytes_sent_total')).toBeGreaterThan(0);
    for (const slot of ['0', '1']) {
      expect(sample(text, 'corral_process_rss_bytes', `watcher="ticker",slot="${slot}"`)).toBeGreaterThan(0);
      expect(sample(text, 'corral_process_cpu_percent', `watcher="ticker",slot="${slot}"`)).not.toBeNull();
    }
  }, 90_000);

  it('logs are pino JSON lines', () => {
    const lines = server.logs().split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines.slice(0, 50)) {
      const entry = JSON.parse(line) as { level: number; time: number; pid: number; msg: string };
      expect(entry).toMatchObject({ level: expect.any(Number), time: expect.any(Number), pid: expect.any(Number), msg: expect.any(String) });
    }
  });

  it('SIGUSR2 writes a diagnostic report into the data directory and the server keeps running', async () => {
    const before = new Set(reports());
    process.kill(server.pid, 'SIGUSR2');
    const file = await waitFor(() => reports().find((name) => !before.has(name)), { description: 'a new report file' });
    expect(file).toContain(`report-${server.pid}-`);
    const report = await waitFor(() => {
      try {
        return JSON.parse(readFileSync(join(server.dataDir, file), 'utf8')) as { header: { processId: number }; javascriptStack: unknown; libuv: unknown[] };
      } catch {
        return null; // still being written
      }
    });
    expect(report.header.processId).toBe(server.pid);
    expect(report.javascriptStack).toBeDefined();
    await waitFor(() => server.logs().includes('wrote diagnostic report'), { description: 'the report logged' });
    expect((await httpJson(`${server.url}/health/live`)).status).toBe(200);
    expect((await httpJson(`${server.url}/health/ready`)).status).toBe(200);
  });

  it('corral ctl stack-dump writes one too', async () => {
    const result = await runCorral(['ctl', '--data-dir', server.dataDir, 'stack-dump']);
    expect(result.code, result.stderr).toBe(0);
    const { file } = JSON.parse(result.stdout) as { file: string };
    expect(existsSync(file)).toBe(true);
    expect(file.startsWith(server.dataDir)).toBe(true);
    expect((await httpJson(`${server.url}/health/live`)).status).toBe(200);
  });
});
