// The command socket (`<dataDir>/corral.sock`): JSON lines, owner-only, clear errors.
import { createConnection } from 'node:net';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CorralError } from '../../store/index.js';
import { openControlSocket, sendControlCommand, CONTROL_SOCKET, type ControlSocket } from '../../ops/ctl/index.js';
import { makeTempDir, removeTempDirs, waitFor } from '../support/index.js';

const log = pino({ level: 'silent' });
const sockets: ControlSocket[] = [];
afterAll(async () => {
  for (const socket of sockets) await socket.close();
  removeTempDirs();
});

const handlers = {
  echo: (args: Record<string, unknown>) => ({ echoed: args }),
  missing: () => {
    throw new CorralError('not-found', 'tenant ghost does not exist');
  },
  slow: async (args: Record<string, unknown>) => {
    await new Promise((resolve) => setTimeout(resolve, Number(args.ms)));
    return args.ms;
  },
};

/** Writes raw lines and collects `count` answer lines. */
function exchange(path: string, text: string, count: number): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n').filter(Boolean);
      if (lines.length >= count) {
        socket.end();
        resolve(lines.map((line) => JSON.parse(line) as Record<string, unknown>));
      }
    });
    socket.on('error', reject);
  });
}

describe('command socket', () => {
  it('answers JSON lines in order, only to its owner (mode 0600), with clear errors', async () => {
    const dir = makeTempDir('corral-ctl-');
    const control = await openControlSocket(join(dir, CONTROL_SOCKET), handlers, log);
    sockets.push(control);
    expect(statSync(control.path).mode & 0o777).toBe(0o600);
    expect(await sendControlCommand(dir, 'echo', { a: 1 })).toEqual({ echoed: { a: 1 } });
    await expect(sendControlCommand(dir, 'missing')).rejects.toThrow('tenant ghost does not exist');
    await expect(sendControlCommand(dir, 'nope')).rejects.toThrow(/unknown command "nope": expected one of echo, missing, slow/);
    const answers = await exchange(
      control.path,
      '{"id":1,"cmd":"slow","args":{"ms":50}}\nnot json\n{"id":3,"cmd":"slow","args":{"ms":1}}\n{"id":4,"cmd":"echo","args":[1]}\n',
      4,
    );
    expect(answers[0]).toEqual({ id: 1, ok: true, result: 50 });
    expect(answers[1]).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(answers[2]).toEqual({ id: 3, ok: true, result: 1 });
    expect(answers[3]).toMatchObject({ id: 4, ok: false, error: { message: 'args must be an object' } });
  });

  it('waits for a live holder to release the path, refuses to replace a non-socket, and says when no server runs', async () => {
    const dir = makeTempDir('corral-ctl-');
    const first = await openControlSocket(join(dir, CONTROL_SOCKET), { ...handlers, who: () => 'first' }, log);
    // a second live server on the same data directory waits for the path; it binds once the first closes
    const second = await openControlSocket(join(dir, CONTROL_SOCKET), { ...handlers, who: () => 'second' }, log, 50);
    sockets.push(second);
    expect(second.bound).toBe(false);
    expect(await sendControlCommand(dir, 'who')).toBe('first');
    await first.close();
    await waitFor(() => second.bound, { description: 'the second server to bind' });
    expect(await sendControlCommand(dir, 'who')).toBe('second');
    expect(statSync(second.path).mode & 0o777).toBe(0o600);
    // (a file left by a crashed server is replaced at once: test/supervision/restart-and-config.spec.ts)

    const other = makeTempDir('corral-ctl-');
    writeFileSync(join(other, CONTROL_SOCKET), 'not a socket');
    await expect(openControlSocket(join(other, CONTROL_SOCKET), handlers, log)).rejects.toThrow(/is not a socket/);
    await expect(sendControlCommand(makeTempDir('corral-ctl-'), 'status')).rejects.toThrow(/no server is running on data directory/);
  });
});
