import type { Gateway } from '../server.js';
import { getViewObject, listView, type ReadDeps } from './read/view-query.js';
import { jobPathKey, minionPathKey, processPathKey, visibleTenantsOf, watcherPathKey } from './read/params.js';

/** Per-tenant object routes: the list (`?filter=&model=&at=`) and one object by its id in the path. */
const TENANT_OBJECT_ROUTES = [
  { view: 'watchers', path: 'watchers', key: watcherPathKey, noun: 'watcher' },
  { view: 'processes', path: 'processes', key: processPathKey, noun: 'process' },
  { view: 'minions', path: 'minions', key: minionPathKey, noun: 'minion' },
  { view: 'jobs', path: 'jobs', key: jobPathKey, noun: 'job' },
] as const;

/**
 * The GET side of README "HTTP" over the projection engine's views. Every route needs `read`
 * on the tenant in its path, and every query is scoped to that tenant inside the engine,
 * so objects of other tenants cannot appear whatever the filter says.
 *
 * - `GET /api/v1/tenants`: the tenants the principal may see.
 * - `GET /api/v1/tenants/{t}/{watchers|processes|minions|jobs}`: lists; `/{id}` one object
 *   (ids are keys without the tenant: `web`, `web:0`, `host1`, a jid).
 * - `GET /api/v1/tenants/{t}/views/{view}?at=`: any folded view now or at a past position
 *   or ISO time (time travel: the engine folds from its nearest snapshot).
 */
export function registerViewRoutes(gateway: Gateway, deps: ReadDeps): void {
  const { router } = gateway;

  router.get('/api/v1/tenants', (ctx) => listView(ctx, deps, 'tenants', { tenants: visibleTenantsOf(ctx.principal) }));

  for (const route of TENANT_OBJECT_ROUTES) {
    router.get(`/api/v1/tenants/:t/${route.path}`, (ctx) => {
      const tenant = ctx.params.t!;
      ctx.requireRole(tenant, 'read');
      return listView(ctx, deps, route.view, { tenant });
    });
    router.get(`/api/v1/tenants/:t/${route.path}/:id`, (ctx) => {
      const tenant = ctx.params.t!;
      ctx.requireRole(tenant, 'read');
      const key = route.key(tenant, ctx.params.id!);
      return getViewObject(ctx, deps, route.view, key, `${route.noun} ${ctx.params.id} in tenant ${tenant}`);
    });
  }

  router.get('/api/v1/tenants/:t/views/:view', (ctx) => {
    const tenant = ctx.params.t!;
    ctx.requireRole(tenant, 'read');
    const view = ctx.params.view!;
    // Components belong to no tenant: every reader of a tenant sees the cluster's registry.
    return listView(ctx, deps, view, view === 'components' ? { tenants: [tenant] } : { tenant });
  });
}
