import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CORRAL_BIN, REPO_ROOT, makeTempDir, removeTempDirs, runCorral, startServerProcess, waitFor } from '../support/index.js';

// Issue 15 item 6: the admin token (admin on every tenant, valid for a year) went to stdout
// at every start, so into journald, container logs and whatever ships them. It is printed
// only to a terminal; a log gets the path of the token file instead.

afterAll(removeTempDirs);

describe('the admin token stays out of the server log', () => {
  it('a server whose stdout is not a terminal logs where the token file is, never the token, at every start', async () => {
    let dataDir: string | undefined;
    for (const start of ['first start', 'restart']) {
      // with the local minion, which reads the token file to connect
      const server = await startServerProcess({ localMinion: true, ...(dataDir ? { dataDir } : {}) });
      dataDir = server.dataDir;
      const tokenFile = join(server.dataDir, 'admin.token');
      try {
        await waitFor(() => server.logs().includes(tokenFile), { description: `the token file path in the log (${start})` });
        await waitFor(() => server.logs().includes('"msg":"minion connected"'), { description: 'the local minion connected (with the token from the file)' });
        const token = readFileSync(tokenFile, 'utf8').trim();
        expect(token).toBe(server.token);
        expect(server.logs(), start).not.toContain(token);
        // a token's signature alone is enough to recognise it in a log
        expect(server.logs(), start).not.toContain(token.split('.')[2]);
        expect(server.logs()).toContain(`console: ${server.url}/ (sign in with the admin token in ${tokenFile})`);
      } finally {
        expect((await server.stop()).code).toBe(0);
      }
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(server.logs(), start).not.toContain(token);
      // the local minion's own log (it reads the token file to connect)
      expect(readFileSync(join(server.dataDir, 'minion.log'), 'utf8'), start).not.toContain(token);
    }
  });

  it('with auth: none the log names the console URL and no token either', async () => {
    const server = await startServerProcess({ config: { auth: 'none' } });
    try {
      await waitFor(() => server.logs().includes(`console: ${server.url}/`), { description: 'the console URL in the log' });
      expect(server.logs()).not.toContain(server.token);
    } finally {
      await server.stop();
    }
  });

  it('on a terminal the console URL with the token is printed, like Jupyter', async () => {
    const dataDir = makeTempDir('corral-tty-');
    // `script` gives the server a pseudo-terminal as stdout.
    const command = [process.execPath, CORRAL_BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--no-local-minion'].map((arg) => `'${arg}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const url = await waitFor(() => (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { url: string }).url, { timeoutMs: 20_000, description: 'server.json' });
      const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
      await waitFor(() => output.includes(`${url}/?token=${token}`), { description: `the console URL with the token on the terminal; got ${output}` });
    } finally {
      expect((await runCorral(['ctl', 'stop', '--data-dir', dataDir])).code).toBe(0);
      await exited;
    }
  });
});
