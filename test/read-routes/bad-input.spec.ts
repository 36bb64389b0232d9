import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson } from '../support/index.js';
import { startReadHarness, twoTenantWorkload, type ReadHarness } from './harness.js';

// Bad input: a 400 that says what was wrong and where, and nothing read or changed.
const START = Math.floor(Date.now() / 1000) * 1000 - 86_400_000;
let clock = START;
let h: ReadHarness;
let head: number;
const get = (path: string) => httpJson(`${h.base}${path}`, { token: h.tokens.admin });
const q = encodeURIComponent;

beforeAll(async () => {
  h = await startReadHarness({ now: () => clock });
  clock += 1_000;
  await h.append(twoTenantWorkload().take(500));
  head = await h.store.headPosition();
});
afterAll(() => h?.close());

async function expect400(path: string, message: RegExp): Promise<any> {
  const response = await get(path);
  expect(response.status, `${path}: ${response.text}`).toBe(400);
  expect(response.body.error.code).toBe('bad-request');
  expect(response.body.error.message, path).toMatch(message);
  return response.body.error;
}

describe('malformed filters and specifiers', () => {
  it('?filter= on lists, views and events: 400 with the parse position', async () => {
    for (const base of ['/api/v1/tenants/tenant0/jobs', '/api/v1/tenants/tenant0/views/jobs', '/api/v1/tenants', '/api/v1/components', '/api/v1/tenants/tenant0/events']) {
      const error = await expect400(`${base}?filter=${q('state=Eq("complete"')}`, /^invalid filter: filter: expected .* at character 19/);
      expect(error).toMatchObject({ parameter: 'filter', position: 19 });
    }
    await expect400(`/api/v1/tenants/tenant0/jobs?filter=${q('state=Bogus(1)')}`, /at character 6/);
    await expect400(`/api/v1/tenants/tenant0/jobs?filter=${q('And(state=Eq(1),)')}`, /at character 16/);
    await expect400(`/api/v1/tenants/tenant0/jobs?filter=${q('name=Re("(")')}`, /invalid filter/);
  });

  it('?select= on events: 400 with the parse position', async () => {
    const error = await expect400(`/api/v1/tenants/tenant0/events?select=${q('jobs.create')}`, /^invalid select: specifier: expected .* at character 11/);
    expect(error).toMatchObject({ parameter: 'select', position: 11 });
    await expect400(`/api/v1/tenants/tenant0/events?select=${q('jobs.*.*.state=Eq(')}`, /invalid select: .*at character 18/);
    await expect400(`/api/v1/tenants/tenant0/events?select=${q('jobs. *.*')}`, /at character 5/);
  });
});

describe('views and time travel', () => {
  it('unknown views, and the history-less connections view', async () => {
    await expect400('/api/v1/tenants/tenant0/views/widgets', /^unknown view "widgets": expected one of tenants, watchers, processes, minions, jobs, components$/);
    await expect400('/api/v1/tenants/tenant0/views/connections', /live only .* GET \/api\/v1\/connections/);
  });

  it('at beyond the head, before the start, or unparseable', async () => {
    await expect400(`/api/v1/tenants/tenant0/views/jobs?at=${head + 1}`, new RegExp(`^at ${head + 1} is beyond the head of the log \\(${head}\\)$`));
    await expect400('/api/v1/tenants/tenant0/views/jobs?at=-1', /^at -1 is before the start of the log/);
    await expect400('/api/v1/tenants/tenant0/views/jobs?at=yesterday', /^invalid at "yesterday": expected a log position .* or an ISO 8601 time/);
    await expect400('/api/v1/tenants/tenant0/views/jobs?at=1.5', /^invalid at "1.5"/);
    await expect400('/api/v1/tenants/tenant0/views/jobs?at=2026-13-45T00:00:00Z', /^invalid at/);
    await expect400(`/api/v1/tenants/tenant0/views/jobs?at=${new Date(Date.now() + 3_600_000).toISOString()}`, /is beyond the head of the log: it is in the future/);
    await expect400(`/api/v1/tenants/tenant0/views/jobs?at=${new Date(START - 60_000).toISOString()}`, /is before the start of the log \(the first event was appended at /);
    await expect400(`/api/v1/tenants/tenant0/jobs?at=${head + 5}`, /beyond the head/);
  });

  it('unknown or malformed model versions', async () => {
    for (const path of ['/api/v1/tenants/tenant0/jobs', '/api/v1/tenants/tenant0/views/processes', '/api/v1/components', '/api/v1/tenants/tenant0/events', '/api/v1/tenants/tenant0/watchers/web0']) {
      await expect400(`${path}?model=3`, /^unknown model 3: this node serves model API 1\.\.2$/);
      await expect400(`${path}?model=0`, /^unknown model 0/);
      await expect400(`${path}?model=two`, /^invalid model "two"/);
    }
  });

  it('malformed ids in the path', async () => {
    await expect400('/api/v1/tenants/tenant0/processes/web0', /^invalid process id "web0": expected <watcher>:<slot>/);
    await expect400('/api/v1/tenants/tenant0/processes/Web:0', /^invalid watcher name "Web"/);
    await expect400('/api/v1/tenants/tenant0/jobs/123', /^invalid job id "123": must be 20 digits/);
    await expect400('/api/v1/tenants/tenant0/watchers/a.b', /^invalid watcher name "a.b"/);
    await expect400('/api/v1/tenants/tenant0/minions/-x', /^invalid minion name "-x"/);
    await expect400('/api/v1/tenants/Tenant0/jobs', /^invalid tenant name "Tenant0"/);
  });
});

describe('event history parameters', () => {
  it('from, limit and format', async () => {
    const base = '/api/v1/tenants/tenant0/events';
    await expect400(`${base}?from=${head + 1}`, new RegExp(`^from ${head + 1} is beyond the head of the log \\(${head}\\)$`));
    await expect400(`${base}?from=-3`, /^from -3 is before the start of the log/);
    await expect400(`${base}?from=soon`, /^invalid from "soon"/);
    await expect400(`${base}?from=${new Date(Date.now() + 3_600_000).toISOString()}`, /in the future/);
    await expect400(`${base}?limit=0`, /^invalid limit "0": expected an integer from 1 to 10000$/);
    await expect400(`${base}?limit=ten`, /^invalid limit "ten"/);
    await expect400(`${base}?limit=10001`, /^limit 10001 exceeds the maximum of 10000 per page: page on with `next`, or stream with Accept: application\/x-ndjson$/);
    await expect400(`${base}?format=xml`, /^invalid format "xml": expected json or ndjson$/);
    // a time before the first event simply starts at the beginning
    const early = await get(`${base}?from=${new Date(START - 60_000).toISOString()}&limit=1`);
    expect(early.body.from).toBe(0);
  });

  it('bad input reads nothing', async () => {
    const reads = h.routeReads.count;
    await expect400(`/api/v1/tenants/tenant0/events?select=${q('x')}`, /invalid select/);
    await expect400(`/api/v1/tenants/tenant0/events?filter=${q('(')}&limit=5`, /invalid filter/);
    await expect400('/api/v1/tenants/tenant0/views/jobs?at=nope', /invalid at/);
    expect(h.routeReads.count).toBe(reads);
    expect(await h.store.headPosition()).toBe(head);
  });
});
