import type { Gateway } from '../server.js';
import { CorralError } from '../../store/index.js';

/**
 * Salt's `POST /login` (rest_tornado): form or JSON `username`, `password`, `eauth`
 * (ignored: users are checked against `auth.users`). The token is a JWT for the user's
 * tenants, usable everywhere, including Salt's `/all_events/{token}`.
 */
export function registerLoginRoute(gateway: Gateway): void {
  gateway.router.post(
    '/login',
    async (ctx) => {
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw new CorralError('bad-request', 'login body must be an object with username and password');
      const result = await gateway.authenticator.login(body.username, body.password, ctx.remoteAddress);
      return {
        return: [
          {
            token: result.token,
            start: result.start,
            expire: result.expire,
            user: result.user,
            // Salt lists permissions as strings; ours are tenant:role grants.
            perms: Object.entries(result.tenants).map(([tenant, role]) => `${tenant}:${role}`),
            tenants: result.tenants,
            eauth: typeof body.eauth === 'string' ? body.eauth : 'corral',
          },
        ],
      };
    },
    { auth: 'none', maxBodyBytes: 64 * 1024, body: 'json-or-form' },
  );
}
