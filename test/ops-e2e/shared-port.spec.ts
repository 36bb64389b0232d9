// Port sharing between `corral serve` processes (docs/operations.md "Rolling restart on one machine"): two servers of one data
// directory share a port and the kernel spreads connections over both; a port held by any
// other program, or by a corral server of another data directory, is refused.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callNode, type NodeStatus } from '../../ops/rolling/index.js';
import { makeTempDir, removeTempDirs, runCorral, waitFor } from '../support/index.js';
import { cleanupCorral, freePort, startCorral } from './support.js';

afterAll(async () => {
  await cleanupCorral();
  removeTempDirs();
}, 60_000);

/** `corral_http_requests_total` of one process, read over its own command socket. */
async function requestsServed(dataDir: string, pid: number): Promise<number> {
  const { text } = (await callNode(join(dataDir, 'nodes', `${pid}.sock`), 'metrics')) as { text: string };
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('corral_http_requests_total{') && line.includes('route="/health/live"')) total += Number(line.split(' ').pop());
  }
  return total;
}

describe('shared port', () => {
  it('a second server of the same data directory joins the port once ready, and the kernel spreads connections over both', async () => {
    const port = await freePort();
    const first = await startCorral({ localMinion: false, args: ['--port', String(port)] });
    expect(first.port).toBe(port);
    const second = await startCorral({ localMinion: false, dataDir: first.dataDir, args: ['--port', String(port)] });
    expect(second.port).toBe(port);
    expect(second.logs()).toContain(`port ${port} is served by corral ${first.pid} on this data directory: joining it once ready`);

    const status = (await callNode(join(first.dataDir, 'nodes', `${second.pid}.sock`), 'status')) as NodeStatus;
    expect(status).toMatchObject({ pid: second.pid, port, ready: true, state: 'running' });

    // Fresh connections (no keep-alive): each one is hashed to one of the two listeners.
    const before = [await requestsServed(first.dataDir, first.pid), await requestsServed(first.dataDir, second.pid)];
    await waitFor(
      async () => {
        for (let i = 0; i < 20; i++) {
          const response = await fetch(`http://127.0.0.1:${port}/health/live`, { headers: { connection: 'close' } });
          expect(response.status).toBe(200);
        }
        const after = [await requestsServed(first.dataDir, first.pid), await requestsServed(first.dataDir, second.pid)];
        return after[0]! > before[0]! && after[1]! > before[1]!;
      },
      { timeoutMs: 20_000, description: 'both servers to answer connections on the shared port' },
    );
    expect((await second.stop()).code).toBe(0);
    // the first still serves the port alone
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    expect((await first.stop()).code).toBe(0);
  }, 120_000);

  it('refuses a port held by a program that is not corral, even one that set SO_REUSEPORT', async () => {
    const port = await freePort();
    // uWebSockets.js sets SO_REUSEPORT like corral does: the bind alone would succeed.
    const stranger = spawn(
      process.execPath,
      ['-e', `const uWS = require('uWebSockets.js'); uWS.App().get('/*', (res) => res.end('not corral')).listen('127.0.0.1', ${port}, (s) => console.log(s ? 'listening' : 'failed'));`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        stranger.stdout!.on('data', (chunk: Buffer) => (chunk.toString().includes('listening') ? resolve() : reject(new Error(chunk.toString()))));
      });
      const result = await runCorral(['serve', '--port', String(port), '--data-dir', makeTempDir('corral-shared-'), '--no-local-minion'], { timeoutMs: 30_000 });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use by a program that is not a corral server of data directory`);
    } finally {
      stranger.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses a port held by a corral server of another data directory', async () => {
    const port = await freePort();
    const other = await startCorral({ localMinion: false, args: ['--port', String(port)] });
    const dataDir = makeTempDir('corral-shared-');
    const result = await runCorral(['serve', '--port', String(port), '--data-dir', dataDir, '--no-local-minion'], { timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(`is already in use by a program that is not a corral server of data directory ${dataDir}`);
    expect((await fetch(`${other.url}/health/ready`)).status).toBe(200);
    expect((await other.stop()).code).toBe(0);
  }, 60_000);
});
