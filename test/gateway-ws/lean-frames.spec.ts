import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { TestClient, isObject, startHarness, waitForEngine, type Harness } from './harness.js';
import { SCENARIO } from './scenario.js';

// Issue 16 item 2: a log line's native frame carried the line three times over (`data`,
// `object` = key + data, `original`: null). Native frames of `logs` now carry `data` only
// unless the subscription asks for `"objects": true` (README, the native protocol); Digital
// Rebar's `Object`/`Original` are unchanged. The 300-byte bound holds for this frame (a
// 13-character key, a low position, no `seq`); with a minion's numbered lines and 7-digit
// positions the frame is about 312 bytes (bench-results/frames.md).
let h: Harness;
let token: string;
beforeAll(async () => {
  h = await startHarness();
  token = await h.token({ acme: 'read' }, 'reader');
});
afterAll(async () => {
  await h?.close();
});

/** 115 bytes, as in the measurement. */
const LINE = `${'GET /api/v1/tenants/acme/processes?limit=100 200 '.repeat(3)}`.slice(0, 115);
// a 7-digit pid: Linux's default pid_max is 4194304
const DATA = { pid: 4194303, fd: 'stdout', line: LINE };
const KEY = 'acme:writer:0';

/** A client that also keeps every message's raw bytes (the frames as sent). */
async function rawClient(url: string, protocols?: string[]): Promise<{ client: TestClient; raw: Buffer[] }> {
  const client = await TestClient.open(url, { protocols });
  const raw: Buffer[] = [];
  client.ws.on('message', (data: Buffer) => raw.push(Buffer.from(data)));
  return { client, raw };
}

const occurrences = (text: string, part: string): number => text.split(part).length - 1;

async function appendLine(): Promise<number> {
  const result = await h.store.append(`log-${KEY}`, [{ type: 'logs', action: 'line', key: KEY, tenant: 'acme', data: DATA }]);
  const position = result.positions[0]!;
  await waitForEngine(h.engine, position);
  return position;
}

describe('native frames of log lines', () => {
  it('carry a 115-byte line once, in at most 300 bytes; "objects": true restores object and original; DRP keeps Object/Original', async () => {
    expect(Buffer.byteLength(LINE)).toBe(115);
    const lean = await rawClient(`${h.wsUrl}/ws?token=${token}`);
    const full = await rawClient(`${h.wsUrl}/ws?token=${token}`);
    const packed = await rawClient(`${h.wsUrl}/ws?token=${token}`, ['corral.v1.msgpack']);
    const drp = await rawClient(`${h.wsUrl}/api/v3/ws?token=${token}`);
    lean.client.send({ op: 'sub', id: 's1', select: 'logs.line.*' });
    full.client.send({ op: 'sub', id: 's1', select: 'logs.line.*', objects: true });
    for (const { client } of [lean, full]) await client.find({ op: 'subscribed', id: 's1' });
    packed.client.ws.send(pack({ op: 'sub', id: 's1', select: 'logs.line.*' }), { binary: true });
    await packed.client.find({ op: 'subscribed', id: 's1' });
    drp.client.send(`register logs.line.${KEY}`);
    await waitForDrpMember();

    const position = await appendLine();
    for (const { client } of [lean, full, packed]) await client.until(() => client.events('s1').length === 1, 10_000, 'the log event');
    await drp.client.until((ms) => ms.some((m) => isObject(m) && m.Type === 'logs'), 10_000, 'the DRP event');

    const leanFrame = lean.raw.map(String).find((text) => text.includes('"op":"event"'))!;
    expect(Buffer.byteLength(leanFrame)).toBeLessThanOrEqual(300);
    expect(occurrences(leanFrame, LINE)).toBe(1);
    const leanEvent = JSON.parse(leanFrame) as Record<string, unknown>;
    expect(leanEvent).toEqual({ op: 'event', sub: 's1', pos: position, time: expect.any(String), type: 'logs', action: 'line', key: KEY, tenant: 'acme', data: DATA });

    const fullEvent = full.client.events('s1')[0]!;
    expect(fullEvent).toEqual({ ...leanEvent, object: { key: KEY, ...DATA }, original: null });

    const packedFrame = packed.raw.find((bytes) => isObject(unpack(bytes)) && (unpack(bytes) as Record<string, unknown>).op === 'event')!;
    expect(unpack(packedFrame)).toEqual(leanEvent);
    expect(packedFrame.byteLength).toBeLessThan(Buffer.byteLength(leanFrame));

    const drpEvent = drp.client.messages.find((m) => isObject(m) && m.Type === 'logs') as Record<string, unknown>;
    expect(drpEvent).toMatchObject({ Type: 'logs', Action: 'line', Key: KEY, Object: { key: KEY, ...DATA }, Original: null });
    expect(Object.keys(drpEvent)).toEqual(['Time', 'Type', 'Action', 'Key', 'Principal', 'Object', 'Original']);
    for (const { client } of [lean, full, packed, drp]) client.close();
  });

  it('batch frames are lean too, and subscriptions with and without objects do not share bytes', async () => {
    const lean = await rawClient(`${h.wsUrl}/ws?token=${token}`);
    const full = await rawClient(`${h.wsUrl}/ws?token=${token}`);
    // same id, same select, same batch: only the option differs
    lean.client.send({ op: 'sub', id: 'b', select: 'logs.*.*', batch: true });
    full.client.send({ op: 'sub', id: 'b', select: 'logs.*.*', batch: true, objects: true });
    for (const { client } of [lean, full]) await client.find({ op: 'subscribed', id: 'b' });
    await appendLine();
    for (const { client } of [lean, full]) await client.until(() => client.events('b').length === 1, 10_000, 'the log event');
    const leanFrame = lean.raw.map(String).find((text) => text.startsWith('['))!;
    expect(occurrences(leanFrame, LINE)).toBe(1);
    expect(lean.client.events('b')[0]).not.toHaveProperty('object');
    expect(full.client.events('b')[0]).toMatchObject({ object: { key: KEY, ...DATA }, original: null });
    for (const { client } of [lean, full]) client.close();
  });

  it('other types keep object and original; a bad "objects" is refused with a clear message', async () => {
    const client = await TestClient.open(`${h.wsUrl}/ws?token=${token}`);
    client.send({ op: 'sub', id: 'bad', select: 'logs.*.*', objects: 'yes' });
    expect(await client.find({ op: 'error', id: 'bad' })).toMatchObject({ code: 'bad-request', message: 'field "objects" must be true or false' });
    client.send({ op: 'sub', id: 'w', select: 'watchers.*.*' });
    await client.find({ op: 'subscribed', id: 'w' });
    const create = SCENARIO.find((step) => step.label === 'A2')!; // watchers.create acme:web
    const result = await h.store.append(create.stream, [create.event]);
    await waitForEngine(h.engine, result.positions[0]!);
    const event = await client.until(() => client.events('w')[0], 10_000, 'the watcher event');
    expect(event).toHaveProperty('object');
    expect(event).toHaveProperty('original', null);
    client.close();
  });
});

async function waitForDrpMember(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!h.protocols.registry.all().some((c) => c.kind === 'drp' && c.members.size > 0)) {
    if (Date.now() > deadline) throw new Error('the DRP register did not take effect');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
