// Issue 14 item 8 (ops/modules/supervision/README.md, "Stop order"): a graceful stop of the
// server with its local minion is recorded as a stop. Each process gets `kill` (stop) and
// `exit` and rests `stopped`: no `backoff`, no new `start` during the shutdown, no retry
// counted, so a young process does not burn through maxRetries; the next start runs every
// slot again. Before, each process logged exit -> backoff -> start while the server stopped.
import { afterAll, describe, expect, it } from 'vitest';
import { httpJson, removeTempDirs, type ServerProcess } from '../support/index.js';
import { cleanupCorral, startCorral, waitRunning } from '../ops-e2e/support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

const config = { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['4701'], numprocesses: 2, restart: { maxRetries: 1 } } } } } };

interface StoredEvent {
  position: number;
  action: string;
  key: string;
}

const processEvents = async (server: ServerProcess, token: string, after: number): Promise<StoredEvent[]> => {
  const page = await httpJson(`${server.url}/api/v1/tenants/acme/events?select=processes.*.*&from=${after}&limit=1000`, { token });
  return (page.body as { events: StoredEvent[] }).events.filter((event) => event.action !== 'stats');
};

describe('a graceful stop', () => {
  it('records each process as stopped, without backoff or restart, and the next start runs them again', async () => {
    let server = await startCorral({ config });
    const { token, dataDir } = server;
    await waitRunning(server.url, token, 'acme', 'web', 2);
    // `ready` (readiness none) may be recorded a moment after the process shows running: not part of what the stop records
    const head = ((await httpJson(`${server.url}/api/v1/tenants/acme/events?limit=1`, { token })).body as { head: number }).head;

    expect((await server.stop()).code).toBe(0);
    server = await startCorral({ dataDir, config });
    const after = (await processEvents(server, token, 0)).filter((event) => event.position > head && event.action !== 'ready');
    // what the stop recorded: everything before the next start's first `start`
    const firstStart = after.findIndex((event) => event.action === 'start');
    const stopping = firstStart === -1 ? after : after.slice(0, firstStart);
    expect(stopping.map((event) => `${event.action} ${event.key}`).sort()).toEqual(['exit acme:web:0', 'exit acme:web:1', 'kill acme:web:0', 'kill acme:web:1']);
    const processes = await waitRunning(server.url, token, 'acme', 'web', 2);
    for (const process of processes) expect(process.state).toBe('running');
  }, 180_000);
});
