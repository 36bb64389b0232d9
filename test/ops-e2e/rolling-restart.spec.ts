// Issue 7 must-shows: a rolling restart (`corral ctl restart --rolling`) and a rolling
// upgrade from model API 1 to 2, each under load: 10 managed processes writing 1,000 log
// events/s, 100 websocket clients streaming them, HTTP probes. No client misses or repeats
// an event, no managed process restarts (same pids), and failed HTTP requests are counted
// (target zero). `CORRAL_OPS_E2E_SCALE` scales the rate and client count down for small
// machines; the must-show size is the default (1).
import { afterAll, describe, expect, it } from 'vitest';
import { readNodeRecord } from '../../ops/rolling/index.js';
import { httpJson, removeTempDirs, runCorral, waitFor } from '../support/index.js';
import { CLIENTS, EVENTS_PER_SECOND, rollingRestartUnderLoad, startLoadedServer, type RestartUnderLoad } from './rolling-load.js';
import { adminToken, cleanupCorral, LOAD_SCALE, serverPid } from './support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 120_000);

function summary(name: string, run: RestartUnderLoad): string {
  const { restart, probes } = run;
  return (
    `${name}: ${run.events} events in (${run.window.from}, ${run.window.to}] at ${EVENTS_PER_SECOND}/s to ${CLIENTS} clients (scale ${LOAD_SCALE}); ` +
    `successor ready after ${restart.readyMs} ms, hand-over ${restart.handoverMs} ms; ` +
    `HTTP fresh connections ${probes.fresh.ok} ok / ${probes.fresh.failed} failed, kept-alive ${probes.keepAlive.ok} ok / ${probes.keepAlive.failed} failed, ` +
    `commands (job POSTs) ${probes.commands.ok} ok / ${probes.commands.failed} failed` +
    (probes.fresh.failures.length + probes.keepAlive.failures.length + probes.commands.failures.length > 0
      ? `\n  failures: ${[...probes.fresh.failures, ...probes.keepAlive.failures, ...probes.commands.failures].join('\n  ')}`
      : '')
  );
}

const runs: Record<string, RestartUnderLoad> = {};

/**
 * Zero failed requests, on fresh connections and on kept-alive ones. The old node closes its
 * listen socket first (new connections reach the successor on the shared port) and drains:
 * a request on a kept-alive connection is still served, with `Connection: close`, so the
 * client's next request reaches the successor. A 503, a connection error or a timeout fails.
 */
function expectHttpAnswered(run: RestartUnderLoad): void {
  expect(run.probes.fresh.failed, run.probes.fresh.failures.join('\n')).toBe(0);
  expect(run.probes.keepAlive.failed, run.probes.keepAlive.failures.join('\n')).toBe(0);
  expect(run.probes.commands.failed, run.probes.commands.failures.join('\n')).toBe(0);
  expect(run.probes.commands.ok, 'commands accepted').toBeGreaterThan(0);
  expect(run.probes.keepAlive.ok, 'kept-alive requests answered').toBeGreaterThan(0);
}

describe('rolling restart under load (docs/operations.md "Rolling restart on one machine")', () => {
  it('hands over to a successor on the same port: every client gets every event once, processes keep their pids, HTTP answers', async () => {
    const server = await startLoadedServer();
    const run = await rollingRestartUnderLoad(server);
    runs.restart = run;
    console.log(summary('rolling restart', run));
    expect(run.restart.successor.modelApiMax).toBe(2);
    expectHttpAnswered(run);
  }, 300_000);

  it('rolling upgrade from --model-api-max 1 to a model API 2 node: same guarantees, the system model API rises, the old binary is refused', async () => {
    const server = await startLoadedServer(['--model-api-max', '1']);
    const token = adminToken(server.dataDir);
    expect(((await httpJson(`${server.url}/api/v1/info`, { token })).body as { modelApi: unknown }).modelApi).toEqual({ system: 1, min: 1, max: 1 });
    // The successor: the same flags without the pin (what a new binary started with its defaults does).
    const own = readNodeRecord(server.dataDir, server.pid)!.command!.argv.slice(2);
    const pin = own.indexOf('--model-api-max');
    const serveArgs = [...own.slice(0, pin), ...own.slice(pin + 2)];
    const run = await rollingRestartUnderLoad(server, serveArgs);
    runs.upgrade = run;
    console.log(summary('rolling upgrade', run));
    expect(run.restart.old.modelApiMax).toBe(1);
    expect(run.restart.successor.modelApiMax).toBe(2);
    expectHttpAnswered(run);

    // The old node unregistered: the system model API rises to 2 on the successor.
    await waitFor(
      async () => ((await httpJson(`${server.url}/api/v1/info`, { token })).body as { modelApi: { system: number } }).modelApi.system === 2,
      { timeoutMs: 30_000, description: 'the system model API to rise to 2' },
    );
    // The old binary (pinned to 1) may no longer join.
    const refused = await runCorral(['serve', '--port', String(server.port), '--data-dir', server.dataDir, '--no-local-minion', '--model-api-max', '1'], { timeoutMs: 60_000 });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/model API/i);
    expect(serverPid(server.dataDir)).toBe(run.restart.successor.pid);
  }, 300_000);

  // The managed processes' output goes minion -> /minion hub -> store. The old server
  // acknowledges what it stored before it closes the minion's socket, and a report resent
  // anyway (an ack lost on the way) is stored once: the minion numbers each run's lines.
  it('no managed process output line is lost or stored twice across the hand-overs', () => {
    expect(Object.keys(runs), 'the runs above').toEqual(['restart', 'upgrade']);
    for (const [name, run] of Object.entries(runs)) {
      expect(run.lines.gaps, `${name}: lines lost`).toEqual([]);
      expect(run.lines.repeats, `${name}: lines stored twice`).toEqual([]);
    }
  });
});
