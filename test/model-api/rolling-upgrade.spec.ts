import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPONENTS_STREAM, openStore, type EventStore, type RecordedEvent } from '../../store/index.js';
import { httpJson, makeTempDir, removeTempDirs, runCorral, startServerProcess, waitFor, type ServerProcess } from '../support/index.js';

afterAll(removeTempDirs);

interface Info {
  modelApi: { system: number; min: number; max: number };
}

const info = async (server: ServerProcess): Promise<Info> => {
  const response = await httpJson(`${server.url}/api/v1/info`, { token: server.token });
  expect(response.status).toBe(200);
  return response.body as Info;
};

/** `$components` events one server appended, read from the shared store by this test process (LMDB is multi-process). */
const eventsOf = async (store: EventStore, server: ServerProcess): Promise<RecordedEvent[]> =>
  (await store.readStream(COMPONENTS_STREAM, { limit: 100_000 })).filter((event) => event.key === `${hostname()}:${server.pid}`);

describe('model API rolling upgrade (docs/operations.md "Rolling restart on one machine"): two servers on one data directory', () => {
  it('the newer node writes at the older system model API, rises when the older one stops, and the older one then refuses to start', async () => {
    const dataDir = makeTempDir('corral-model-api-');
    const older = await startServerProcess({ dataDir, args: ['--model-api-max', '1'] });
    let newer: ServerProcess | null = null;
    let store: EventStore | null = null;
    try {
      newer = await startServerProcess({ dataDir, args: ['--model-api-max', '2'] });
      const newNode = newer;
      store = await openStore({ kind: 'embedded', dataDir });
      const shared = store;

      // Both report the system model API of the older node: the minimum max over live servers.
      expect((await info(older)).modelApi).toEqual({ system: 1, min: 1, max: 1 });
      expect((await info(newNode)).modelApi).toEqual({ system: 1, min: 1, max: 2 });
      const components = await httpJson(`${newNode.url}/api/v1/components`, { token: newNode.token });
      const servers = (components.body as { items: { pid: number; modelApi: { max: number }; state: string }[] }).items;
      expect(servers.map(({ pid, modelApi, state }) => ({ pid, max: modelApi.max, state })).sort((a, b) => a.max - b.max)).toEqual([
        { pid: older.pid, max: 1, state: 'running' },
        { pid: newNode.pid, max: 2, state: 'running' },
      ]);

      // Everything the newer node wrote so far is at schema 1, though its own model is 2.
      const beforeUpgrade = await waitFor(
        async () => {
          const events = await eventsOf(shared, newNode);
          return events.some((event) => event.action === 'state') ? events : null;
        },
        { description: 'the newer node registered and running' },
      );
      expect(beforeUpgrade.map((event) => event.action).slice(0, 2)).toEqual(['register', 'state']);
      for (const event of beforeUpgrade) {
        expect(event.schema, `${event.action} at ${event.position}`).toBe(1);
        expect(event.meta.node).toBe(`${hostname()}:${newNode.pid}`);
      }
      expect(beforeUpgrade[1]!.data).toEqual({ state: 'running', systemModelApi: 1 });
      const metricsBefore = (await httpJson(`${newNode.url}/metrics`, { token: newNode.token })).text;
      expect(metricsBefore).toMatch(/^corral_model_api_system 1$/m);
      expect(metricsBefore).toMatch(/^corral_model_api_write 1$/m);

      // The older node stops gracefully: it leaves the registry at once.
      expect((await older.stop()).code).toBe(0);
      const olderEvents = await eventsOf(shared, older);
      expect(olderEvents.slice(-2).map((event) => [event.action, event.data])).toEqual([
        ['state', { state: 'stopped' }],
        ['unregister', {}],
      ]);

      await waitFor(async () => (await info(newNode)).modelApi.system === 2, { description: 'the newer node to report system model API 2' });
      expect((await info(newNode)).modelApi).toEqual({ system: 2, min: 1, max: 2 });
      expect(newNode.logs()).toMatch(/system model API rose from 1 to 2; writing events at 2/);

      // The rise is announced once (a components.state event carrying the new value) and
      // from then on the newer node writes at schema 2: its next heartbeat shows it.
      const afterUpgrade = await waitFor(
        async () => {
          const events = await eventsOf(shared, newNode);
          const announcement = events.findIndex((event) => event.action === 'state' && (event.data as { systemModelApi?: number }).systemModelApi === 2);
          if (announcement < 0) return null;
          const later = events.slice(announcement);
          return later.some((event) => event.action === 'heartbeat') ? later : null;
        },
        { timeoutMs: 20_000, description: 'the announcement and a heartbeat at the new model API' },
      );
      expect(afterUpgrade[0]!.data).toEqual({ state: 'running', systemModelApi: 2 });
      for (const event of afterUpgrade) expect(event.schema, `${event.action} at ${event.position}`).toBe(2);
      const announcements = (await shared.readStream(COMPONENTS_STREAM, { limit: 100_000 })).filter(
        (event) => (event.data as { systemModelApi?: number } | null)?.systemModelApi === 2 && event.position > olderEvents.at(-1)!.position,
      );
      expect(announcements).toHaveLength(1);

      // A command through the HTTP API, once the newer node leads (it took the lease over): schema 2.
      const created = await waitFor(
        async () => {
          const response = await httpJson(`${newNode.url}/api/v1/tenants/acme`, { method: 'PUT', token: newNode.token });
          return response.status === 201 ? (response.body as { position: number }) : null;
        },
        { timeoutMs: 20_000, description: 'the newer node to lead and create a tenant' },
      );
      const [tenantEvent] = await shared.readAll({ after: created.position - 1, limit: 1 });
      expect(tenantEvent).toMatchObject({ type: 'tenants', action: 'create', key: 'acme', schema: 2, meta: { node: `${hostname()}:${newNode.pid}` } });

      // The older binary may no longer join: a clear message and a non-zero exit, nothing written.
      const head = await shared.headPosition();
      const refused = await runCorral(['serve', '--port', '0', '--data-dir', dataDir, '--no-local-minion', '--model-api-max', '1'], {
        env: { CORRAL_LOG_LEVEL: 'info' },
      });
      const output = refused.stdout + refused.stderr;
      expect(refused.code, output).toBe(1);
      expect(output).toMatch(/refusing to start: this node supports model API 1\.\.1, but the system model API is already 2/);
      expect(output).toMatch(/upgrade this node/);
      const sinceRefusal = await shared.readAll({ after: head, limit: 10_000 });
      expect(sinceRefusal.filter((event) => event.meta.node !== `${hostname()}:${newNode.pid}`)).toEqual([]);
      expect((await info(newNode)).modelApi.system).toBe(2);
    } finally {
      await store?.close();
      if (older.child.exitCode === null) await older.stop();
      if (newer) expect((await newer.stop()).code).toBe(0);
    }
  });
});
