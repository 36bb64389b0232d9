import type { Gateway } from '../server.js';
import { CorralError } from '../../store/index.js';
import type { Principal } from '../auth/index.js';
import { getViewObject, listView, type ReadDeps } from './read/view-query.js';

/**
 * The component registry (docs/operations.md "Rolling restart on one machine", Zuul's `/components`): cluster-wide, carries no
 * tenant data (hosts, pids, versions, model API ranges, states, the leader), so any principal
 * holding a role on some tenant may read it. `?filter=&model=&at=` as on every view list.
 */
export function registerComponentRoutes(gateway: Gateway, deps: ReadDeps): void {
  gateway.router.get('/api/v1/components', (ctx) => {
    requireSomeTenant(ctx.principal);
    return listView(ctx, deps, 'components', { tenants: ['*'] });
  });
  gateway.router.get('/api/v1/components/:key', (ctx) => {
    requireSomeTenant(ctx.principal);
    return getViewObject(ctx, deps, 'components', ctx.params.key!, `component ${ctx.params.key}`);
  });
}

function requireSomeTenant(principal: Principal): void {
  if (Object.keys(principal.tenants).length === 0) {
    throw new CorralError('forbidden', `${principal.subject} has no role on any tenant; reading the component registry needs read on some tenant`);
  }
}
