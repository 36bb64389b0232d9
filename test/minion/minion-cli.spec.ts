import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MinionHello, MinionReport, MinionReportSink } from '../../actors/index.js';
import { createMinionHub, type MinionHub } from '../../gateway/minion/index.js';
import { closeListenSocket, createApp, listenSocketPort, type ListenSocket } from '../../gateway/uws.js';
import { nodeSpawn, pidAlive, waitFor } from './helpers.js';

const corral = join(import.meta.dirname, '..', '..', 'bin', 'corral.js');

class RecordingSink implements MinionReportSink {
  hellos: MinionHello[] = [];
  reports: MinionReport[] = [];
  async minionConnected(hello: MinionHello) {
    this.hellos.push(hello);
  }
  async minionDisconnected() {}
  async report(_minion: string, report: MinionReport) {
    this.reports.push(report);
  }
}

/** A minion hub of its own on a uWS port (the real server's endpoint, without the rest of the server). */
async function startHub(): Promise<{ sink: RecordingSink; hub: MinionHub; listenSocket: ListenSocket; server: string }> {
  const sink = new RecordingSink();
  const hub = createMinionHub({
    sink,
    verifyToken: async (token) => {
      if (token !== 'cli-token') throw new Error('unknown token');
      return { subject: 'cli', tenants: ['acme'] };
    },
  });
  const app = createApp();
  hub.attach(app);
  const listenSocket = await new Promise<ListenSocket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('listen failed')))),
  );
  return { sink, hub, listenSocket, server: `http://127.0.0.1:${listenSocketPort(listenSocket)}` };
}

let sink: RecordingSink;
let hub: MinionHub;
let listenSocket: ListenSocket;
let server: string;
beforeAll(async () => {
  ({ sink, hub, listenSocket, server } = await startHub());
});
afterAll(() => {
  hub.close();
  closeListenSocket(listenSocket);
});

function runCli(args: string[]): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [corral, 'minion', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CORRAL_LOG_LEVEL: 'warn' } });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exit };
}

describe('corral minion (the real command)', () => {
  it('registers, runs a process, and on SIGTERM stops it and exits 0', async () => {
    const { child, exit } = runCli(['--server', server, '--token', 'cli-token', '--id', 'cli1', '--grain', 'role=db', '--grain', 'rack=7']);
    try {
      const hello = await waitFor(() => sink.hellos.find((h) => h.id === 'cli1'), 'hello from the CLI minion', 20_000);
      expect(hello.grains).toMatchObject({ role: 'db', rack: 7 });
      expect(hello.tenants).toEqual(['acme']);
      const command = nodeSpawn('', { cmd: 'sleep', args: ['300'], stopWaitMs: 1000 });
      expect(hub.port.send('cli1', command)).toBe(true);
      const spawned = await waitFor(
        () => sink.reports.find((r): r is Extract<MinionReport, { kind: 'spawned' }> => r.kind === 'spawned' && r.runId === command.runId),
        'spawned',
      );
      expect(pidAlive(spawned.pid)).toBe(true);
      child.kill('SIGTERM');
      const { code } = await exit;
      expect(code).toBe(0);
      expect(pidAlive(spawned.pid)).toBe(false);
      // the exited report was delivered before the minion closed its socket
      expect(sink.reports.some((r) => r.kind === 'exited' && r.runId === command.runId)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exits 2 with a clear message when the server refuses the token', async () => {
    const { exit } = runCli(['--server', server, '--token', 'wrong', '--id', 'cli2']);
    const { code, stderr } = await exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/corral minion: unauthenticated: invalid token: unknown token/);
  });

  it('a local minion whose data directory is removed stops its processes and exits 2 at its next reconnect', async () => {
    const own = await startHub();
    const dataDir = mkdtempSync(join(tmpdir(), 'corral-minion-cli-'));
    writeFileSync(join(dataDir, 'server.json'), JSON.stringify({ url: own.server }));
    writeFileSync(join(dataDir, 'admin.token'), 'cli-token\n');
    const { child, exit } = runCli(['--server-file', join(dataDir, 'server.json'), '--token-file', join(dataDir, 'admin.token'), '--id', 'cli3']);
    try {
      await waitFor(() => own.sink.hellos.find((h) => h.id === 'cli3'), 'hello from the CLI minion', 20_000);
      const command = nodeSpawn('', { cmd: 'sleep', args: ['300'], stopWaitMs: 1000 });
      expect(own.hub.port.send('cli3', command)).toBe(true);
      const spawned = await waitFor(
        () => own.sink.reports.find((r): r is Extract<MinionReport, { kind: 'spawned' }> => r.kind === 'spawned' && r.runId === command.runId),
        'spawned',
      );
      rmSync(dataDir, { recursive: true });
      await own.hub.close(); // the server goes away with its data directory
      const { code, stderr } = await exit;
      expect(code).toBe(2);
      expect(stderr).toContain(`corral minion: ${dataDir} is gone (the server's data directory was removed): not reconnecting`);
      expect(pidAlive(spawned.pid)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      closeListenSocket(own.listenSocket);
    }
  });

  it('exits 2 with usage on bad arguments', async () => {
    const { exit } = runCli(['--server', server, '--token', 'x', '--id', 'Not.Valid']);
    const { code, stderr } = await exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/--id "Not.Valid": minion ids match/);
  });
});
