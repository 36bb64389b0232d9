import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrongExpectedRevisionError } from '../../store/index.js';
import { Subject } from 'rxjs';
import { encode as packMsg } from 'msgpackr';
import { TestClient, appendLogs, isObject, startHarness, waitForEngine, type Harness } from './harness.js';
import type { CommandTable } from '../../gateway/ws/index.js';

const calls: { name: string; tenant: string; args: unknown; expectedRevision: unknown }[] = [];
const commands: CommandTable = async (name, tenant, args, _principal, expectedRevision) => {
  calls.push({ name, tenant, args, expectedRevision });
  if (expectedRevision === 41) throw new WrongExpectedRevisionError(`watcher-${tenant}:web`, 41, 42);
  return { positions: [7, 8] };
};
const modelApi$ = new Subject<number>();

let h: Harness;
let admin: string;
let acmeReader: string;

beforeAll(async () => {
  h = await startHarness({ commands, modelApi$ });
  admin = await h.token({ '*': 'admin' }, 'root');
  acmeReader = await h.token({ acme: 'read' }, 'reader');
});
afterAll(async () => {
  await h?.close();
});

async function waitForCondition(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const open = (token: string, protocols?: string[]): Promise<TestClient> => TestClient.open(`${h.wsUrl}/ws?token=${token}`, { protocols });

describe('native /ws', () => {
  it('sub from now delivers live events; unsub stops them; ping answers pong with the position', async () => {
    const client = await open(admin);
    client.send({ op: 'sub', id: 's1', select: 'logs.*.*' });
    const subscribed = await client.find({ op: 'subscribed', id: 's1' });
    expect(subscribed.position).toBe(h.engine.position);
    const last = await appendLogs(h.store, 'acme', 5, 5);
    await client.until(() => client.events('s1').length === 5);
    const event = client.events('s1')[4]!;
    expect(event).toMatchObject({ op: 'event', sub: 's1', pos: last, type: 'logs', action: 'line', key: 'acme:web:0', tenant: 'acme' });
    expect(typeof event.time).toBe('string');
    expect(new Date(event.time as string).toISOString()).toBe(event.time);
    client.send({ op: 'unsub', id: 's1' });
    await client.find({ op: 'unsubscribed', id: 's1' });
    await appendLogs(h.store, 'acme', 3, 3);
    client.send({ op: 'ping', id: 'p' });
    const pong = await client.find({ op: 'pong', id: 'p' });
    expect(pong.position).toBe(h.engine.position);
    expect(client.events('s1')).toHaveLength(5);
    client.close();
  });

  it('replays history from a position, announces live, then continues live (no gap, no duplicate) under concurrent appends', async () => {
    const start = h.engine.position;
    await appendLogs(h.store, 'acme', 3000, 50);
    const client = await open(admin);
    client.send({ op: 'sub', id: 'h', select: 'logs.*.*', from: start, batch: true });
    // appends keep coming while the history is replayed
    const writer = appendLogs(h.store, 'acme', 3000, 10);
    await writer;
    const head = await h.store.headPosition();
    await client.until(() => client.events('h').at(-1)?.pos === head, 30_000, 'the last event');
    const positions = client.events('h').map((e) => e.pos as number);
    const expected = (await h.store.readAll({ after: start, limit: 100_000, types: ['logs'] })).map((e) => e.position);
    expect(positions).toEqual(expected);
    const live = client.messages.find((m) => isObject(m) && m.op === 'live') as Record<string, unknown>;
    expect(live).toBeDefined();
    client.close();
  });

  it('snapshot:true sends the matching objects at P, then the changes after P', async () => {
    await h.store.append('tenant-acme', [{ type: 'tenants', action: 'create', key: 'acme', tenant: 'acme', data: { name: 'acme', config: {} } }]).catch(() => undefined);
    await h.store.append('tenant-umbrella', [{ type: 'tenants', action: 'create', key: 'umbrella', tenant: 'umbrella', data: { name: 'umbrella', config: {} } }]).catch(() => undefined);
    await waitForEngine(h.engine, await h.store.headPosition());
    const client = await open(acmeReader);
    client.send({ op: 'sub', id: 'snap', select: 'tenants.*.*', snapshot: true });
    const snapshot = await client.find({ op: 'snapshot', id: 'snap' });
    const items = snapshot.items as Record<string, unknown>[];
    expect(items.map((i) => i.key)).toEqual(['acme']);
    expect(snapshot.position).toBe((await client.find({ op: 'subscribed', id: 'snap' })).position);
    client.close();
  });

  it('msgpack subprotocol: binary frames both ways', async () => {
    const client = await open(admin, ['corral.v1.msgpack']);
    expect(client.ws.protocol).toBe('corral.v1.msgpack');
    client.ws.send(packMsg({ op: 'sub', id: 'm', select: 'logs.*.*', batch: false }));
    await client.find({ op: 'subscribed', id: 'm' });
    await appendLogs(h.store, 'acme', 2, 2);
    await client.until(() => client.events('m').length === 2);
    client.ws.send(packMsg({ op: 'ping' }));
    await client.find({ op: 'pong' });
    client.close();
  });

  it('cmd: ack with positions, conflict with expected/actual, forbidden for a reader, validation errors name the field', async () => {
    const client = await open(admin);
    client.send({ op: 'cmd', id: 'c1', name: 'watchers.start', tenant: 'acme', args: { watcher: 'web' }, expectedRevision: 3 });
    expect(await client.find({ op: 'ack', id: 'c1' })).toMatchObject({ positions: [7, 8] });
    expect(calls.at(-1)).toEqual({ name: 'watchers.start', tenant: 'acme', args: { watcher: 'web' }, expectedRevision: 3 });
    client.send({ op: 'cmd', id: 'c2', name: 'watchers.start', tenant: 'acme', expectedRevision: 41 });
    const conflict = await client.find({ op: 'error', id: 'c2' });
    expect(conflict).toMatchObject({ code: 'conflict', expectedRevision: 41, currentRevision: 42 });
    client.send({ op: 'cmd', id: 'c3', name: 'watchers.start', tenant: 'Bad Tenant' });
    expect(await client.find({ op: 'error', id: 'c3' })).toMatchObject({ code: 'bad-request', field: 'tenant' });
    client.send({ op: 'cmd', id: 'c4', tenant: 'acme' });
    expect(await client.find({ op: 'error', id: 'c4' })).toMatchObject({ code: 'bad-request', field: 'name' });
    client.send({ op: 'cmd', id: 'c5', name: 'watchers.start', tenant: 'acme', expectedRevision: 'x' });
    expect(await client.find({ op: 'error', id: 'c5' })).toMatchObject({ field: 'expectedRevision' });
    client.close();
    const reader = await open(acmeReader);
    const before = calls.length;
    reader.send({ op: 'cmd', id: 'r1', name: 'watchers.start', tenant: 'acme' });
    expect(await reader.find({ op: 'error', id: 'r1' })).toMatchObject({ code: 'forbidden' });
    reader.send({ op: 'cmd', id: 'r2', name: 'jobs.create', tenant: 'umbrella' });
    expect(await reader.find({ op: 'error', id: 'r2' })).toMatchObject({ code: 'forbidden' });
    expect(calls.length).toBe(before);
    reader.close();
  });

  it('identical subscriptions share one delivery group (one evaluation and one encoding per change)', async () => {
    const before = h.protocols.hub.groupCount;
    const clients = await Promise.all(Array.from({ length: 30 }, () => open(acmeReader)));
    for (const [i, client] of clients.entries()) client.send({ op: 'sub', id: 'shared', select: i % 2 ? 'logs.*.*' : 'logs.*.*', batch: true });
    await Promise.all(clients.map((client) => client.find({ op: 'subscribed', id: 'shared' })));
    expect(h.protocols.hub.groupCount).toBe(before + 1);
    const other = await open(admin); // another tenant scope: another group
    other.send({ op: 'sub', id: 'shared', select: 'logs.*.*', batch: true });
    await other.find({ op: 'subscribed' });
    expect(h.protocols.hub.groupCount).toBe(before + 2);
    const last = await appendLogs(h.store, 'acme', 10, 10);
    await Promise.all(clients.map((client) => client.until(() => client.events('shared').at(-1)?.pos === last)));
    for (const client of [...clients, other]) client.close();
    await waitForCondition(() => h.protocols.hub.groupCount === before);
  });

  it('modelApi changes are pushed to native clients', async () => {
    const client = await open(admin);
    modelApi$.next(3);
    expect(await client.find({ op: 'modelApi' })).toEqual({ op: 'modelApi', system: 3 });
    client.close();
  });

  it('auth: no token closes with 4001, a token in the subprotocol list works, a bad subprotocol is refused', async () => {
    const anonymous = await TestClient.open(`${h.wsUrl}/ws`);
    expect((await anonymous.waitClosed()).code).toBe(4001);
    const bad = await TestClient.open(`${h.wsUrl}/ws?token=not-a-jwt`);
    expect((await bad.waitClosed()).code).toBe(4001);
    const viaProtocol = await TestClient.open(`${h.wsUrl}/ws`, { protocols: ['corral.v1.json', `corral.token.${admin}`] });
    expect(viaProtocol.ws.protocol).toBe('corral.v1.json');
    viaProtocol.send({ op: 'ping', id: 'x' });
    await viaProtocol.find({ op: 'pong', id: 'x' });
    viaProtocol.close();
    await expect(TestClient.open(`${h.wsUrl}/ws?token=${admin}`, { protocols: ['graphql-ws'] })).rejects.toMatchObject({ status: 400 });
  });
});
