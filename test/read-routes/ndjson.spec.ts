import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventToAppend, RecordedEvent } from '../../store/index.js';
import type { RouteObservation } from '../../gateway/index.js';
import { waitFor } from '../support/index.js';
import { startReadHarness, twoTenantWorkload, type ReadHarness } from './harness.js';

// NDJSON export: 50,000+ events of one tenant, streamed with backpressure.
const TENANT0_LOG_EVENTS = 50_000;
const PADDING = 'x'.repeat(300);
let h: ReadHarness;
let expected: RecordedEvent[];
const observations: RouteObservation[] = [];

const logLine = (tenant: string, slot: number, n: number): EventToAppend => ({
  type: 'logs',
  action: 'line',
  key: `${tenant}:web0:${slot}`,
  tenant,
  data: { pid: 100 + slot, fd: n % 7 === 0 ? 'stderr' : 'stdout', line: `line ${n} ${PADDING}` },
});

beforeAll(async () => {
  h = await startReadHarness();
  h.gateway.router.observe((observation) => observations.push(observation));
  const workload = twoTenantWorkload(5);
  await h.append(workload.take(1_000));
  let n = 0;
  for (let batch = 0; n < TENANT0_LOG_EVENTS; batch++) {
    const slot = batch % 2;
    await h.store.append(`log-tenant0:web0:${slot}`, Array.from({ length: 500 }, () => logLine('tenant0', slot, n++)));
    await h.store.append(`log-tenant1:web0:${slot}`, Array.from({ length: 100 }, (_, i) => logLine('tenant1', slot, i)));
    if (batch % 10 === 0) await h.append(workload.take(50));
  }
  await h.settle();
  expected = (await h.store.readAll({ after: 0, limit: 10_000_000 })).filter((event) => event.tenant === 'tenant0');
}, 60_000);
afterAll(() => h?.close());

async function fetchNdjson(query: string, headers: Record<string, string> = { accept: 'application/x-ndjson' }) {
  const response = await fetch(`${h.base}/api/v1/tenants/tenant0/events${query}`, { headers: { authorization: `Bearer ${h.tokens.admin}`, ...headers } });
  const text = await response.text();
  return { response, text, lines: text === '' ? [] : text.slice(0, -1).split('\n') };
}

describe('NDJSON event export', () => {
  it('streams every event of the tenant, complete and in order, up to the head at request time', async () => {
    expect(expected.length).toBeGreaterThan(TENANT0_LOG_EVENTS);
    const head = await h.store.headPosition();
    const { response, text, lines } = await fetchNdjson('');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('x-corral-head')).toBe(String(head));
    expect(text.endsWith('\n')).toBe(true);
    expect(lines.length).toBe(expected.length);
    const events = lines.map((line) => JSON.parse(line));
    expect(events.map((event) => event.position)).toEqual(expected.map((event) => event.position));
    expect(events.every((event) => event.tenant === 'tenant0')).toBe(true);
    expect(events.at(-1)).toMatchObject({ id: expected.at(-1)!.id, data: expected.at(-1)!.data, time: new Date(expected.at(-1)!.time).toISOString() });
  });

  it('honours from, limit, select and filter; ?format=ndjson works without the Accept header', async () => {
    const from = expected[1_000]!.position;
    const { lines } = await fetchNdjson(`?format=ndjson&from=${from}&limit=12345&select=logs.line.*`, {});
    const logs = expected.filter((event) => event.position > from && event.type === 'logs').slice(0, 12_345);
    expect(lines.map((line) => JSON.parse(line).position)).toEqual(logs.map((event) => event.position));

    const filtered = await fetchNdjson(`?select=${encodeURIComponent('logs.*.tenant0:web0:1')}&filter=${encodeURIComponent('fd=Eq("stderr")')}`);
    const stderr = expected.filter((event) => event.type === 'logs' && event.key === 'tenant0:web0:1' && (event.data as any).fd === 'stderr');
    expect(stderr.length).toBeGreaterThan(1_000);
    expect(filtered.lines.map((line) => JSON.parse(line).position)).toEqual(stderr.map((event) => event.position));
  });

  it('an empty export is a 200 with no lines; bad input is still a JSON 400', async () => {
    const head = await h.store.headPosition();
    const empty = await fetchNdjson(`?from=${head}`);
    expect(empty.response.status).toBe(200);
    expect(empty.lines).toEqual([]);
    const bad = await fetchNdjson('?select=logs..x');
    expect(bad.response.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toMatch(/select: specifier: expected .* at character 5/);
  });

  it('a client that stops reading holds the scan (backpressure); one that goes away ends it', async () => {
    const pagesInLog = Math.ceil((await h.store.headPosition()) / h.engine.pageSize);
    const readsBefore = h.routeReads.count;
    const done = observations.length;
    let received = 0;
    const req = request(`${h.base}/api/v1/tenants/tenant0/events`, { headers: { authorization: `Bearer ${h.tokens.admin}`, accept: 'application/x-ndjson' } });
    req.on('response', (res) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        res.pause();
      });
    });
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => received > 0, { description: 'the first chunk' });
    // The server stops reading the store once the socket is full: the read count settles.
    let last = -1;
    let stableSince = Date.now();
    await waitFor(
      () => {
        const reads = h.routeReads.count - readsBefore;
        if (reads !== last) {
          last = reads;
          stableSince = Date.now();
        }
        return Date.now() - stableSince > 300;
      },
      { timeoutMs: 15_000, description: 'store reads to stop while the client does not read' },
    );
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(pagesInLog);
    expect(observations.length).toBe(done);
    req.destroy();
    await waitFor(() => observations.slice(done).some((o) => o.route === '/api/v1/tenants/:t/events'), { description: 'the stream handler to finish' });
    expect(h.routeReads.count - readsBefore).toBeLessThanOrEqual(last + 1);
  });
});
