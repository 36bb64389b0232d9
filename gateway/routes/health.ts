import type { Gateway } from '../server.js';
import { HttpReply } from '../http/index.js';

/**
 * Zuul's probes: live while the process runs; ready only while this node's component
 * state is `running` or `paused` and every readiness check passes (projections hold
 * readiness until they caught up). Public: orchestrators probe without tokens.
 */
export function registerHealthRoutes(gateway: Gateway): void {
  gateway.router.get('/health/live', () => ({ status: 'live' }), { auth: 'none' });
  gateway.router.get(
    '/health/ready',
    () => {
      const readiness = gateway.readiness();
      return HttpReply.json({ status: readiness.ready ? 'ready' : 'not-ready', ...readiness }, readiness.ready ? 200 : 503);
    },
    { auth: 'none' },
  );
}
