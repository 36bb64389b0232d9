// The load of the rolling restart and rolling upgrade must-shows, and the checks after it:
// 10 managed processes writing `seq <n>` lines (1,000 log events/s in all), 100 websocket
// clients streaming them, HTTP probes (reads on fresh and on kept-alive connections, and
// commands: job POSTs, which a node that does not lead forwards to the one that does).
import { expect } from 'vitest';
import { runCorral, waitFor, type ServerProcess } from '../support/index.js';
import {
  adminToken,
  digestOf,
  freePort,
  head,
  HttpProbe,
  LOAD_SCALE,
  pidAlive,
  processes,
  seqAnomalies,
  serverPid,
  startCorral,
  storedEvents,
  StreamClients,
  tickerScript,
  waitRunning,
  type ProbeResult,
} from './support.js';

export const PROCESSES = 10;
export const EVENTS_PER_SECOND = Math.round(1000 * LOAD_SCALE);
export const CLIENTS = Math.max(5, Math.round(100 * LOAD_SCALE));
const SELECT = 'logs.*.*';

export async function startLoadedServer(args: string[] = []): Promise<ServerProcess> {
  // a fixed port: an ephemeral one (port 0) is never shared
  return startCorral({
    args: ['--port', String(await freePort()), ...args],
    env: { CORRAL_LEASE_TTL_MS: '5000' },
    config: {
      tenants: {
        acme: {
          watchers: {
            ticker: { cmd: process.execPath, args: ['-e', tickerScript(EVENTS_PER_SECOND / PROCESSES)], numprocesses: PROCESSES, logs: { maxLines: 100_000 } },
          },
        },
      },
    },
  });
}

export interface RestartUnderLoad {
  /** the `corral ctl restart --rolling` result */
  restart: { old: { pid: number; modelApiMax: number }; successor: { pid: number; modelApiMax: number; url: string }; readyMs: number; handoverMs: number };
  probes: { fresh: ProbeResult; keepAlive: ProbeResult; commands: ProbeResult };
  events: number;
  window: { from: number; to: number };
  /** `seq <n>` lines of the managed processes lost or stored twice on their way to the store */
  lines: { keys: number; gaps: string[]; repeats: string[] };
}

/**
 * Runs `corral ctl restart --rolling [-- serveArgs]` while the load runs, then checks the
 * must-show: every client got exactly the stored events, no managed process restarted, and
 * counts the HTTP requests that failed.
 */
export async function rollingRestartUnderLoad(server: ServerProcess, serveArgs?: string[]): Promise<RestartUnderLoad> {
  const { url, dataDir } = server;
  const token = adminToken(dataDir);
  const before = await waitRunning(url, token, 'acme', 'ticker', PROCESSES);
  const from = await head(url, token, 'acme');
  const clients = await StreamClients.start({ url, token, count: CLIENTS, select: SELECT, from });
  const fresh = new HttpProbe({ url, token, path: '/api/v1/tenants/acme/processes', keepAlive: false, intervalMs: 20 });
  const keepAlive = new HttpProbe({ url, token, path: '/api/v1/tenants/acme/watchers', keepAlive: true, intervalMs: 20 });
  const commands = new HttpProbe({ url, token, path: '/api/v1/tenants/acme/jobs', keepAlive: false, intervalMs: 20, body: { fun: 'test.ping', tgt: '*', timeoutMs: 10_000 } });
  try {
    // load before: a couple of seconds of events streaming to every client
    const warm = from + EVENTS_PER_SECOND * 2;
    await waitFor(async () => (await head(url, token, 'acme')) >= warm, { timeoutMs: 30_000, description: `the log to pass ${warm}` });

    const result = await runCorral(['ctl', '--data-dir', dataDir, 'restart', '--rolling', ...(serveArgs ? ['--', ...serveArgs] : [])], { timeoutMs: 180_000 });
    expect(result.code, `corral ctl restart --rolling failed:\n${result.stderr}\n${server.logs().slice(-4000)}`).toBe(0);
    const restart = JSON.parse(result.stdout) as RestartUnderLoad['restart'];
    expect(restart.old.pid).toBe(server.pid);
    expect(serverPid(dataDir)).toBe(restart.successor.pid);
    expect(pidAlive(server.pid)).toBe(false);
    expect((await server.exited).code).toBe(0);

    // load after: the successor ingests and streams (the minion reconnected to it)
    const afterRestart = await head(url, token, 'acme');
    const end = afterRestart + EVENTS_PER_SECOND * 2;
    await waitFor(async () => (await head(url, token, 'acme')) >= end, { timeoutMs: 60_000, description: `the log to pass ${end} on the successor` });
    const to = await head(url, token, 'acme');
    await clients.reach(to, 90_000);
    const probes = { fresh: await fresh.stop(), keepAlive: await keepAlive.stop(), commands: await commands.stop() };
    const reports = await clients.report(to);

    const stored = await storedEvents(url, token, 'acme', SELECT, from, to);
    const expected = digestOf(stored.map((event) => event.position));
    expect(stored.length).toBeGreaterThan(EVENTS_PER_SECOND * 3);
    const wrong = reports
      .map((report, index) => ({ index, count: report.count, violations: report.violations, errors: report.errors, digest: { count: report.count, sum: report.sum, hash: report.hash } }))
      .filter((client) => client.violations.length > 0 || client.errors.length > 0 || client.digest.count !== expected.count || client.digest.sum !== expected.sum || client.digest.hash !== expected.hash);
    expect(wrong, `clients that missed, repeated or reordered events (expected ${JSON.stringify(expected)})`).toEqual([]);
    // every client was closed by the old server with 1012 and resumed on the successor
    for (const report of reports) {
      expect(report.closes['1012'] ?? 0).toBeGreaterThanOrEqual(1);
      expect(report.subscriptions).toBeGreaterThanOrEqual(2);
    }

    const after = await processes(url, token, 'acme', 'ticker');
    expect(after.map((p) => [p.key, p.pid, p.restarts, p.state])).toEqual(before.map((p) => [p.key, p.pid, p.restarts, 'running']));
    for (const p of after) expect(pidAlive(p.pid)).toBe(true);

    // Not the clients' guarantee but the minion's: checked by a separate test from this run.
    const lines = seqAnomalies(stored);
    expect(lines.keys).toBe(PROCESSES);
    return { restart, probes, events: stored.length, window: { from, to }, lines };
  } finally {
    await fresh.stop();
    await keepAlive.stop();
    clients.exit();
  }
}
