import type { Gateway } from '../server.js';
import type { EventStore } from '../../store/index.js';
import type { ProjectionEngine } from '../../projections/index.js';
import { registerComponentRoutes } from './components.js';
import { registerEventRoutes } from './events.js';
import { registerViewRoutes } from './views.js';

/**
 * Registers the read side of the HTTP API (README "HTTP") over a started projection engine:
 * tenants, watchers, processes, minions, jobs and components (lists with `?filter=&model=&at=`
 * and single objects), time travel (`/views/{view}?at=`) and the event history
 * (`/events`, paged JSON or NDJSON). Call once per gateway, before or after it listens.
 */
export function registerReadRoutes(gateway: Gateway, deps: { engine: ProjectionEngine; store: EventStore }): void {
  registerViewRoutes(gateway, deps);
  registerComponentRoutes(gateway, deps);
  registerEventRoutes(gateway, deps);
  gateway.capabilities.add('http.views');
  gateway.capabilities.add('http.time-travel');
  gateway.capabilities.add('http.events');
}
