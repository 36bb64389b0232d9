import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { httpJson, removeTempDirs, startServerProcess, waitFor, type ServerProcess } from '../support/index.js';
import { launchBrowser, openPage } from '../console/browser.js';

// Issue 15 item 8: the console page had no Content-Security-Policy and could be framed by any
// site (clickjacking its buttons, with the token in its URL).

let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  server = await startServerProcess({ config: { tenants: { acme: { watchers: { web: { cmd: 'sleep', args: ['300'], active: false } } } } } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  removeTempDirs();
});

describe('the console page', () => {
  it('is sent with a CSP that forbids framing and foreign sources, and X-Frame-Options: DENY', async () => {
    for (const path of ['/', '/index.html']) {
      const answer = await httpJson(`${server.url}${path}`);
      expect(answer.status).toBe(200);
      const csp = answer.headers.get('content-security-policy') ?? '';
      const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives['frame-ancestors']).toEqual(["'none'"]);
      expect(directives['default-src']).toEqual(["'self'"]);
      expect(directives['script-src']).toEqual(["'self'"]);
      expect(directives['object-src']).toEqual(["'none'"]);
      expect(directives['base-uri']).toEqual(["'none'"]);
      // websockets to this server only: the page's own host, not any ws: URL
      const { host } = new URL(server.url);
      expect(directives['connect-src']).toEqual(["'self'", `ws://${host}`, `wss://${host}`]);
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('a Host that could break out of the policy is not copied into it', async () => {
    const { request } = await import('node:http');
    const csp = await new Promise<string>((resolve, reject) => {
      const req = request(`${server.url}/`, { headers: { host: 'x; script-src *' } }, (res) => {
        res.resume();
        resolve(String(res.headers['content-security-policy'] ?? ''));
      });
      req.on('error', reject);
      req.end();
    });
    expect(csp).not.toContain('script-src *');
    expect(csp).toMatch(/connect-src 'self';/);
  });

  it('runs under its policy in Chromium without a violation, websocket included', async () => {
    const { page, problems } = await openPage(browser);
    await page.addInitScript(() => {
      (window as unknown as { violations: string[] }).violations = [];
      document.addEventListener('securitypolicyviolation', (event) =>
        (window as unknown as { violations: string[] }).violations.push(`${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    await page.goto(`${server.url}/?token=${server.token}`);
    await page.getByTestId('watcher-web').waitFor();
    // the websocket connected under connect-src
    await waitFor(async () => (await page.getByTestId('connection-status').textContent()) === 'live', { description: 'the console websocket is live' });
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
