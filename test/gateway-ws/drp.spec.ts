import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, isObject, startHarness, waitForEngine, type Harness } from './harness.js';
import { SCENARIO, runScenario } from './scenario.js';

// Digital Rebar's register/deregister protocol and filter language over /api/v3/ws, on real
// state changes folded by the real projection engine (seeds/002).
let h: Harness;
let admin: string;
beforeAll(async () => {
  h = await startHarness();
  admin = await h.token({ '*': 'admin' }, 'root');
});
afterAll(async () => {
  await h?.close();
});

const drp = (token: string): Promise<TestClient> => TestClient.open(`${h.wsUrl}/api/v3/ws?token=${encodeURIComponent(token)}`);

/** Which scenario steps each specifier must deliver, as Digital Rebar documents them. */
const CASES: [string, string[]][] = [
  ['processes.*.*', ['A3', 'A4', 'A5', 'A6', 'A7', 'A14', 'U3', 'U4']],
  ['processes,jobs.spawn,complete.*', ['A4', 'A7', 'A13', 'U4']],
  ['processes.*.acme:web:0', ['A3', 'A4', 'A5', 'A14']],
  ['processes.start,spawn.acme:web:1,umbrella:web:0', ['A6', 'A7', 'U3', 'U4']],
  ['watcher_processes.*.acme:web', ['A3', 'A4', 'A5', 'A6', 'A7', 'A14']],
  ['minion_jobs.*.acme:host1', ['A11', 'A12', 'A13']],
  ['processes.*.*.state=Eq("running")', ['A4', 'A5', 'A7', 'U4']],
  ['processes.*.*.state=Ne("running")', ['A3', 'A6', 'A14', 'U3']],
  ['processes.*.*.pid=Exists()', ['A3', 'A4', 'A5', 'A6', 'A7', 'A14', 'U3', 'U4']],
  ['processes.*.*.nothere=Exists()', []],
  ['processes.*.*.state=In("starting","exited")', ['A3', 'A6', 'A14', 'U3']],
  ['processes.*.*.state=Nin("starting","exited")', ['A4', 'A5', 'A7', 'U4']],
  ['jobs.*.*.fun=Re("^cmd\\\\.")', ['U5', 'U6']],
  ['jobs.*.*./minions/host1/retcode=Eq(0)', ['A12', 'A13']],
  ['minions.*.*.grains.os=Eq("linux")', ['A9']],
  ['processes.*.*.And(state=Eq("running"),pid=Eq(100))', ['A4', 'A5']],
  ['processes.*.*.Or(state=Eq("exited"),pid=Eq(101))', ['A7', 'A14']],
  ['processes.*.*.Not(state=Eq("running"))', ['A3', 'A6', 'A14', 'U3']],
  // Changed: with Object and Original both present, false when equal or missing; else true unless `to` says otherwise
  ['processes.*.*.state=Changed()', ['A3', 'A4', 'A6', 'A7', 'A14', 'U3', 'U4']],
  ['processes.*.*.state=Changed("starting","running")', ['A4', 'A7', 'U4']],
  ['processes.*.*.state=Changed(,"exited")', ['A14']],
  ['processes.*.*.state=Changed("running")', ['A3', 'A6', 'A14', 'U3']],
  ['*.*.*', SCENARIO.map((s) => s.label)],
];

describe('Digital Rebar /api/v3/ws', () => {
  it('every filter term, comma lists, *, minion_jobs, watcher_processes and Changed on real state changes', async () => {
    const clients: TestClient[] = [];
    for (const [specifier] of CASES) {
      const client = await drp(admin);
      client.send(`register ${specifier}`);
      clients.push(client);
    }
    // one socket with overlapping registers: each event once
    const overlap = await drp(admin);
    overlap.send('register processes.*.*');
    overlap.send('register processes.spawn.*');
    overlap.send('register processes.*.*');
    // registers take effect when the hub has the members (there is no register reply in DRP)
    const expectedMembers = clients.length + 1;
    const deadline = Date.now() + 10_000;
    while (h.protocols.registry.all().filter((c) => c.kind === 'drp' && c.members.size > 0).length < expectedMembers) {
      if (Date.now() > deadline) throw new Error('registers did not take effect');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const positions = await runScenario(h.store);
    await waitForEngine(h.engine, Math.max(...positions.values()));
    const labelOf = new Map([...positions].map(([label, position]) => [position, label]));
    const stepOf = new Map(SCENARIO.map((s) => [s.label, s]));

    for (const [index, [specifier, expected]] of CASES.entries()) {
      const client = clients[index]!;
      const last = expected.at(-1);
      if (last) await client.until((ms) => ms.some((m) => isObject(m) && m.Key === stepOf.get(last)!.event.key && m.Action === stepOf.get(last)!.event.action), 10_000, `${specifier} -> ${last}`);
      const events = client.messages.filter((m): m is Record<string, unknown> => isObject(m) && m.Type !== 'connections' && 'Time' in m);
      // map by order: the n-th event of a (type, action, key) is the n-th such step
      const seen = new Map<string, number>();
      const labels = events.map((m) => {
        const id = `${m.Type}.${m.Action}.${m.Key}`;
        const n = seen.get(id) ?? 0;
        seen.set(id, n + 1);
        return SCENARIO.filter((s) => `${s.event.type}.${s.event.action}.${s.event.key}` === id)[n]?.label ?? `?${id}`;
      });
      expect(labels, specifier).toEqual(expected);
      for (const event of events) {
        expect(Object.keys(event).sort(), specifier).toEqual(['Action', 'Key', 'Object', 'Original', 'Principal', 'Time', 'Type']);
        expect(event.Principal).toBe('scenario');
      }
    }
    expect(labelOf.size).toBe(SCENARIO.length);

    const overlapLabels = overlap.messages.filter((m) => isObject(m) && m.Type === 'processes').length;
    expect(overlapLabels).toBe(8);
    // deregister one of two identical registers: still registered; then the rest
    overlap.send('deregister processes.*.*');
    overlap.send('deregister processes.*.*');
    overlap.send('deregister processes.spawn.*');
    overlap.send('deregister processes.*.*');
    const error = await overlap.find({ Type: 'deregister', Code: 400 });
    expect((error.Messages as string[])[0]).toMatch(/does not correspond to a previous register/);
    for (const client of [...clients, overlap]) client.close();
  });

  it('connections.create/destroy.<principal> events, ?token=user:password, and errors for bad commands', async () => {
    const watcher = await drp(admin);
    watcher.send('register connections.create,destroy.alice');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const deadline = Date.now() + 5000;
    while (!h.protocols.registry.all().some((c) => c.kind === 'drp' && c.members.size > 0 && c.principal.subject === 'root')) {
      if (Date.now() > deadline) throw new Error('register did not take effect');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const alice = await drp('alice:alice-pw');
    const created = await watcher.find({ Type: 'connections', Action: 'create' });
    expect(created).toMatchObject({ Key: 'alice', Principal: 'alice' });
    expect((created.Object as Record<string, unknown>).kind).toBe('drp');
    alice.send('register processes.*');
    const bad = await alice.find({ Type: 'register', Code: 400 });
    expect(bad.Position).toBe(11);
    alice.send('subscribe everything');
    await alice.find({ Type: 'command', Code: 400 });
    alice.close();
    expect(await watcher.find({ Type: 'connections', Action: 'destroy' })).toMatchObject({ Key: 'alice' });
    watcher.close();
    await expect(drp('alice:wrong')).rejects.toMatchObject({ status: 401 });
    await expect(drp('nonsense')).rejects.toMatchObject({ status: 401 });
  });
});
