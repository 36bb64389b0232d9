import { COMPONENTS_STREAM, CorralError, type EventStore } from '../../store/index.js';
import type {
  ComponentRegistered,
  ComponentState,
  ComponentStateChanged,
  ModelApiRange,
} from '../../actors/component/events.js';
import type { ComponentView } from '../views/types.js';
import { silentLogger, type Logger } from '../../store/index.js';

/** Default liveness window of a component: three missed heartbeats. */
export const DEFAULT_HEARTBEAT_MS = 5_000;
export const DEFAULT_COMPONENT_TTL_MS = 3 * DEFAULT_HEARTBEAT_MS;

export function isLiveComponent(component: ComponentView, now: number, ttlMs: number): boolean {
  return component.state !== 'stopped' && now - component.lastSeen <= ttlMs;
}

/**
 * The system model API (docs/operations.md "Rolling restart on one machine", Zuul's rule): the minimum `max` over live servers,
 * or null when no server is live (the caller then uses its own `max`).
 */
export function systemModelApi(
  components: Iterable<ComponentView> | ReadonlyMap<string, ComponentView>,
  now: number,
  ttlMs: number = DEFAULT_COMPONENT_TTL_MS,
): number | null {
  const values = components instanceof Map ? components.values() : (components as Iterable<ComponentView>);
  let system: number | null = null;
  for (const component of values) {
    if (component.kind !== 'server' || !isLiveComponent(component, now, ttlMs)) continue;
    if (system === null || component.modelApi.max < system) system = component.modelApi.max;
  }
  return system;
}

/** The node cannot take part in the cluster at the current system model API. */
export class ModelApiMismatchError extends CorralError {
  readonly own: ModelApiRange;
  readonly system: number;
  constructor(own: ModelApiRange, system: number) {
    super(
      'unavailable',
      own.max < system
        ? `refusing to start: this node supports model API ${own.min}..${own.max}, but the system model API is already ${system} ` +
            `(every live server supports at least ${system}); upgrade this node or start it with a newer release`
        : `refusing to start: this node supports model API ${own.min}..${own.max}, but the system model API is ${system}, ` +
            `below this node's minimum; stop or upgrade the older servers first`,
      { own, system },
    );
    this.own = own;
    this.system = system;
  }
}
export const isModelApiMismatchError = (error: unknown): error is ModelApiMismatchError => error instanceof ModelApiMismatchError;

/** Throws a clear error when this node may not join (`corral serve` exits non-zero with it). */
export function assertCanJoin(own: ModelApiRange, system: number | null): void {
  if (system === null) return;
  if (own.max < system || own.min > system) throw new ModelApiMismatchError(own, system);
}

/** The model API events are written at: the system's, or this node's own newest when alone. */
export function writeModelApi(own: ModelApiRange, system: number | null): number {
  return system === null ? own.max : Math.min(own.max, system);
}

/** What the component registers as (`ComponentRegistered`), plus where and how often. */
export interface ComponentRegistryOptions extends ComponentRegistered {
  store: EventStore;
  heartbeatMs?: number;
  logger?: Logger;
}

/**
 * This process's entry in `$components` (type `components`, key `<host>:<pid>`, no tenant):
 * registers, heartbeats on an interval, reports state changes, unregisters on a graceful stop.
 */
export class ComponentRegistry {
  readonly key: string;
  private readonly options: ComponentRegistryOptions;
  private readonly logger: Logger;
  private heartbeat: NodeJS.Timeout | null = null;
  private registered = false;

  constructor(options: ComponentRegistryOptions) {
    this.options = options;
    this.key = `${options.host}:${options.pid}`;
    this.logger = options.logger ?? silentLogger;
  }

  async register(): Promise<void> {
    const { kind, host, pid, version, modelApi, url } = this.options;
    const data: ComponentRegistered = { kind, host, pid, version, modelApi: { min: modelApi.min, max: modelApi.max } };
    if (url !== undefined) data.url = url;
    await this.appendEvent('register', data);
    this.registered = true;
    const every = this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.heartbeat = setInterval(() => {
      this.appendEvent('heartbeat', {}).catch((error: unknown) => this.logger.warn({ err: error }, 'component heartbeat failed'));
    }, every);
    this.heartbeat.unref();
  }

  async setState(state: ComponentState, systemModelApi?: number): Promise<void> {
    const data: ComponentStateChanged = { state };
    if (systemModelApi !== undefined) data.systemModelApi = systemModelApi;
    await this.appendEvent('state', data);
  }

  async heartbeatNow(): Promise<void> {
    await this.appendEvent('heartbeat', {});
  }

  /** Graceful stop: leaves the registry at once instead of waiting for the TTL. */
  async unregister(): Promise<void> {
    this.stopHeartbeat();
    if (!this.registered) return;
    this.registered = false;
    await this.appendEvent('unregister', {});
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async appendEvent(action: string, data: unknown): Promise<void> {
    await this.options.store.append(COMPONENTS_STREAM, [
      { type: 'components', action, key: this.key, data, meta: { principal: this.key, node: this.key } },
    ]);
  }
}
