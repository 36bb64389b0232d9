import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CORRAL_BIN, REPO_ROOT, httpJson, startServerProcess, waitFor, type ServerProcess } from '../support/index.js';
import { launchBrowser, openPage, screenshot } from './browser.js';
import { TcpProxy } from './tcp-proxy.js';

// Must show (issue 8), against a real `corral serve` with its local minion and a second
// minion, real OS processes and the embedded store, driven in headless Chromium.

const CONFIG = {
  tenants: {
    acme: {
      watchers: {
        sleeper: {
          cmd: process.execPath,
          args: ['-e', "setInterval(() => console.log('tick', process.pid), 500)"],
          numprocesses: 2,
          restart: { delayMs: 200, minAliveMs: 500, maxRetries: 20 },
          stopSignal: 'SIGTERM',
          stopWaitMs: 2000,
        },
      },
    },
  },
};


let server: ServerProcess;
let proxy: TcpProxy;
let browser: Browser;
let extraMinion: ChildProcess | null = null;
let page: Page;
let problems: string[];

function startExtraMinion(url: string, token: string): ChildProcess {
  const child = spawn(process.execPath, [CORRAL_BIN, 'minion', '--server', url, '--token', token, '--id', 'extra', '--tenant', 'acme', '--grain', 'role=extra'], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
  });
  return child;
}

beforeAll(async () => {
  server = await startServerProcess({ config: CONFIG, localMinion: true });
  proxy = await TcpProxy.start(server.port);
  extraMinion = startExtraMinion(server.url, server.token);
  browser = await launchBrowser();
  ({ page, problems } = await openPage(browser));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (extraMinion && extraMinion.exitCode === null) extraMinion.kill('SIGTERM');
  await proxy?.close();
  await server?.stop();
});

const processState = (id: string): Promise<string | null> => page.getByTestId(`process-state-${id}`).textContent();
const processPid = (id: string): Promise<string | null> => page.getByTestId(`process-pid-${id}`).textContent();

describe('console against corral serve', () => {
  it(`logs in with the admin token the log points to`, async () => {
    // The log (not a terminal) names the token file instead of printing the token (README "Authentication").
    const tokenFile = await waitFor(() => /"tokenFile":"([^"]+)"/.exec(server.logs())?.[1], { description: 'the token file in the server log' });
    const printed = `${server.url}/?token=${readFileSync(tokenFile, 'utf8').trim()}`;
    // The console URL, reached through the proxy (so the restart flow below keeps the same address).
    await page.goto(printed.replace(server.url, proxy.url));
    await page.getByTestId('watcher-sleeper').waitFor();
    expect(page.url()).not.toContain('token=');
    await expect.poll(() => processState('sleeper:0'), { timeout: 20_000 }).toBe('running');
    await expect.poll(() => processState('sleeper:1'), { timeout: 20_000 }).toBe('running');
    await screenshot(page, 'e2e-watchers');
  });

  it(`draws live CPU and memory sparklines from the minion samples`, async () => {
    // samples every second, published live (stored at most once a minute)
    await expect.poll(async () => Number(await page.getByTestId('process-rss-sleeper:1').getAttribute('data-samples')), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('process-rss-sleeper:1').locator('xpath=..').textContent()).toMatch(/\d+(\.\d)? MiB/);
  });

  it(`toggles a watcher and sees its processes stop and start`, async () => {
    await page.getByTestId('watcher-toggle-sleeper').click();
    await expect.poll(() => page.getByTestId('watcher-toggle-sleeper').textContent()).toBe('inactive');
    await expect.poll(() => processState('sleeper:0'), { timeout: 20_000 }).toBe('stopped');
    await expect.poll(() => processState('sleeper:1'), { timeout: 20_000 }).toBe('stopped');
    await page.getByTestId('watcher-toggle-sleeper').click();
    await expect.poll(() => page.getByTestId('watcher-toggle-sleeper').textContent()).toBe('active');
    await expect.poll(() => processState('sleeper:0'), { timeout: 20_000 }).toBe('running');
    await expect.poll(() => processState('sleeper:1'), { timeout: 20_000 }).toBe('running');
  });

  it(`kills a process and sees it restart`, async () => {
    const before = await processPid('sleeper:0');
    expect(before).toMatch(/^\d+$/);
    const restartsBefore = Number(await page.getByTestId('process-restarts-sleeper:0').textContent());
    await page.getByTestId('process-signal-sleeper:0').selectOption('SIGKILL');
    await page.getByTestId('process-kill-sleeper:0').click();
    await expect.poll(async () => (await processPid('sleeper:0')) !== before && (await processState('sleeper:0')) === 'running', { timeout: 20_000 }).toBe(true);
    expect(Number(await page.getByTestId('process-restarts-sleeper:0').textContent())).toBeGreaterThan(restartsBefore);
    // the process page: live log tail of the new process
    await page.getByTestId('process-link-sleeper:0').click();
    await expect.poll(() => page.getByTestId('log-lines').locator('.log-line').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await screenshot(page, 'e2e-process');
    await page.getByTestId('nav-watchers').click();
  });

  it(`runs cmd.run on all minions and sees each return`, async () => {
    await page.getByTestId('nav-minions').click();
    await expect.poll(() => page.getByTestId('minion-state-extra').textContent(), { timeout: 20_000 }).toBe('connected');
    const minions = await page.getByTestId('minion-rows').locator('tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')!.split(':')[1]!));
    expect(minions.length).toBeGreaterThanOrEqual(2);
    await page.getByTestId('nav-jobs').click();
    await page.getByTestId('job-tgt').fill('*');
    await page.getByTestId('job-tgt-type').selectOption('glob');
    await page.getByTestId('job-fun').fill('cmd.run');
    await page.getByTestId('job-args').fill('echo hello-from-console');
    await page.getByTestId('job-run').click();
    await page.getByTestId('job-detail-jid').waitFor();
    for (const minion of minions) {
      await expect.poll(() => page.getByTestId(`job-return-${minion}`).getAttribute('data-state'), { timeout: 20_000 }).toBe('returned');
      expect(await page.getByTestId(`job-return-value-${minion}`).textContent()).toContain('hello-from-console');
    }
    await screenshot(page, 'e2e-jobs');
  });

  it(`types a bad filter and sees the error`, async () => {
    await page.getByTestId('nav-events').click();
    await page.getByTestId('events-filter').fill('state=Eq("running") And');
    await page.getByTestId('events-apply').click();
    await page.getByTestId('events-filter-error').waitFor();
    expect(await page.getByTestId('events-filter-error').textContent()).toMatch(/at character \d+/);
    await page.getByTestId('events-filter').fill('state=Eq("running")');
    await page.getByTestId('events-select').fill('processes.*.*');
    await page.getByTestId('events-apply').click();
    await page.getByTestId('events-filter-error').waitFor({ state: 'hidden' });
  });

  it(`moves the time-travel control and sees an earlier state`, async () => {
    const head = (await httpJson(`${server.url}/api/v1/tenants/acme/views/watchers`, { token: server.token })).body;
    expect(head.items[0].numprocesses).toBe(2);
    await page.getByTestId('nav-watchers').click();
    await page.getByTestId('watcher-scale-up-sleeper').click();
    await expect.poll(() => page.getByTestId('watcher-numprocesses-sleeper').textContent()).toBe('3');
    await page.getByTestId('nav-history').click();
    await expect.poll(() => page.getByTestId('tt-row-sleeper').locator('[data-field=numprocesses]').textContent()).toBe('3');
    await page.getByTestId('tt-slider').fill(String(head.position));
    await expect.poll(() => page.getByTestId('tt-as-of').getAttribute('data-position')).toBe(String(head.position));
    expect(await page.getByTestId('tt-row-sleeper').locator('[data-field=numprocesses]').textContent()).toBe('2');
    await screenshot(page, 'e2e-time-travel');
  });

  it(`stops and restarts the server and the console resumes by itself`, async () => {
    await page.getByTestId('nav-watchers').click();
    await page.getByTestId('connection-status').filter({ hasText: 'live' }).waitFor();
    const dataDir = server.dataDir;
    const pidBefore = Number(await processPid('sleeper:0'));
    await server.stop();
    proxy.setTarget(null);
    await page.getByTestId('connection-banner').filter({ hasText: 'reconnecting' }).waitFor();
    await screenshot(page, 'e2e-reconnecting');
    server = await startServerProcess({ config: CONFIG, localMinion: true, dataDir });
    proxy.setTarget(server.port);
    await page.getByTestId('connection-banner').waitFor({ state: 'hidden', timeout: 30_000 });
    // The graceful stop ended the local minion and its processes; the new server's local
    // minion runs new ones. Their pids arrive over the resumed subscriptions and must match
    // what the server itself reports (the console shows no stale object).
    const livePid = async (): Promise<number | null> => {
      const items = (await httpJson(`${server.url}/api/v1/tenants/acme/processes`, { token: server.token })).body.items as { key: string; pid: number | null; state: string }[];
      const slot = items.find((p) => p.key === 'acme:sleeper:0');
      return slot && slot.state === 'running' && slot.pid !== pidBefore ? slot.pid : null;
    };
    await expect.poll(livePid, { timeout: 30_000 }).not.toBeNull();
    const pid = (await livePid())!;
    await expect.poll(async () => Number(await processPid('sleeper:0')), { timeout: 30_000 }).toBe(pid);
    expect(await processState('sleeper:0')).toBe('running');
    expect(problems.filter((p) => !/WebSocket|ERR_CONNECTION|Failed to load resource/.test(p))).toEqual([]);
  });
});
