import type { Gateway } from '../server.js';
import type { RequestContext } from '../http/index.js';

/** Zuul's `/info` and `/{tenant}/info`: what this server is and what it can do. */
export function registerInfoRoutes(gateway: Gateway): void {
  gateway.router.get('/api/v1/info', (ctx) => ({
    ...gateway.info(),
    websocketUrl: websocketUrl(ctx),
    principal: { subject: ctx.principal.subject, tenants: ctx.principal.tenants },
  }));
  gateway.router.get('/api/v1/tenants/:t/info', (ctx) => {
    const tenant = ctx.params.t!;
    ctx.requireRole(tenant, 'read');
    return { ...gateway.info(), websocketUrl: websocketUrl(ctx), tenant, role: ctx.principal.roleFor(tenant) };
  });
}

/** The websocket URL as the client reached us (behind a proxy: its Host and proto headers). */
function websocketUrl(ctx: RequestContext): string {
  const secure = (ctx.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';
  const host = ctx.headers['x-forwarded-host'] ?? ctx.headers.host ?? 'localhost';
  return `${secure ? 'wss' : 'ws'}://${host}/ws`;
}
