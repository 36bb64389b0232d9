import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteObservation } from './http/index.js';
import { COMMIT_LATENCY_BUCKETS_MS, type EventStore, type StoreStats } from '../store/index.js';

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

/** The event store as metrics need it (a subset of the EventStore port). */
export type StoreForMetrics = Pick<EventStore, 'kind' | 'stats'>;

/**
 * Event store metrics, read from `store.stats()` at scrape time (cheap, no I/O):
 * append/commit counters, the head position, and the commit latency histogram
 * (group commit: many appends share one durable commit).
 */
export function instrumentStore(registry: Registry, store: StoreForMetrics): void {
  const backend = store.kind;
  const counter = (name: string, help: string, read: (stats: StoreStats) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['backend'] as const,
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ backend }, read(store.stats()));
      },
    });
  };
  counter('corral_store_append_calls_total', 'append calls accepted by this process (including concurrency conflicts)', (s) => s.appendCalls);
  counter('corral_store_appended_events_total', 'events written by this process', (s) => s.appendedEvents);
  counter('corral_store_commits_total', 'durable write transactions committed by this process', (s) => s.commits);
  new Gauge({
    name: 'corral_store_head_position',
    help: 'global position of the newest event this process knows of',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      this.set({ backend }, store.stats().headPosition);
    },
  });
  // A histogram whose counts live in the store: exposed through a custom metric object.
  registry.registerMetric({
    name: 'corral_store_commit_latency_seconds',
    help: 'time from an append being queued to its commit being durable',
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const { commitLatency } = store.stats();
      const labels = { backend };
      const values = COMMIT_LATENCY_BUCKETS_MS.map((upperMs, i) => ({
        metricName: 'corral_store_commit_latency_seconds_bucket',
        labels: { ...labels, le: upperMs / 1000 },
        value: commitLatency.buckets[i] ?? 0,
      }));
      values.push({ metricName: 'corral_store_commit_latency_seconds_bucket', labels: { ...labels, le: '+Inf' as never }, value: commitLatency.count });
      return {
        name: 'corral_store_commit_latency_seconds',
        help: 'time from an append being queued to its commit being durable',
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...values,
          { metricName: 'corral_store_commit_latency_seconds_sum', labels, value: commitLatency.sumMs / 1000 },
          { metricName: 'corral_store_commit_latency_seconds_count', labels, value: commitLatency.count },
        ],
      };
    },
  } as never);
}
