import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, waitFor } from '../support/index.js';
import { appendLogLines, CONSOLE_USER, seedHistory, startConsoleHarness, type ConsoleHarness } from './harness.js';
import { launchBrowser, openPage, screenshot } from './browser.js';

// The console against an in-process node with a scripted history (real store, projections,
// read routes, native websocket): what it shows can be checked against known positions.
// The flows that need live OS processes and minions run against `corral serve` in
// console-e2e.spec.ts.

let h: ConsoleHarness;
let browser: Browser;
let admin: string;
let history: { afterWatchers: number; afterScale: number };

beforeAll(async () => {
  h = await startConsoleHarness();
  history = await seedHistory(h);
  await appendLogLines(h, 'acme', 'web', 0, Array.from({ length: 50 }, (_, i) => `retained line ${i}`));
  admin = await h.token({ '*': 'admin' }, 'admin');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(hash = '#/acme/watchers', token = admin): Promise<{ page: Page; problems: string[] }> {
  const opened = await openPage(browser);
  await opened.page.goto(`${h.url}/?token=${token}${hash}`);
  return opened;
}

describe('console on a scripted history', () => {
  it('logs in from the printed URL, hides the token, and renders the watchers', async () => {
    const { page, problems } = await signedIn();
    await page.getByTestId('watcher-web').waitFor();
    expect(page.url()).not.toContain('token=');
    expect(await page.evaluate(() => sessionStorage.getItem('corral.token'))).toBe(admin);
    // Recorded, not asserted (timed assertions flake on a loaded CI machine): the time from
    // navigation to the watchers on screen, for the report.
    const firstRenderMs = Math.round(await page.evaluate(() => performance.now()));
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-artifacts', 'console-first-render.json'), `${JSON.stringify({ firstRenderMs, at: new Date().toISOString() })}\n`);
    await expect.poll(() => page.getByTestId('watcher-processes-web').locator('tr').count()).toBe(2);
    expect(await page.getByTestId('watcher-toggle-web').textContent()).toBe('active');
    expect(await page.getByTestId('process-state-web:1').textContent()).toBe('running');
    expect(await page.getByTestId('process-pid-web:1').textContent()).toBe('4101');
    expect(await page.getByTestId('whoami').textContent()).toContain('admin');
    await screenshot(page, 'watchers');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('signs in a configured user, and hides what a reader may not do', async () => {
    const { page } = await openPage(browser);
    await page.goto(`${h.url}/`);
    await page.getByTestId('login-username').fill(CONSOLE_USER.name);
    await page.getByTestId('login-password').fill('wrong');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').textContent()).toMatch(/password|credentials|invalid/i);
    await screenshot(page, 'login');
    await page.getByTestId('login-password').fill(CONSOLE_USER.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('watcher-web').waitFor();
    expect(await page.getByTestId('whoami').textContent()).toContain('read');
    expect(await page.getByTestId('watcher-state-web').textContent()).toBe('active');
    expect(await page.getByTestId('watcher-toggle-web').count()).toBe(0);
    expect(await page.getByTestId('process-kill-web:0').count()).toBe(0);
    expect(await page.getByTestId('watcher-scale-up-web').count()).toBe(0);
    expect(await page.getByTestId('add-watcher-open').count()).toBe(0);
    // only its tenant is offered
    expect(await page.getByTestId('tenant-select').locator('option').allTextContents()).toEqual(['acme']);
    await page.context().close();
  });

  it('follows live changes: a stopped watcher, CPU and memory samples', async () => {
    const { page } = await signedIn();
    await page.getByTestId('watcher-worker').waitFor();
    await h.append('watcher-acme:worker', [{ type: 'watchers', action: 'stop', key: 'acme:worker', tenant: 'acme', data: {} }]);
    await expect.poll(() => page.getByTestId('watcher-toggle-worker').textContent()).toBe('inactive');
    for (let i = 1; i <= 5; i++) {
      await h.append('process-acme:web:0', [{ type: 'processes', action: 'stats', key: 'acme:web:0', tenant: 'acme', data: { pid: 4100, cpu: i * 10, rss: i * 1_000_000 } }]);
    }
    await expect.poll(async () => Number(await page.getByTestId('process-cpu-web:0').getAttribute('data-samples'))).toBeGreaterThanOrEqual(5);
    await page.context().close();
  });

  it('shows the parse error of a bad filter where it occurred', async () => {
    const { page } = await signedIn('#/acme/events');
    await page.getByTestId('events-filter').fill('state=Eq("running"');
    await page.getByTestId('events-apply').click();
    const error = page.getByTestId('events-filter-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/expected .* at character/);
    const caret = (await page.getByTestId('events-filter-caret').textContent())!.split('\n')[1]!;
    expect(caret.indexOf('^')).toBe('state=Eq("running"'.length);
    await screenshot(page, 'events-filter-error');
    // a bad specifier is shown under the specifier
    await page.getByTestId('events-filter').fill('');
    await page.getByTestId('events-select').fill('processes..*');
    await page.getByTestId('events-apply').click();
    await page.getByTestId('events-select-error').waitFor();
    expect(await page.getByTestId('events-filter-error').isHidden()).toBe(true);
    await page.context().close();
  });

  it('tails events with a filter, and pauses and resumes without losing one', async () => {
    const { page } = await signedIn('#/acme/events');
    await page.getByTestId('events-select').fill('logs.*.*');
    await page.getByTestId('events-apply').click();
    await page.getByTestId('events-status').filter({ hasText: 'live' }).waitFor();
    const first = await appendLogLines(h, 'acme', 'web', 0, ['tail a', 'tail b']);
    await expect.poll(() => page.locator(`[data-testid=event-row][data-pos="${first}"]`).count()).toBe(1);
    await page.getByTestId('events-pause').click();
    const heldFrom = first + 1;
    const last = await appendLogLines(h, 'acme', 'web', 0, Array.from({ length: 30 }, (_, i) => `while paused ${i}`));
    await expect.poll(() => page.getByTestId('events-status').textContent()).toBe('paused: 30 events held');
    expect(await page.locator(`[data-testid=event-row][data-pos="${last}"]`).count()).toBe(0);
    await page.getByTestId('events-pause').click();
    await expect.poll(() => page.locator(`[data-testid=event-row][data-pos="${last}"]`).count()).toBe(1);
    const positions = (await page.getByTestId('event-row').evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-pos')))))
      .filter((p) => p >= heldFrom)
      .sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 30 }, (_, i) => heldFrom + i));
    await screenshot(page, 'events');
    await page.context().close();
  });

  it('travels back in time: the slider shows a view as it was', async () => {
    const { page } = await signedIn('#/acme/history');
    await page.getByTestId('tt-row-web').waitFor();
    expect(await page.getByTestId('tt-row-web').locator('[data-field=numprocesses]').textContent()).toBe('2');
    await page.getByTestId('tt-position').fill(String(history.afterWatchers));
    await page.getByTestId('tt-position').dispatchEvent('change');
    await expect.poll(() => page.getByTestId('tt-as-of').getAttribute('data-position')).toBe(String(history.afterWatchers));
    expect(await page.getByTestId('tt-row-web').locator('[data-field=numprocesses]').textContent()).toBe('1');
    expect(await page.locator(`[data-testid=tt-event][data-pos="${history.afterWatchers}"]`).getAttribute('class')).toBe('current');
    await screenshot(page, 'time-travel');
    // the slider itself: all the way left is before the watchers existed
    await page.getByTestId('tt-slider').fill('1');
    await expect.poll(() => page.getByTestId('tt-as-of').getAttribute('data-position')).toBe('1');
    await page.getByTestId('tt-empty').waitFor();
    await page.context().close();
  });

  it('shows retained log lines, then live ones, with pause', async () => {
    const { page } = await signedIn('#/acme/process/web:0');
    await expect.poll(() => page.getByTestId('log-lines').locator('.log-line').count()).toBeGreaterThanOrEqual(50);
    expect(await page.getByTestId('log-lines').locator('.log-line').first().textContent()).toBe('retained line 0');
    await appendLogLines(h, 'acme', 'web', 0, ['a live line']);
    await page.getByTestId('log-lines').getByText('a live line').waitFor();
    await page.getByTestId('log-pause').click();
    await appendLogLines(h, 'acme', 'web', 0, ['held line']);
    await expect.poll(() => page.getByTestId('log-status').textContent()).toBe('paused: 1 new line waiting');
    await page.getByTestId('log-pause').click();
    await page.getByTestId('log-lines').getByText('held line').waitFor();
    await screenshot(page, 'process');
    await page.context().close();
  });

  it('shows minions with grains and a job with its returns, and filters the history', async () => {
    const jid = '20261123153646699137';
    await h.append(`job-acme:${jid}`, [
      { type: 'jobs', action: 'create', key: `acme:${jid}`, tenant: 'acme', data: { jid, fun: 'cmd.run', args: ['echo hi'], tgt: '*', tgtType: 'glob', timeoutMs: 10000, user: 'admin', startTime: Date.now(), timeoutAt: Date.now() + 10000 } },
      { type: 'jobs', action: 'dispatch', key: `acme:${jid}`, tenant: 'acme', data: { minions: ['host1'] } },
      { type: 'jobs', action: 'return', key: `acme:${jid}`, tenant: 'acme', data: { minion: 'host1', return: { stdout: 'hi', retcode: 0, stderr: '' }, retcode: 0, success: true, durationMs: 12 } },
    ]);
    const { page } = await signedIn('#/acme/minions');
    await expect.poll(() => page.getByTestId('minion-state-host1').textContent()).toBe('connected');
    expect(await page.getByTestId('minion-grains-host1').textContent()).toContain('"role": "web"');
    await screenshot(page, 'minions');
    await page.getByTestId('nav-jobs').click();
    await page.getByTestId(`job-${jid}`).click();
    await expect.poll(() => page.getByTestId('job-return-host1').getAttribute('data-state')).toBe('returned');
    expect(await page.getByTestId('job-return-value-host1').textContent()).toContain('"stdout": "hi"');
    await page.getByTestId('job-filter').fill('fun=Eq("test.ping")');
    await expect.poll(() => page.getByTestId(`job-${jid}`).count()).toBe(0);
    await page.getByTestId('job-filter').fill('fun=Eq("cmd.run")');
    await expect.poll(() => page.getByTestId(`job-${jid}`).count()).toBe(1);
    await page.getByTestId('job-filter').fill('fun=Eq(cmd.run)');
    await page.getByTestId('job-filter-error').waitFor();
    await screenshot(page, 'jobs');
    await page.context().close();
  });

  it('reconnects after a server restart with a banner, and resumes without missing an event', async () => {
    const { page } = await signedIn('#/acme/events');
    await page.getByTestId('events-select').fill('logs.*.*');
    await page.getByTestId('events-apply').click();
    await page.getByTestId('events-status').filter({ hasText: 'live' }).waitFor();
    await page.getByTestId('connection-status').filter({ hasText: 'live' }).waitFor();
    const restarted = h.restart(1500);
    await page.getByTestId('connection-banner').filter({ hasText: 'reconnecting' }).waitFor();
    // appended while no gateway listens: the console must get them by resuming
    const missed = await appendLogLines(h, 'acme', 'web', 0, ['while down 1', 'while down 2']);
    await restarted;
    await page.getByTestId('connection-banner').waitFor({ state: 'hidden' });
    await expect.poll(() => page.locator(`[data-testid=event-row][data-pos="${missed}"]`).count()).toBe(1);
    await expect.poll(() => page.locator(`[data-testid=event-row][data-pos="${missed - 1}"]`).count()).toBe(1);
    await waitFor(async () => (await page.getByTestId('connection-status').textContent()) === 'live');
    await page.context().close();
  });
});
