import type { Gateway } from '../server.js';
import { CorralError } from '../../store/index.js';
import { HttpReply } from '../http/index.js';

/** Prometheus text. Cluster-wide data: needs `read` on `*` (mint one with `corral token --role read`). */
export function registerMetricsRoute(gateway: Gateway): void {
  gateway.router.get('/metrics', async (ctx) => {
    if (!ctx.principal.hasClusterRole('read')) {
      throw new CorralError('forbidden', `${ctx.principal.subject} needs read on "*" to scrape metrics`);
    }
    return HttpReply.text(await gateway.metrics.metrics(), gateway.metrics.contentType);
  });
}
