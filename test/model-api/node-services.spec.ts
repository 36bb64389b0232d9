import { hostname } from 'node:os';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPONENTS_STREAM, CorralError } from '../../store/index.js';
import type { ProcessExitedV1, ProcessExitedV2 } from '../../actors/index.js';
import { defaultConfig, defaultNodeModules, startNode, type CorralConfig } from '../../ops/index.js';
import { createNodeServices, requireService, type NodeServices } from '../../ops/modules/shared.js';
import { httpJson, makeTempDir, removeTempDirs } from '../support/index.js';

afterAll(removeTempDirs);

const silent = pino({ level: 'silent' });

function memoryConfig(): CorralConfig {
  const config = defaultConfig();
  config.server = { host: '127.0.0.1', port: 0, dataDir: makeTempDir('corral-services-') };
  config.store = { kind: 'memory', url: null };
  return config;
}

const exitV2: ProcessExitedV2 = {
  pid: 4242,
  runId: 'run-1',
  code: null,
  signal: 'SIGKILL',
  exitedAt: 1_700_000_000_000,
  durationMs: 1234,
  usage: { cpuUserMs: 10, cpuSystemMs: 2, maxRssBytes: 1 << 20 },
};

async function startWithServices(modelApiMax: number) {
  const services: NodeServices = createNodeServices();
  const node = await startNode({ config: memoryConfig(), logger: silent, noLocalMinion: true, modelApiMax, modules: defaultNodeModules(services) });
  return { node, services };
}

describe('NodeServices provided by the projections module', () => {
  it('at --model-api-max 1: writes at model 1, downcasting newer shapes, and reports it', async () => {
    const { node, services } = await startWithServices(1);
    try {
      expect(services.engine?.status().caughtUp).toBe(true);
      expect(services.systemModelApi?.()).toBe(1);
      expect(services.writeModel?.()).toBe(1);

      const v1: ProcessExitedV1 = { pid: 4242, runId: 'run-1', code: null, signal: 'SIGKILL', exitedAt: 1_700_000_000_000 };
      expect(services.downcast?.('processes', 'exit', exitV2, 1)).toEqual(v1);
      expect(services.downcast?.('processes', 'exit', exitV2, 2)).toEqual(exitV2);
      expect(services.downcast?.('tenants', 'create', { name: 'acme', configVersion: 1 }, 1)).toEqual({ name: 'acme', configVersion: 1 });

      // A writer without its own downcast: the write store stores the model-1 shape at schema 1.
      const written = await services.writeStore!.append('process-acme:web:0', [
        { type: 'processes', action: 'exit', key: 'acme:web:0', tenant: 'acme', data: exitV2 },
      ]);
      const [stored] = await node.store.readAll({ after: written.positions[0]! - 1, limit: 1 });
      expect(stored).toMatchObject({ schema: 1, data: v1 });

      const info = await httpJson(`${node.url}/api/v1/info`, { token: node.adminToken });
      expect((info.body as { modelApi: unknown }).modelApi).toEqual({ system: 1, min: 1, max: 1 });

      // registered with its URL, running, every registry event at schema 1
      const registry = (await node.store.readStream(COMPONENTS_STREAM)).filter((event) => event.key === `${hostname()}:${process.pid}`);
      expect(registry.map((event) => event.action)).toEqual(['register', 'state']);
      expect(registry[0]!.data).toMatchObject({ kind: 'server', pid: process.pid, modelApi: { min: 1, max: 1 }, url: node.url });
      expect(registry[1]!.data).toEqual({ state: 'running', systemModelApi: 1 });
      expect(registry.every((event) => event.schema === 1)).toBe(true);
    } finally {
      await node.stop();
    }
  });

  it('at the newest model API: writes the full shape at schema 2', async () => {
    const { node, services } = await startWithServices(2);
    try {
      expect(services.writeModel?.()).toBe(2);
      const written = await services.writeStore!.append('process-acme:web:0', [
        { type: 'processes', action: 'exit', key: 'acme:web:0', tenant: 'acme', data: exitV2 },
      ]);
      const [stored] = await node.store.readAll({ after: written.positions[0]! - 1, limit: 1 });
      expect(stored).toMatchObject({ schema: 2, data: exitV2 });
    } finally {
      await node.stop();
    }
  });

  it('requireService names the missing service and the consumer', () => {
    expect(() => requireService(createNodeServices(), 'engine', 'websockets')).toThrow(CorralError);
    expect(() => requireService(createNodeServices(), 'engine', 'websockets')).toThrow(/the websockets module needs NodeServices.engine/);
  });
});
