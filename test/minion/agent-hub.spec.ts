import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { MinionHello, MinionReport, MinionReportSink, SpawnCommand } from '../../actors/index.js';
import { createMinionHub, decodeServerFrame, encodeFrame, type MinionHub } from '../../gateway/minion/index.js';
import { closeListenSocket, createApp, listenSocketPort, type ListenSocket } from '../../gateway/uws.js';
import { MinionAgent, type MinionAgentOptions } from '../../ops/minion/index.js';
import { nodeSpawn, pidAlive, waitFor } from './helpers.js';

/** The actor runtime's side, in memory: records everything; can hold or fail reports. */
class MemorySink implements MinionReportSink {
  hellos: MinionHello[] = [];
  disconnects: { id: string; tenants: string[]; reason: string }[] = [];
  reports: { minion: string; report: MinionReport }[] = [];
  held: (() => void)[] = [];
  hold = false;
  failNext = 0;
  async minionConnected(hello: MinionHello): Promise<void> {
    this.hellos.push(hello);
  }
  async minionDisconnected(id: string, tenants: string[], reason: string): Promise<void> {
    this.disconnects.push({ id, tenants, reason });
  }
  report(minion: string, report: MinionReport): Promise<void> {
    if (this.failNext > 0 && report.kind !== 'stats') {
      this.failNext -= 1;
      return Promise.reject(new Error('store unavailable'));
    }
    this.reports.push({ minion, report });
    if (!this.hold || report.kind === 'stats') return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }
  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }
  of<K extends MinionReport['kind']>(kind: K, runId?: string) {
    return this.reports
      .map((r) => r.report)
      .filter((r) => r.kind === kind && (runId === undefined || ('runId' in r && r.runId === runId))) as Extract<MinionReport, { kind: K }>[];
  }
}

const tokens: Record<string, { subject: string; tenants: string[]; minion?: string }> = {
  good: { subject: 'minion-token', tenants: ['acme', 'beta'] },
  none: { subject: 'nobody', tenants: [] },
  star: { subject: 'admin', tenants: ['*'] },
  'beta-ops': { subject: 'beta-ops', tenants: ['beta'] },
  // a minion token (claim corral.minion) for the id `enrolled`
  'enrolled-token': { subject: 'cli', tenants: ['beta'], minion: 'enrolled' },
};

let sink: MemorySink;
let hub: MinionHub;
let listenSocket: ListenSocket;
let url: string;
const agents: MinionAgent[] = [];

beforeAll(async () => {
  sink = new MemorySink();
  hub = createMinionHub({
    sink,
    verifyToken: async (token) => {
      const identity = tokens[token];
      if (!identity) throw new Error('signature verification failed');
      return identity;
    },
    server: { version: 'test', node: 'node-1' },
    allTenants: () => ['acme', 'beta', 'gamma'],
  });
  const app = createApp();
  hub.attach(app);
  listenSocket = await new Promise<ListenSocket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('listen failed')))),
  );
  url = `http://127.0.0.1:${listenSocketPort(listenSocket)}`;
});
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.shutdown({ stopProcesses: true, flushMs: 0 });
  sink.release();
  sink.failNext = 0;
});
afterAll(() => {
  hub.close();
  closeListenSocket(listenSocket);
});

let ids = 0;
function startAgent(overrides: Partial<MinionAgentOptions> = {}): MinionAgent {
  const agent = new MinionAgent({
    server: url,
    token: 'good',
    id: `host${++ids}`,
    tenants: ['acme'],
    grains: { role: 'web' },
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    heartbeatMs: 1000,
    supervisor: { statsIntervalMs: 200 },
    ...overrides,
  });
  agents.push(agent);
  return agent.start();
}
const spawnCommand = (script: string, overrides: Partial<SpawnCommand> = {}) => nodeSpawn(script, overrides);

describe('minion agent <-> hub over a real uWS server', () => {
  it('registers with grains, runs a spawned process, and every reliable report is acked', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    const hello = await waitFor(() => sink.hellos.find((h) => h.id === agent.id), 'hello');
    expect(hello).toMatchObject({ tenants: ['acme'], protocol: 1, running: [], grains: { role: 'web', os: process.platform } });
    expect(hub.port.connected('acme').map((m) => m.key)).toContain(`acme:${agent.id}`);
    expect(hub.port.connected('beta').map((m) => m.id)).not.toContain(agent.id);
    const command = spawnCommand(`console.log('hi from the child'); setTimeout(() => process.exit(4), 500)`);
    expect(hub.port.send(agent.id, command)).toBe(true);
    expect(hub.port.send(agent.id, { ...command, tenant: 'beta' })).toBe(false);
    expect(hub.port.send('no-such-minion', command)).toBe(false);
    const exited = await waitFor(() => sink.of('exited', command.runId)[0], 'exited');
    expect(exited.code).toBe(4);
    expect(sink.of('spawned', command.runId)).toHaveLength(1);
    expect(sink.of('output', command.runId).flatMap((r) => r.lines)).toContainEqual({ fd: 'stdout', line: 'hi from the child' });
    await waitFor(() => agent.outbox.pending === 0, 'everything acked');
    const connection = hub.connections().find((c) => c.id === agent.id)!;
    expect(connection.ackedSeq).toBe(connection.lastSeq);
  });

  it('runs jobs and returns per-minion results', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    hub.port.send(agent.id, { kind: 'runJob', tenant: 'acme', jid: '20260101000000000001', fun: 'cmd.run', args: ['echo hi'], timeoutMs: 5000 });
    hub.port.send(agent.id, { kind: 'runJob', tenant: 'acme', jid: '20260101000000000002', fun: 'nope.fun', args: [], timeoutMs: 5000 });
    const returns = await waitFor(() => {
      const found = sink.of('jobReturn').filter((r) => r.minion === agent.id);
      return found.length === 2 ? found : null;
    }, 'two job returns');
    const byJid = Object.fromEntries(returns.map((r) => [r.jid, r]));
    expect(byJid['20260101000000000001']).toMatchObject({ retcode: 0, success: true, return: { stdout: 'hi\n', stderr: '', retcode: 0 } });
    expect(byJid['20260101000000000002']).toMatchObject({ success: false, return: expect.stringMatching(/'nope.fun' is not available/) });
  });

  it('a report that cannot fit one frame is never resent forever: a jobReturn becomes an error return, output is split; one connection', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    const hellos = (): number => sink.hellos.filter((h) => h.id === agent.id).length;
    expect(hellos()).toBe(1);
    const jid = '20260101000000000077';
    // 2 MiB of return: twice the frame limit (the job runner truncates its own returns; this is
    // any report that still does not fit)
    agent.outbox.push({ kind: 'jobReturn', tenant: 'acme', jid, minion: agent.id, return: 'x'.repeat(2 * 1024 * 1024), retcode: 0, success: true, durationMs: 5 });
    // 300 lines of 8000 two-byte characters: 4.8 MB in one output report
    const lines = Array.from({ length: 300 }, (_, i) => ({ fd: 'stdout' as const, line: `${i} ${'é'.repeat(8000)}` }));
    agent.outbox.push({ kind: 'output', tenant: 'acme', processKey: 'acme:w:0', runId: 'run-big', pid: 1234, firstSeq: 1, lines });
    const returned = await waitFor(() => sink.of('jobReturn').find((r) => r.jid === jid), 'the job return');
    expect(returned).toMatchObject({ success: false, retcode: 1 });
    expect(returned.return).toMatch(/^the return of job 20260101000000000077 takes \d+ bytes encoded, over the minion frame limit of 1048576 bytes: it cannot be sent$/);
    const parts = await waitFor(() => {
      const found = sink.of('output', 'run-big');
      return found.reduce((sum, r) => sum + r.lines.length, 0) === 300 ? found : null;
    }, 'every output line');
    expect(parts.length).toBeGreaterThan(4);
    // the parts keep the lines' numbers: each starts where the previous ended
    let next = 1;
    for (const part of parts) {
      expect(part.firstSeq).toBe(next);
      expect(Number(part.lines[0]!.line.split(' ')[0])).toBe(next - 1);
      next += part.lines.length;
    }
    await waitFor(() => agent.outbox.pending === 0, 'everything acked');
    expect(hellos()).toBe(1);
    expect(agent.state).toBe('connected');
  });

  it('a process writing long lines fast: its output batches fit frames, every line arrives, one connection', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    // 2000 lines of 16 KiB (the line cap) in one burst: 32 MiB, 1000-line batches would be 16 MiB
    const command = spawnCommand(`const line = 'z'.repeat(16 * 1024 - 8); for (let i = 0; i < 2000; i++) process.stdout.write(String(i).padStart(6, '0') + ' ' + line + '\\n');`);
    hub.port.send(agent.id, command);
    await waitFor(() => sink.of('exited', command.runId)[0], 'exited', 60_000);
    const outputs = await waitFor(() => {
      const found = sink.of('output', command.runId);
      return found.reduce((sum, r) => sum + r.lines.length, 0) === 2000 ? found : null;
    }, 'every line', 60_000);
    expect(outputs.flatMap((r) => r.lines).every((l, i) => l.line.startsWith(String(i).padStart(6, '0')))).toBe(true);
    expect(sink.hellos.filter((h) => h.id === agent.id)).toHaveLength(1);
  }, 90_000);

  it('the hub does not send a command over the frame limit (the minion would drop the shared connection)', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    const big = { kind: 'runJob' as const, tenant: 'acme', jid: '20260101000000000078', fun: 'test.echo', args: ['y'.repeat(1024 * 1024)], timeoutMs: 5000 };
    expect(hub.port.send(agent.id, big)).toBe(false);
    const small = { ...big, jid: '20260101000000000079', args: ['fits'] };
    expect(hub.port.send(agent.id, small)).toBe(true);
    expect((await waitFor(() => sink.of('jobReturn').find((r) => r.jid === small.jid), 'the small return')).return).toBe('fits');
    expect(sink.of('jobReturn').find((r) => r.jid === big.jid)).toBeUndefined();
    expect(sink.hellos.filter((h) => h.id === agent.id)).toHaveLength(1);
  });

  it('a runJob the minion refuses (10,001 args, e.g. from an older server) fails that job only; the connection stays', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    const refused = { kind: 'runJob' as const, tenant: 'acme', jid: '20260101000000000080', fun: 'test.echo', args: Array.from({ length: 10_001 }, () => 1), timeoutMs: 5000 };
    expect(hub.port.send(agent.id, refused)).toBe(true);
    const answer = await waitFor(() => sink.of('jobReturn').find((r) => r.jid === refused.jid), 'the refused job answered');
    expect(answer).toMatchObject({ success: false, retcode: 1, return: 'the minion refused job 20260101000000000080: frame.command.args: more than 10000 items' });
    const next = { ...refused, jid: '20260101000000000081', args: ['still here'] };
    hub.port.send(agent.id, next);
    expect((await waitFor(() => sink.of('jobReturn').find((r) => r.jid === next.jid), 'the next job')).return).toBe('still here');
    expect(sink.hellos.filter((h) => h.id === agent.id)).toHaveLength(1);
  });

  it('keeps processes across a server-side close, re-registers them, and resends unacked reports', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    const command = spawnCommand(`let n = 0; setInterval(() => console.log('tick ' + n++), 50)`, { stopWaitMs: 500 });
    sink.hold = true; // the store is slow: nothing gets acked
    hub.port.send(agent.id, command);
    const { pid } = await waitFor(() => sink.of('spawned', command.runId)[0], 'spawned');
    // reports of one process reach the sink in order: the output waits behind the held `spawned`
    await waitFor(() => agent.outbox.pending >= 4, 'output waiting for acks');
    expect(sink.of('output', command.runId)).toEqual([]);
    const hellosBefore = sink.hellos.filter((h) => h.id === agent.id).length;

    hub.close(1012, 'server restarting');
    await waitFor(() => sink.disconnects.some((d) => d.id === agent.id), 'disconnect recorded');
    const rehello = await waitFor(
      () => sink.hellos.filter((h) => h.id === agent.id)[hellosBefore],
      'second hello',
    );
    // reconciliation: the same process, still running, same pid
    expect(rehello.running).toEqual([expect.objectContaining({ runId: command.runId, pid, processKey: command.processKey, ready: true })]);
    expect(pidAlive(pid)).toBe(true);
    // the unacked `spawned` was resent on the new connection (the sink dedupes per runId)
    await waitFor(() => sink.of('spawned', command.runId).length >= 2, 'spawned resent');
    sink.release();
    await waitFor(() => agent.outbox.pending <= 1, 'acked after the reconnect');
    await waitFor(() => sink.of('output', command.runId).flatMap((r) => r.lines).length >= 10, 'ten ticks');
    // lines are not lost across the reconnect: the de-duplicated tick numbers are contiguous
    const stop = { kind: 'stop' as const, tenant: 'acme', processKey: command.processKey, runId: command.runId, signal: 'SIGTERM', waitMs: 500 };
    hub.port.send(agent.id, stop);
    const exited = await waitFor(() => sink.of('exited', command.runId)[0], 'exited after stop');
    expect(exited.pid).toBe(pid);
    expect(exited.signal).toBe('SIGTERM');
    const ticks = new Set(sink.of('output', command.runId).flatMap((r) => r.lines.map((l) => Number(l.line.split(' ')[1]))));
    expect(ticks.size).toBeGreaterThan(5);
    expect([...ticks].sort((a, b) => a - b)).toEqual([...Array(ticks.size).keys()]);
    await waitFor(() => !pidAlive(pid), 'process gone');
  });

  it('a sink failure closes with 1011; the agent reconnects and the report arrives', async () => {
    const agent = startAgent();
    await agent.waitConnected();
    sink.failNext = 1;
    hub.port.send(agent.id, { kind: 'runJob', tenant: 'acme', jid: '20260101000000000003', fun: 'test.echo', args: ['again'], timeoutMs: 0 });
    const ret = await waitFor(() => sink.of('jobReturn').find((r) => r.jid === '20260101000000000003'), 'job return after retry');
    expect(ret.return).toBe('again');
    await waitFor(() => agent.state === 'connected' && agent.outbox.pending === 0, 'acked on the new connection');
  });

  it('a second connection with the same credential replaces the first (4409); the older agent keeps its processes and retries later', async () => {
    const first = startAgent({ id: 'twin', idRetryMinMs: 60_000 });
    await first.waitConnected();
    const command = spawnCommand('setInterval(() => {}, 1000)', { processKey: 'acme:twin:0' });
    hub.port.send('twin', command);
    const spawned = await waitFor(() => sink.of('spawned', command.runId)[0], 'spawned');
    const disconnectsBefore = sink.disconnects.length;
    const second = startAgent({ id: 'twin', idRetryMinMs: 60_000 });
    await second.waitConnected();
    await waitFor(() => first.state === 'disconnected', 'the first agent displaced');
    expect(hub.port.connected('acme').filter((m) => m.id === 'twin')).toHaveLength(1);
    // the replaced connection does not mark the minion disconnected in tenants it still serves
    expect(sink.disconnects.slice(disconnectsBefore).filter((d) => d.id === 'twin')).toEqual([]);
    // displaced, not stopped: its process still runs and it has not given up
    expect(pidAlive(spawned.pid)).toBe(true);
    expect(first.supervisor.running().map((p) => p.runId)).toEqual([command.runId]);
    expect(await Promise.race([first.done.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('running'), 300))])).toBe('running');
  });

  it('an id bound to one credential refuses another (4403) without displacing it; the refused agent keeps its processes', async () => {
    const owner = startAgent({ id: 'bound1', tenants: ['beta'] });
    await owner.waitConnected();
    const rogue = startAgent({ id: 'bound1', token: 'beta-ops', tenants: ['beta'], idRetryMinMs: 60_000 });
    const command = spawnCommand('setInterval(() => {}, 1000)', { tenant: 'beta', processKey: 'beta:rogue:0' });
    rogue.supervisor.spawn(command);
    await waitFor(() => rogue.supervisor.running().length === 1 && rogue.state === 'disconnected' && rogue.outbox.pending > 0, 'the rogue refused');
    expect(owner.state).toBe('connected');
    expect(hub.connections().filter((c) => c.id === 'bound1').map((c) => c.subject)).toEqual(['minion-token']);
    expect(rogue.supervisor.running().map((p) => p.runId)).toEqual([command.runId]);
    expect(await Promise.race([rogue.done.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('running'), 300))])).toBe('running');
  });

  it('a minion token connects only as its own id, and takes that id over from another credential', async () => {
    const wrongId = startAgent({ id: 'other-id', token: 'enrolled-token', tenants: ['beta'] });
    expect((await wrongId.done).fatal).toMatch(/^forbidden: the token is a minion token for enrolled, not for other-id/);
    const before = startAgent({ id: 'enrolled', token: 'beta-ops', tenants: ['beta'], idRetryMinMs: 60_000 });
    await before.waitConnected();
    const enrolled = startAgent({ id: 'enrolled', token: 'enrolled-token', tenants: ['beta'] });
    await enrolled.waitConnected();
    await waitFor(() => before.state === 'disconnected', 'the older credential displaced');
    // from now on the id belongs to minion tokens for it: the older credential is refused
    const again = startAgent({ id: 'enrolled', token: 'beta-ops', tenants: ['beta'], idRetryMinMs: 60_000 });
    await waitFor(() => hub.connections().filter((c) => c.id === null).length === 0 && again.state === 'disconnected', 'the older credential refused');
    expect(enrolled.state).toBe('connected');
  });

  it('bad tokens and ungranted tenants are fatal with a clear reason', async () => {
    const bad = startAgent({ token: 'forged' });
    expect((await bad.done).fatal).toMatch(/^unauthenticated: invalid token: signature verification failed/);
    const none = startAgent({ token: 'none' });
    expect((await none.done).fatal).toMatch(/^forbidden: the token grants no tenant/);
    const other = startAgent({ tenants: ['gamma'] });
    expect((await other.done).fatal).toMatch(/^forbidden: the token grants none of the requested tenants \(gamma\)/);
  });

  it('a token for every tenant serves all tenants, including ones met later', async () => {
    const agent = startAgent({ token: 'star', tenants: [] });
    await agent.waitConnected();
    const hello = await waitFor(() => sink.hellos.find((h) => h.id === agent.id), 'hello');
    expect(hello.tenants).toEqual(['acme', 'beta', 'gamma']);
    expect(hub.port.send(agent.id, { kind: 'runJob', tenant: 'delta', jid: '20260101000000000004', fun: 'test.ping', args: [], timeoutMs: 0 })).toBe(true);
    await waitFor(() => sink.of('jobReturn').find((r) => r.jid === '20260101000000000004' && r.tenant === 'delta'), 'delta job');
    expect(sink.hellos.some((h) => h.id === agent.id && h.tenants.includes('delta'))).toBe(true);
  });
});

describe('minion agent following server.json', () => {
  it('re-reads --server-file and --token-file before each attempt (a server restarted on another port)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-minion-'));
    const serverFile = join(dir, 'server.json');
    const tokenFile = join(dir, 'admin.token');
    writeFileSync(tokenFile, 'good\n');
    const agent = startAgent({ server: undefined, token: undefined, serverFile, tokenFile });
    // no server.json yet, then one naming a dead port: the agent keeps trying
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(agent.state).not.toBe('connected');
    writeFileSync(serverFile, JSON.stringify({ pid: 1, port: 1, url: 'http://127.0.0.1:1' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(agent.state).not.toBe('connected');
    writeFileSync(serverFile, JSON.stringify({ pid: 1, port: 0, url }));
    await agent.waitConnected(5000);
    expect(sink.hellos.some((h) => h.id === agent.id)).toBe(true);
  });

  it('exits with a clear reason once the directory of --server-file is removed (the server\'s data directory is gone)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-minion-'));
    const serverFile = join(dir, 'server.json');
    const tokenFile = join(dir, 'admin.token');
    writeFileSync(tokenFile, 'good\n');
    writeFileSync(serverFile, JSON.stringify({ pid: 1, port: 1, url: 'http://127.0.0.1:1' }));
    const agent = startAgent({ server: undefined, token: undefined, serverFile, tokenFile });
    // a refused connection alone is retried (a missing server.json alone too: the test above)
    await waitFor(() => (agent.state === 'disconnected' ? true : undefined), 'a failed attempt');
    rmSync(dir, { recursive: true });
    const result = await agent.done;
    expect(result.fatal).toBe(`${dir} is gone (the server's data directory was removed): not reconnecting`);
    expect(agent.state).toBe('stopped');
  });
});

describe('hub protocol errors', () => {
  const raw = (token = 'good') => new WebSocket(`${url.replace('http', 'ws')}/minion`, { headers: { authorization: `Bearer ${token}` } });
  const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));

  it('closes 4400 on garbage, text frames and reports before hello, 4426 on incompatible versions', async () => {
    const cases: [unknown, RegExp, number][] = [
      [Buffer.from([0xc1, 0xff, 0x00]), /frame/, 4400],
      ['hello', /text frame/, 4400],
      [encodeFrame({ t: 'report', seq: 1, report: { kind: 'ready', tenant: 'acme', processKey: 'acme:w:0', runId: 'r', pid: 1 } }), /report before hello/, 4400],
      [
        encodeFrame({ t: 'hello', protocol: { min: 7, max: 9 }, id: 'x', version: '9', grains: { os: 'l', arch: 'a', hostname: 'h', cpus: 1, memory: 1, nodeVersion: '1' }, tenants: [], running: [] }),
        /incompatible minion protocol: minion speaks 7..9, server speaks 1..1/,
        4426,
      ],
    ];
    for (const [payload, reason, expected] of cases) {
      const ws = raw();
      await new Promise((resolve) => ws.once('open', resolve));
      const result = closed(ws);
      ws.send(payload as Buffer);
      const { code, reason: text } = await result;
      expect(code).toBe(expected);
      expect(text).toMatch(reason);
    }
  });

  it('refuses the upgrade with 401 without a valid token', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/minion`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
  });

  it('welcome answers a valid hello; non-contiguous seqs are a protocol error', async () => {
    const ws = raw();
    await new Promise((resolve) => ws.once('open', resolve));
    const frames: unknown[] = [];
    ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(data)));
    ws.send(
      encodeFrame({ t: 'hello', protocol: { min: 1, max: 3 }, id: 'rawminion', version: '1', grains: { os: 'l', arch: 'a', hostname: 'h', cpus: 1, memory: 1, nodeVersion: '1' }, tenants: ['acme'], running: [] }),
    );
    await waitFor(() => frames.length > 0, 'welcome');
    expect(frames[0]).toEqual({ t: 'welcome', protocol: 1, server: { version: 'test', node: 'node-1' }, id: 'rawminion', tenants: ['acme'] });
    const result = closed(ws);
    ws.send(encodeFrame({ t: 'report', seq: 2, report: { kind: 'ready', tenant: 'acme', processKey: 'acme:w:0', runId: 'r', pid: 1 } }));
    expect(await result).toEqual({ code: 4400, reason: 'report seq 2 after 0: seqs must be contiguous from 1' });
  });
});
