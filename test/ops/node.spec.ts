import WebSocket from 'ws';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig, startNode, type CorralConfig, type NodeModule } from '../../ops/index.js';
import { httpJson, makeTempDir, removeTempDirs, waitFor } from '../support/index.js';

afterAll(removeTempDirs);

const silent = pino({ level: 'silent' });

function memoryConfig(edit: (config: CorralConfig) => void = () => undefined): CorralConfig {
  const config = defaultConfig();
  config.server = { host: '127.0.0.1', port: 0, dataDir: makeTempDir('corral-node-') };
  config.store = { kind: 'memory', url: null };
  edit(config);
  return config;
}

describe('startNode (in process)', () => {
  it('runs plug-in modules: routes, websockets, readiness held until released, stop in reverse order', async () => {
    const calls: string[] = [];
    let caughtUp = false;
    const projections: NodeModule = {
      name: 'projections',
      start({ gateway }) {
        calls.push('start projections');
        gateway.addReadinessCheck('projections', () => caughtUp || 'catching up');
        gateway.router.get('/api/v1/tenants/:t/hello', (ctx) => {
          ctx.requireRole(ctx.params.t!, 'read');
          return { hello: ctx.params.t };
        });
        return { stop: (info) => void calls.push(`stop projections ${info.closeCode}`) };
      },
    };
    const websockets: NodeModule = {
      name: 'ws',
      start({ gateway }) {
        calls.push('start ws');
        gateway.capabilities.add('ws.test');
        gateway.ws('/ws-test', { open: (ws) => void ws.send('hi') });
        return { stop: () => void calls.push('stop ws'), listening: (url) => void calls.push(`listening ${url.startsWith('http://127.0.0.1:')}`) };
      },
    };
    const node = await startNode({ config: memoryConfig(), logger: silent, modules: [projections, websockets] });
    try {
      const notReady = await httpJson(`${node.url}/health/ready`);
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ ready: false, state: 'running', waitingFor: ['projections: catching up'] });
      caughtUp = true;
      expect((await httpJson(`${node.url}/health/ready`)).status).toBe(200);

      expect((await httpJson(`${node.url}/api/v1/tenants/acme/hello`, { token: node.adminToken })).body).toEqual({ hello: 'acme' });
      expect((await httpJson(`${node.url}/api/v1/info`, { token: node.adminToken })).body.capabilities).toContain('ws.test');

      const client = new WebSocket(`${node.url.replace('http', 'ws')}/ws-test`);
      const greeting = await new Promise<string>((resolve, reject) => {
        client.once('message', (data) => resolve(String(data)));
        client.once('error', reject);
      });
      expect(greeting).toBe('hi');
      const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
      expect(node.gateway.openWebSocketCount).toBe(1);

      await node.stop();
      expect(await closed).toBe(1001);
      expect(calls).toEqual(['start projections', 'start ws', 'listening true', 'stop ws', 'stop projections 1001']);
      // No new connections; each kept-alive one answers 503 once and is closed.
      const statuses: (number | string)[] = [];
      await waitFor(
        async () => {
          const status = await fetch(`${node.url}/health/live`).then((r) => r.status, () => 'refused');
          statuses.push(status);
          return status === 'refused';
        },
        { description: 'connections to be refused' },
      );
      expect(statuses.every((s) => s === 503 || s === 'refused')).toBe(true);
    } finally {
      await node.stop();
    }
  });

  it('closes websockets with 1012 when stopping for a rolling restart', async () => {
    const node = await startNode({
      config: memoryConfig(),
      logger: silent,
      modules: [{ name: 'ws', start: ({ gateway }) => void gateway.ws('/ws-test', {}) }],
    });
    const client = new WebSocket(`${node.url.replace('http', 'ws')}/ws-test`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    await waitFor(() => node.gateway.openWebSocketCount === 1, { description: 'the server to see the socket' });
    await node.stop({ closeCode: 1012 });
    expect(await closed).toBe(1012);
  });

  it('is not ready while initializing: modules start before the state is running', async () => {
    let readinessDuringStart: unknown;
    const node = await startNode({
      config: memoryConfig(),
      logger: silent,
      modules: [{ name: 'probe', start: ({ gateway }) => void (readinessDuringStart = gateway.readiness()) }],
    });
    await node.stop();
    expect(readinessDuringStart).toMatchObject({ ready: false, state: 'initializing' });
  });

  it('pins the model API with modelApiMax and refuses auth: none on a non-loopback host', async () => {
    const node = await startNode({ config: memoryConfig(), logger: silent, modules: [], modelApiMax: 1 });
    try {
      expect((await httpJson(`${node.url}/api/v1/info`, { token: node.adminToken })).body.modelApi).toEqual({ system: 1, min: 1, max: 1 });
    } finally {
      await node.stop();
    }
    await expect(
      startNode({ config: memoryConfig((c) => ((c.auth = { mode: 'none' }), (c.server.host = '0.0.0.0'))), logger: silent, modules: [] }),
    ).rejects.toThrow(/auth: none requires a loopback host/);
  });

  it('a module that fails to start stops the ones already started and closes the store', async () => {
    const calls: string[] = [];
    await expect(
      startNode({
        config: memoryConfig(),
        logger: silent,
        modules: [
          { name: 'ok', start: () => ({ stop: () => void calls.push('stopped ok') }) },
          {
            name: 'broken',
            start: () => {
              throw new Error('projection schema mismatch');
            },
          },
        ],
      }),
    ).rejects.toThrow('projection schema mismatch');
    expect(calls).toEqual(['stopped ok']);
  });
});
