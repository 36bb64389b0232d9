import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../ops/minion/supervisor.js';
import { freePort, nodeSpawn, pidAlive, ReportLog, waitFor } from './helpers.js';

const supervisors: Supervisor[] = [];
function supervise(options: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}) {
  const log = new ReportLog();
  const supervisor = new Supervisor({ report: log.push, statsIntervalMs: 0, ...options });
  supervisors.push(supervisor);
  return { log, supervisor };
}
afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) {
    await supervisor.stopAll();
    supervisor.close();
  }
});

describe('Supervisor: spawn, output, exit', () => {
  it('reports spawned, output lines of both streams, and exited with the code', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn(
      `console.log('hello'); console.error('oops'); process.stdout.write('no newline at end'); process.exitCode = 3`,
      { env: { GREETING: 'hi' } },
    );
    supervisor.spawn(command);
    const exited = await waitFor(() => log.of('exited', command.runId)[0], 'exited');
    const spawned = log.of('spawned', command.runId)[0]!;
    expect(spawned.pid).toBe(exited.pid);
    expect(exited.code).toBe(3);
    expect(exited.signal).toBeNull();
    expect(exited.durationMs).toBeGreaterThanOrEqual(0);
    expect(log.lines(command.runId)).toEqual(
      expect.arrayContaining([
        { fd: 'stdout', line: 'hello' },
        { fd: 'stderr', line: 'oops' },
        { fd: 'stdout', line: 'no newline at end' },
      ]),
    );
    // lines are numbered per run: each report's firstSeq continues where the previous ended
    let next = 1;
    for (const report of log.of('output', command.runId)) {
      expect(report.firstSeq).toBe(next);
      next += report.lines.length;
    }
    expect(next).toBe(log.lines(command.runId).length + 1);
    // exited comes after every output report of the run
    const kinds = log.reports.filter((r) => 'runId' in r && r.runId === command.runId).map((r) => r.kind);
    expect(kinds.at(-1)).toBe('exited');
    expect(supervisor.running()).toEqual([]);
  });

  it('passes env over a clean base env with PATH and the run identity', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn(
      `console.log(JSON.stringify({g: process.env.GREETING, path: !!process.env.PATH, key: process.env.CORRAL_PROCESS_KEY, cwd: process.cwd()}))`,
      { env: { GREETING: 'hi' }, cwd: '/tmp' },
    );
    supervisor.spawn(command);
    await waitFor(() => log.of('exited', command.runId)[0], 'exited');
    expect(JSON.parse(log.lines(command.runId)[0]!.line)).toEqual({ g: 'hi', path: true, key: command.processKey, cwd: '/tmp' });
  });

  it('reports spawnFailed with a clear message for a missing command or cwd', async () => {
    const { log, supervisor } = supervise();
    const missing = nodeSpawn('', { cmd: 'corral-no-such-command-xyz', args: [] });
    supervisor.spawn(missing);
    const failure = await waitFor(() => log.of('spawnFailed', missing.runId)[0], 'spawnFailed');
    expect(failure.error).toMatch(/command not found: corral-no-such-command-xyz/);
    const badCwd = nodeSpawn('', { cwd: '/no/such/dir' });
    supervisor.spawn(badCwd);
    expect(log.of('spawnFailed', badCwd.runId)[0]!.error).toMatch(/working directory \/no\/such\/dir does not exist/);
    expect(log.of('spawned')).toEqual([]);
  });

  it('cuts over-long lines at maxLineBytes with truncated: true and keeps the next line', async () => {
    const { log, supervisor } = supervise({ maxLineBytes: 1024 });
    const command = nodeSpawn(`process.stdout.write('x'.repeat(5000) + '\\nafter\\n')`);
    supervisor.spawn(command);
    await waitFor(() => log.of('exited', command.runId)[0], 'exited');
    expect(log.lines(command.runId)).toEqual([
      { fd: 'stdout', line: 'x'.repeat(1024), truncated: true },
      { fd: 'stdout', line: 'after' },
    ]);
  });

  it('does not spawn the same runId twice (re-reports spawned instead)', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn('setTimeout(() => {}, 30000)');
    supervisor.spawn(command);
    await waitFor(() => log.of('spawned', command.runId)[0], 'spawned');
    supervisor.spawn(command);
    const spawned = log.of('spawned', command.runId);
    expect(spawned).toHaveLength(2);
    expect(spawned[1]!.pid).toBe(spawned[0]!.pid);
    expect(supervisor.running()).toHaveLength(1);
  });
});

describe('Supervisor: readiness', () => {
  it('none: ready right after spawn', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn('setTimeout(() => {}, 30000)');
    supervisor.spawn(command);
    await waitFor(() => log.of('ready', command.runId)[0], 'ready');
    expect(supervisor.running()[0]!.ready).toBe(true);
  });

  it('delay: ready after delayMs while alive; never for a process that died before', async () => {
    const { log, supervisor } = supervise();
    const alive = nodeSpawn('setTimeout(() => {}, 30000)', { ready: { kind: 'delay', delayMs: 300 } });
    // long enough for the process to exit first even on a loaded machine
    const dies = nodeSpawn('process.exit(0)', { ready: { kind: 'delay', delayMs: 5000 } });
    const started = Date.now();
    supervisor.spawn(alive);
    supervisor.spawn(dies);
    await waitFor(() => log.of('ready', alive.runId)[0], 'ready');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor(() => log.of('exited', dies.runId)[0], 'exit');
    expect(log.of('ready', dies.runId)).toEqual([]);
  });

  it('tcp: ready once the port accepts connections', async () => {
    const { log, supervisor } = supervise();
    const port = await freePort();
    const command = nodeSpawn(
      `setTimeout(() => require('net').createServer(() => {}).listen(${port}, '127.0.0.1', () => console.log('listening')), 400)`,
      { ready: { kind: 'tcp', port } },
    );
    supervisor.spawn(command);
    await waitFor(() => log.of('ready', command.runId)[0], 'ready');
    // ready is reported only after the server listens
    const index = (kind: string) => log.reports.findIndex((r) => r.kind === kind && 'runId' in r && r.runId === command.runId);
    expect(log.lines(command.runId).some((l) => l.line === 'listening') || index('ready') > index('spawned')).toBe(true);
  });

  it('http: ready only on a 2xx from the path', async () => {
    const { log, supervisor } = supervise();
    const port = await freePort();
    const command = nodeSpawn(
      `let ok = false; setTimeout(() => { ok = true; console.log('now ok') }, 500);
       require('http').createServer((q, s) => { s.statusCode = q.url === '/health' && ok ? 200 : 503; s.end() }).listen(${port}, '127.0.0.1')`,
      { ready: { kind: 'http', port, path: '/health' } },
    );
    const spawnedAt = Date.now();
    supervisor.spawn(command);
    await waitFor(() => log.of('ready', command.runId)[0], 'ready');
    // The path answers 503 for the first 500 ms of the child's life, so ready cannot come sooner.
    // (Not "the 'now ok' line came first": output lines are batched, readiness is reported at once.)
    expect(Date.now() - spawnedAt).toBeGreaterThanOrEqual(500);
    await waitFor(() => log.lines(command.runId).some((l) => l.line === 'now ok'), 'the "now ok" line');
  });

  it('notify: ready when the process writes READY=1 to CORRAL_NOTIFY_FD', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn(
      `setTimeout(() => { console.log('fd=' + process.env.CORRAL_NOTIFY_FD); require('fs').writeSync(Number(process.env.CORRAL_NOTIFY_FD), 'STATUS=warming\\nREADY=1\\n') }, 300); setTimeout(() => {}, 30000)`,
      { ready: { kind: 'notify' } },
    );
    supervisor.spawn(command);
    await waitFor(() => log.of('ready', command.runId)[0], 'ready');
    await waitFor(() => log.lines(command.runId).some((l) => l.line === 'fd=3'), 'the fd line');
  });
});

describe('Supervisor: stop and signals', () => {
  it('stop escalates to SIGKILL after waitMs for a process trapping SIGTERM, and kills its whole group', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn(
      `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
       const child = require('child_process').spawn('sleep', ['300'], { stdio: 'ignore' });
       console.log('grandchild ' + child.pid); setInterval(() => {}, 1000)`,
    );
    supervisor.spawn(command);
    const grandchild = Number(
      (await waitFor(() => log.lines(command.runId).find((l) => l.line.startsWith('grandchild')), 'grandchild')).line.split(' ')[1],
    );
    const pid = log.of('spawned', command.runId)[0]!.pid;
    const started = Date.now();
    await supervisor.stop({ kind: 'stop', tenant: 'acme', processKey: command.processKey, runId: command.runId, signal: 'SIGTERM', waitMs: 400 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    const exited = log.of('exited', command.runId)[0]!;
    expect(exited.signal).toBe('SIGKILL');
    expect(log.lines(command.runId).map((l) => l.line)).toContain('ignoring SIGTERM');
    expect(pidAlive(pid)).toBe(false);
    expect(pidAlive(grandchild)).toBe(false);
  });

  it('a graceful stop ends with the stop signal', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn('', { cmd: 'sleep', args: ['300'] });
    supervisor.spawn(command);
    const { pid } = await waitFor(() => log.of('spawned', command.runId)[0], 'spawned');
    await supervisor.stop({ kind: 'stop', tenant: 'acme', processKey: command.processKey, runId: command.runId, signal: 'SIGINT', waitMs: 5000 });
    expect(log.of('exited', command.runId)[0]!.signal).toBe('SIGINT');
    expect(pidAlive(pid)).toBe(false);
  });

  it('when the leader exits on its own, processes it left in its group are stopped too', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn(
      `const c = require('child_process').spawn('sleep', ['300'], { stdio: 'ignore', detached: false }); console.log('grandchild ' + c.pid); c.unref(); setTimeout(() => process.exit(0), 100)`,
      { stopWaitMs: 500 },
    );
    supervisor.spawn(command);
    const line = await waitFor(() => log.lines(command.runId).find((l) => l.line.startsWith('grandchild')), 'grandchild');
    const grandchild = Number(line.line.split(' ')[1]);
    await waitFor(() => log.of('exited', command.runId)[0], 'exited');
    await waitFor(() => !pidAlive(grandchild), 'grandchild gone', 5000);
  });

  it('signal sends one signal to the leader; unknown signal names are rejected', async () => {
    const { log, supervisor } = supervise();
    const command = nodeSpawn(`process.on('SIGUSR1', () => console.log('got usr1')); setInterval(() => {}, 1000)`);
    supervisor.spawn(command);
    await waitFor(() => log.of('spawned', command.runId)[0], 'spawned');
    await new Promise((resolve) => setTimeout(resolve, 200)); // let node install its handler
    const target = { kind: 'signal' as const, tenant: 'acme', processKey: command.processKey, runId: command.runId };
    expect(() => supervisor.signal({ ...target, signal: 'SIGNOPE' })).toThrow(/unknown signal "SIGNOPE"/);
    expect(supervisor.signal({ ...target, signal: 'SIGUSR1' })).toBe(true);
    await waitFor(() => log.lines(command.runId).some((l) => l.line === 'got usr1'), 'handler output');
    expect(supervisor.signal({ ...target, runId: 'nope', signal: 'SIGUSR1' })).toBe(false);
  });
});

describe('Supervisor: stats', () => {
  it('samples CPU% and RSS from /proc and puts the last sample into exited.usage', async () => {
    const { log, supervisor } = supervise({ statsIntervalMs: 200 });
    // burn CPU time, not wall time: the shared test machine may be very busy
    const command = nodeSpawn(`const b = Buffer.alloc(64 * 1024 * 1024, 1); while (process.cpuUsage().user < 400000) {}`);
    supervisor.spawn(command);
    const exited = await waitFor(() => log.of('exited', command.runId)[0], 'exited', 60_000);
    const samples = log.of('stats').flatMap((r) => r.samples).filter((s) => s.runId === command.runId);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...samples.map((s) => s.cpu))).toBeGreaterThan(5);
    expect(Math.max(...samples.map((s) => s.rss))).toBeGreaterThan(64 * 1024 * 1024);
    expect(exited.usage).not.toBeNull();
    expect(exited.usage!.cpuUserMs + exited.usage!.cpuSystemMs).toBeGreaterThan(100);
    expect(exited.usage!.maxRssBytes).toBeGreaterThan(64 * 1024 * 1024);
  });
});
