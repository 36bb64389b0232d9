import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EventToAppend } from '../../store/index.js';
import { TestClient, startHarness, waitForEngine, type Harness } from './harness.js';

// Tenant isolation (issue 6 must-show): a token for tenant `acme` never receives anything of
// `umbrella` or `initech`, on /ws, /api/v3/ws, /all_events, /formatted_events and
// GET /api/v1/connections, whatever the events, specifiers and filters.
const OTHERS = ['umbrella', 'initech'];
const TENANTS = ['acme', ...OTHERS];

let h: Harness;
let acme: string;
let root: string;
let umbrellaUser: string;
beforeAll(async () => {
  h = await startHarness();
  acme = await h.token({ acme: 'read' }, 'acme-reader');
  root = await h.token({ '*': 'admin' }, 'root');
  umbrellaUser = await h.token({ umbrella: 'admin', initech: 'read' }, 'umbrella-user');
});
afterAll(async () => {
  await h?.close();
});

type Kind = 'log' | 'start' | 'spawn' | 'connect' | 'grains' | 'job' | 'dispatch';
const eventFor = (kind: Kind, tenant: string, n: number): { stream: string; event: EventToAppend } => {
  const jid = `2026112315364669${String(1000 + (n % 9000)).padStart(4, '0')}`;
  switch (kind) {
    case 'log':
      return { stream: `log-${tenant}:web:0`, event: { type: 'logs', action: 'line', key: `${tenant}:web:0`, tenant, data: { pid: 1, fd: 'stdout', line: `l${n}` } } };
    case 'start':
      return { stream: `process-${tenant}:web:0`, event: { type: 'processes', action: 'start', key: `${tenant}:web:0`, tenant, data: { watcher: 'web', slot: 0, minion: 'host1', runId: `r${n}` } } };
    case 'spawn':
      return { stream: `process-${tenant}:web:0`, event: { type: 'processes', action: 'spawn', key: `${tenant}:web:0`, tenant, data: { pid: n, minion: 'host1', runId: `r${n}`, startedAt: n } } };
    case 'connect':
      return { stream: `minion-${tenant}:host1`, event: { type: 'minions', action: 'connect', key: `${tenant}:host1`, tenant, data: { id: 'host1', version: '1', protocol: 1, connectedAt: n } } };
    case 'grains':
      return {
        stream: `minion-${tenant}:host1`,
        event: { type: 'minions', action: 'grains', key: `${tenant}:host1`, tenant, data: { grains: { os: 'linux', arch: 'x64', hostname: 'h', cpus: 1, memory: 1, nodeVersion: 'v20', n } } },
      };
    case 'job':
      return {
        stream: `job-${tenant}:${jid}`,
        event: { type: 'jobs', action: 'create', key: `${tenant}:${jid}`, tenant, data: { jid, fun: 'test.ping', args: [], tgt: '*', tgtType: 'glob', timeoutMs: 1000, user: 'u', timeoutAt: 1 } },
      };
    case 'dispatch':
      return { stream: `job-${tenant}:${jid}`, event: { type: 'jobs', action: 'dispatch', key: `${tenant}:${jid}`, tenant, data: { minions: ['host1'] } } };
  }
};

const arbEvent = fc.record({
  kind: fc.constantFrom<Kind>('log', 'start', 'spawn', 'connect', 'grains', 'job', 'dispatch'),
  tenant: fc.constantFrom(...TENANTS),
});
const arbList = (values: string[]) => fc.oneof(fc.constant('*'), fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }).map((v) => v.join(',')));
const arbSpecifier = fc
  .tuple(
    arbList(['logs', 'processes', 'minions', 'jobs', 'connections', 'tenants', 'minion_jobs', 'watcher_processes']),
    arbList(['line', 'start', 'spawn', 'connect', 'grains', 'create', 'dispatch', 'destroy']),
    fc.oneof(fc.constant('*'), fc.constantFrom(...TENANTS).chain((t) => fc.constantFrom(`${t}:web:0`, `${t}:host1`, `${t}:web`, `${t}`))),
    fc.constantFrom('', '.state=Eq("running")', '.Not(pid=Eq(3))', '.key=Re("a")', '.Or(tenant=Eq("umbrella"),tenant=Eq("acme"))', '.grains.os=Exists()', '.state=Changed()'),
  )
  .map(([types, actions, keys, filter]) => `${types}.${actions}.${keys}${filter}`);

/** Another tenant's name in a frame, ignoring the client's own specifiers echoed back (subscription lists, parse errors). */
const leaks = (text: string, own: readonly string[]): string | undefined => {
  let scrubbed = text;
  for (const specifier of own) for (const form of [specifier, JSON.stringify(specifier).slice(1, -1)]) scrubbed = scrubbed.split(form).join('');
  return OTHERS.find((other) => scrubbed.includes(other));
};

it('a token for acme never receives another tenant’s data on any protocol', async () => {
  let counter = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(arbEvent, { minLength: 1, maxLength: 25 }), fc.array(arbSpecifier, { minLength: 1, maxLength: 4 }), async (events, specifiers) => {
      const raw: { where: string; text: string }[] = [];
      const record = (where: string, client: TestClient): void => {
        client.ws.on('message', (data: Buffer) => raw.push({ where, text: data.toString('utf8') }));
      };
      const native = await TestClient.open(`${h.wsUrl}/ws?token=${acme}`);
      record('/ws', native);
      specifiers.forEach((select, i) => native.send({ op: 'sub', id: `s${i}`, select, snapshot: i === 0, from: i === 1 ? 'start' : 'now' }));
      const drp = await TestClient.open(`${h.wsUrl}/api/v3/ws?token=${acme}`);
      record('/api/v3/ws', drp);
      for (const specifier of specifiers) drp.send(`register ${specifier}`);
      drp.send('register minions.grains.acme:sentinel');
      const all = await TestClient.open(`${h.wsUrl}/all_events/${acme}`);
      record('/all_events', all);
      all.send('websocket client ready');
      const formatted = await TestClient.open(`${h.wsUrl}/formatted_events/${acme}`);
      record('/formatted_events', formatted);
      formatted.send('websocket client ready');
      // other principals connect and leave while it runs: their connection events are not acme's
      const others = [await TestClient.open(`${h.wsUrl}/ws?token=${root}`), await TestClient.open(`${h.wsUrl}/api/v3/ws?token=${umbrellaUser}`)];
      await native.until(() => native.messages.filter((m) => (m as { op?: string }).op === 'subscribed' || (m as { op?: string }).op === 'error').length === specifiers.length);
      await waitForMembers();

      for (const { kind, tenant } of events) {
        const { stream, event } = eventFor(kind, tenant, ++counter);
        await h.store.append(stream, [event]);
      }
      const connections = await fetch(`${h.url}/api/v1/connections`, { headers: { authorization: `Bearer ${acme}` } });
      const connectionsText = await connections.text();
      expect(connections.status).toBe(200);
      expect(JSON.parse(connectionsText).length).toBeGreaterThanOrEqual(4);
      for (const other of others) other.close();
      // a sentinel every acme stream shows; /ws is flushed by a ping (replies are ordered after events)
      const sentinel = await h.store.append('minion-acme:sentinel', [
        { type: 'minions', action: 'grains', key: 'acme:sentinel', tenant: 'acme', data: { grains: { os: 'linux', arch: 'x64', hostname: 's', cpus: 1, memory: 1, nodeVersion: 'v20' } } },
      ]);
      await waitForEngine(h.engine, sentinel.positions[0]!);
      native.send({ op: 'ping', id: 'flush' });
      await native.find({ op: 'pong', id: 'flush' });
      for (const client of [drp, all, formatted]) await client.until((ms) => JSON.stringify(ms).includes('sentinel'), 10_000, 'the sentinel');
      for (const client of [native, drp, all, formatted]) client.close();

      const connectionsSeen = JSON.stringify((JSON.parse(connectionsText) as Record<string, unknown>[]).map(({ subscriptions: _own, ...rest }) => rest));
      expect(leaks(connectionsSeen, specifiers), `GET /api/v1/connections: ${connectionsText}`).toBeUndefined();
      for (const { where, text } of raw) expect(leaks(text, specifiers), `${where}: ${text.slice(0, 300)}`).toBeUndefined();
      // and the acme events did arrive on the firehose
      const acmeEvents = events.filter((e) => e.tenant === 'acme').length;
      expect(raw.filter((r) => r.where === '/all_events' && r.text.includes('"tag":"corral/') && !r.text.includes('/connections/')).length).toBeGreaterThanOrEqual(acmeEvents + 1);
    }),
    { numRuns: 15, seed: 6 },
  );
}, 120_000);

async function waitForMembers(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pending = h.protocols.registry.all().filter((c) => c.principal.subject === 'acme-reader' && c.members.size === 0 && c.kind !== 'ws');
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error('subscriptions did not take effect');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
