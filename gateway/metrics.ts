import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteObservation } from './http/index.js';

/**
 * One Prometheus registry per node (not prom-client's global one, so several nodes can
 * run in one process in tests). Other modules add their metrics to `registry`; names
 * start with `corral_`.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Request counts and latency per route pattern (bounded label values, never raw paths). */
export function instrumentHttp(registry: Registry): (observation: RouteObservation) => void {
  const requests = new Counter({
    name: 'corral_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'corral_http_request_duration_seconds',
    help: 'HTTP request latency, from the first byte of the request to the response (streams: to their start)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return ({ method, route, status, durationMs }) => {
    requests.inc({ method, route, status: String(status) });
    latency.observe({ method, route }, durationMs / 1000);
  };
}

/** What the event store exposes for metrics; `stats()` is optional on the port. */
export interface StoreForMetrics {
  readonly kind: string;
  headPosition(): Promise<number>;
  stats?: () => unknown;
}

/**
 * Event store metrics, read at scrape time: the head position, and every numeric field
 * of `store.stats()` (whatever the backend reports) as `corral_store_stat{stat="..."}`.
 */
export function instrumentStore(registry: Registry, store: StoreForMetrics): void {
  new Gauge({
    name: 'corral_store_head_position',
    help: 'Global position of the newest event in the store',
    labelNames: ['backend'] as const,
    registers: [registry],
    async collect() {
      this.set({ backend: store.kind }, await store.headPosition());
    },
  });
  if (typeof store.stats !== 'function') return;
  new Gauge({
    name: 'corral_store_stat',
    help: 'Event store statistics reported by the backend (store.stats()), flattened with dots',
    labelNames: ['backend', 'stat'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const stats = await store.stats!();
      for (const [stat, value] of numericLeaves(stats, '')) this.set({ backend: store.kind, stat }, value);
    },
  });
}

function* numericLeaves(value: unknown, prefix: string): Generator<[string, number]> {
  if (typeof value === 'number' && Number.isFinite(value)) yield [prefix, value];
  else if (typeof value === 'bigint') yield [prefix, Number(value)];
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) yield* numericLeaves(inner, prefix ? `${prefix}.${key}` : key);
  }
}
