import type { EventStore, EventToAppend } from '../../store/index.js';

/** Real state changes of two tenants, in order; each step is labelled for expectations. */
export interface Step {
  label: string;
  stream: string;
  event: EventToAppend;
}

const watcherSpec = (numprocesses: number): Record<string, unknown> => ({
  cmd: 'node',
  args: ['server.js'],
  env: {},
  cwd: '/srv',
  numprocesses,
  minion: 'host1',
  restart: { delayMs: 1000, minAliveMs: 5000, maxRetries: 5 },
  ready: { kind: 'none' },
  stopSignal: 'SIGTERM',
  stopWaitMs: 5000,
  logs: { maxLines: 10000 },
  active: true,
});

const step = (label: string, stream: string, type: string, action: string, key: string, tenant: string, data: unknown, schema?: number): Step => ({
  label,
  stream,
  event: { type, action, key, tenant, data, meta: { principal: 'scenario' }, ...(schema ? { schema } : {}) },
});

const J1 = '20261123153646699137';
const J2 = '20261123153646699138';

export const SCENARIO: readonly Step[] = [
  step('A1', 'tenant-acme', 'tenants', 'create', 'acme', 'acme', { name: 'acme', configVersion: 1 }),
  step('A2', 'watcher-acme:web', 'watchers', 'create', 'acme:web', 'acme', { name: 'web', spec: watcherSpec(2) }),
  step('A3', 'process-acme:web:0', 'processes', 'start', 'acme:web:0', 'acme', { watcher: 'web', slot: 0, minion: 'host1', runId: 'a' }),
  step('A4', 'process-acme:web:0', 'processes', 'spawn', 'acme:web:0', 'acme', { pid: 100, minion: 'host1', runId: 'a', startedAt: 5 }),
  step('A5', 'process-acme:web:0', 'processes', 'ready', 'acme:web:0', 'acme', { pid: 100, runId: 'a' }),
  step('A6', 'process-acme:web:1', 'processes', 'start', 'acme:web:1', 'acme', { watcher: 'web', slot: 1, minion: 'host1', runId: 'b' }),
  step('A7', 'process-acme:web:1', 'processes', 'spawn', 'acme:web:1', 'acme', { pid: 101, minion: 'host1', runId: 'b', startedAt: 6 }),
  step('A8', 'minion-acme:host1', 'minions', 'connect', 'acme:host1', 'acme', { id: 'host1', version: '1.0.0', protocol: 1, connectedAt: 42 }),
  step('A9', 'minion-acme:host1', 'minions', 'grains', 'acme:host1', 'acme', {
    grains: { os: 'linux', arch: 'x64', hostname: 'host1', cpus: 2, memory: 8, nodeVersion: 'v20' },
  }),
  step('A10', `job-acme:${J1}`, 'jobs', 'create', `acme:${J1}`, 'acme', { jid: J1, fun: 'test.ping', args: [], tgt: 'host1', tgtType: 'list', timeoutMs: 5000, user: 'alice', timeoutAt: 1 }),
  step('A11', `job-acme:${J1}`, 'jobs', 'dispatch', `acme:${J1}`, 'acme', { minions: ['host1'] }),
  step('A12', `job-acme:${J1}`, 'jobs', 'return', `acme:${J1}`, 'acme', { minion: 'host1', return: true, retcode: 0, success: true, durationMs: 5 }),
  step('A13', `job-acme:${J1}`, 'jobs', 'complete', `acme:${J1}`, 'acme', { state: 'complete' }),
  step('A14', 'process-acme:web:0', 'processes', 'exit', 'acme:web:0', 'acme', { pid: 100, runId: 'a', code: 1, signal: null, exitedAt: 9, durationMs: 1, usage: null }, 2),
  step('U1', 'tenant-umbrella', 'tenants', 'create', 'umbrella', 'umbrella', { name: 'umbrella', configVersion: 1 }),
  step('U2', 'watcher-umbrella:web', 'watchers', 'create', 'umbrella:web', 'umbrella', { name: 'web', spec: watcherSpec(1) }),
  step('U3', 'process-umbrella:web:0', 'processes', 'start', 'umbrella:web:0', 'umbrella', { watcher: 'web', slot: 0, minion: 'host1', runId: 'u' }),
  step('U4', 'process-umbrella:web:0', 'processes', 'spawn', 'umbrella:web:0', 'umbrella', { pid: 200, minion: 'host1', runId: 'u', startedAt: 7 }),
  step('U5', `job-umbrella:${J2}`, 'jobs', 'create', `umbrella:${J2}`, 'umbrella', { jid: J2, fun: 'cmd.run', args: ['ls'], tgt: '*', tgtType: 'glob', timeoutMs: 5000, user: 'bob', timeoutAt: 1 }),
  step('U6', `job-umbrella:${J2}`, 'jobs', 'dispatch', `umbrella:${J2}`, 'umbrella', { minions: ['host1'] }),
];

/** Appends the scenario; returns the position of each label. */
export async function runScenario(store: EventStore, steps: readonly Step[] = SCENARIO): Promise<Map<string, number>> {
  const positions = new Map<string, number>();
  for (const s of steps) {
    const result = await store.append(s.stream, [s.event]);
    positions.set(s.label, result.positions[0]!);
  }
  return positions;
}
