import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../projections/index.js';
import { httpJson } from '../support/index.js';
import { startReadHarness, twoTenantWorkload, type ReadHarness } from './harness.js';

let h: ReadHarness;
const get = (path: string, token: string = h.tokens.admin) => httpJson(`${h.base}${path}`, { token });
const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const LIST_VIEWS = ['watchers', 'processes', 'minions', 'jobs'] as const;

beforeAll(async () => {
  h = await startReadHarness();
  await h.append(twoTenantWorkload().take(4_000));
});
afterAll(() => h?.close());

/** What the engine itself says, sorted as the routes sort. */
async function engineView(view: string, tenant: string, model?: number): Promise<any[]> {
  return ((await h.engine.view(view, { tenant, ...(model ? { model } : {}) })) as any[]).slice().sort(byKey);
}

describe('view lists', () => {
  it('GET /api/v1/tenants lists the tenants the principal can see, with the position the list reflects', async () => {
    const all = await get('/api/v1/tenants');
    expect(all.status).toBe(200);
    expect(all.body.view).toBe('tenants');
    expect(all.body.items.map((t: any) => t.key)).toEqual(['tenant0', 'tenant1']);
    expect(all.body.position).toBe(h.engine.position);
    expect(all.body.model).toBe(2);
    expect(all.headers.get('x-corral-position')).toBe(String(h.engine.position));
    expect((await get('/api/v1/tenants', h.tokens.tenant0)).body.items.map((t: any) => t.key)).toEqual(['tenant0']);
    expect((await get('/api/v1/tenants', h.tokens.tenant1)).body.items.map((t: any) => t.key)).toEqual(['tenant1']);
    expect((await get('/api/v1/tenants', h.tokens.nothing)).body.items).toEqual([]);
  });

  it('each tenant list equals the engine view of that tenant, sorted by key', async () => {
    for (const tenant of ['tenant0', 'tenant1']) {
      for (const view of LIST_VIEWS) {
        const response = await get(`/api/v1/tenants/${tenant}/${view}`, tenant === 'tenant0' ? h.tokens.tenant0 : h.tokens.tenant1);
        expect(response.status, `${tenant} ${view}`).toBe(200);
        const expected = await engineView(view, tenant);
        expect(expected.length, `${tenant} ${view} is not empty`).toBeGreaterThan(0);
        expect(response.body.items).toEqual(expected);
        expect(response.body.items.every((item: any) => item.tenant === tenant)).toBe(true);
      }
    }
  });

  it('?filter= evaluates the filter language against each object', async () => {
    const jobs = await engineView('jobs', 'tenant0');
    const complete = await get('/api/v1/tenants/tenant0/jobs?filter=' + encodeURIComponent('state=Eq("complete")'));
    expect(complete.body.items.length).toBeGreaterThan(0);
    expect(complete.body.items).toEqual(jobs.filter((job) => job.state === 'complete'));
    const notComplete = await get('/api/v1/tenants/tenant0/jobs?filter=' + encodeURIComponent('Not(state=Eq("complete"))'));
    expect(complete.body.items.length + notComplete.body.items.length).toBe(jobs.length);

    const filter = 'And(/grains/os=Eq("linux"),id=Re("^host[01]$"))';
    const minions = await get(`/api/v1/tenants/tenant1/minions?filter=${encodeURIComponent(filter)}`, h.tokens.tenant1);
    expect(minions.body.items.map((m: any) => m.id)).toEqual(['host0', 'host1']);

    const running = await get('/api/v1/tenants/tenant0/processes?filter=' + encodeURIComponent('state=In("running","starting")'));
    const predicate = compileFilter('state=In("running","starting")');
    const expected = (await engineView('processes', 'tenant0')).filter((object) => predicate({ object, original: null } as any));
    expect(running.body.items).toEqual(expected);
  });

  it('?model=1 serves the model-API-1 shapes (processes without lastExit)', async () => {
    const v2 = await get('/api/v1/tenants/tenant0/processes');
    const v1 = await get('/api/v1/tenants/tenant0/processes?model=1');
    expect(v1.body.model).toBe(1);
    expect(v2.body.items.some((p: any) => 'lastExit' in p)).toBe(true);
    expect(v1.body.items.some((p: any) => 'lastExit' in p)).toBe(false);
    expect(v1.body.items).toEqual(await engineView('processes', 'tenant0', 1));
  });
});

describe('single objects', () => {
  it('ids in the path are keys without the tenant', async () => {
    const cases = [
      { path: 'watchers/web0', view: 'watchers', key: 'tenant0:web0' },
      { path: 'processes/web0:1', view: 'processes', key: 'tenant0:web0:1' },
      { path: 'minions/host2', view: 'minions', key: 'tenant0:host2' },
    ];
    const [job] = await engineView('jobs', 'tenant0');
    cases.push({ path: `jobs/${job.jid}`, view: 'jobs', key: job.key });
    for (const { path, view, key } of cases) {
      const response = await get(`/api/v1/tenants/tenant0/${path}`, h.tokens.tenant0);
      expect(response.status, path).toBe(200);
      expect(response.body).toEqual(h.engine.get(view, key));
    }
    const v1 = await get('/api/v1/tenants/tenant0/processes/web0:1?model=1');
    expect('lastExit' in v1.body).toBe(false);
  });

  it('an unknown object is a 404 that names it', async () => {
    const cases = ['watchers/nope', 'processes/web0:99', 'minions/zz', 'jobs/20991231235959000000'];
    for (const path of cases) {
      const response = await get(`/api/v1/tenants/tenant0/${path}`);
      expect(response.status, path).toBe(404);
      expect(response.body.error.code).toBe('not-found');
      expect(response.body.error.message).toMatch(/^(watcher|process|minion|job) \S+ in tenant tenant0 not found/);
    }
  });
});

describe('tenant isolation', () => {
  it('a token for tenant0 gets 403 on every tenant1 route, and never sees tenant1 objects', async () => {
    const [job] = await engineView('jobs', 'tenant1');
    const paths = [
      'watchers', 'watchers/web0', 'processes', 'processes/web0:0', 'minions', 'minions/host0', 'jobs', `jobs/${job.jid}`,
      'views/jobs', 'views/tenants', 'views/components', 'views/jobs?at=1', 'events', 'events?format=ndjson',
    ];
    for (const path of paths) {
      const response = await get(`/api/v1/tenants/tenant1/${path}`, h.tokens.tenant0);
      expect(response.status, path).toBe(403);
      expect(response.text).not.toContain('tenant1:');
    }
    for (const view of [...LIST_VIEWS, 'tenants']) {
      const response = await get(`/api/v1/tenants/tenant0/views/${view}`, h.tokens.tenant0);
      expect(response.status).toBe(200);
      expect(response.text).not.toContain('tenant1');
    }
  });

  it('a filter cannot widen the scope', async () => {
    const response = await get('/api/v1/tenants/tenant0/jobs?filter=' + encodeURIComponent('tenant=Eq("tenant1")'), h.tokens.tenant0);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([]);
  });
});

describe('views and components', () => {
  it('/views/{view} serves every folded view, scoped to the tenant', async () => {
    for (const view of ['tenants', ...LIST_VIEWS]) {
      const response = await get(`/api/v1/tenants/tenant1/views/${view}`, h.tokens.tenant1);
      expect(response.status, view).toBe(200);
      expect(response.body.view).toBe(view);
      expect(response.body.items).toEqual(await engineView(view, 'tenant1'));
    }
    const components = await get('/api/v1/tenants/tenant1/views/components', h.tokens.tenant1);
    expect(components.body.items.map((c: any) => c.key)).toEqual(['node1:101', 'node1:102']);
  });

  it('GET /api/v1/components is the cluster registry, readable with a role on any tenant', async () => {
    const response = await get('/api/v1/components', h.tokens.tenant0);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual(((await h.engine.view('components')) as any[]).slice().sort(byKey));
    expect(response.body.items[0]).toMatchObject({ key: 'node1:101', kind: 'server', modelApi: { min: 1, max: 2 } });
    const one = await get('/api/v1/components/node1:102', h.tokens.tenant1);
    expect(one.body).toEqual(h.engine.get('components', 'node1:102'));
    const filtered = await get('/api/v1/components?filter=' + encodeURIComponent('pid=Eq(102)'));
    expect(filtered.body.items.map((c: any) => c.key)).toEqual(['node1:102']);
    expect((await get('/api/v1/components/node9:1')).status).toBe(404);
    expect((await get('/api/v1/components', h.tokens.nothing)).status).toBe(403);
    expect((await httpJson(`${h.base}/api/v1/components`)).status).toBe(401);
  });

  it('advertises its capabilities in /info', () => {
    expect(h.gateway.info().capabilities).toEqual(expect.arrayContaining(['http.views', 'http.time-travel', 'http.events']));
  });
});
