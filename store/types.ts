import type { Observable } from 'rxjs';

/**
 * Global position in the log. Positions start at 1; position 0 means "before the first
 * event", so `after: 0` reads or subscribes from the very beginning. Positions are
 * strictly increasing and, in the embedded store, gapless at allocation (events removed
 * later by retention leave holes a reader simply skips).
 */
export type Position = number;

/** 0-based position of an event inside its stream, contiguous. */
export type Revision = number;

/** Who caused an event and why (docs/architecture.md "Events"). */
export interface EventMeta {
  causationId?: string;
  correlationId?: string;
  /** who caused it: a token subject, a user name, `system`, or a component key */
  principal?: string;
  /** which server appended it (component key `<host>:<pid>`) */
  node?: string;
}

/** An event as it is stored and read back: the envelope of docs/architecture.md "Events". */
export interface RecordedEvent<Data = unknown> {
  /** UUIDv7 */
  id: string;
  stream: string;
  /** the object type, plural: `tenants`, `watchers`, `processes`, ... */
  type: string;
  /** the verb: `create`, `spawn`, `return`, ... */
  action: string;
  /** the object key, tenant-qualified (`acme:web:0`) */
  key: string;
  /** owning tenant; absent for cluster-wide events (components) */
  tenant?: string;
  /** the model-API/schema version `data` was written at */
  schema: number;
  revision: Revision;
  position: Position;
  /** milliseconds since the epoch when it was appended (wire formats render it as ISO 8601) */
  time: number;
  data: Data;
  meta: EventMeta;
}

/** What a writer hands to `append`; the store fills in id (if absent), revision, position, time. */
export interface EventToAppend<Data = unknown> {
  id?: string;
  type: string;
  action: string;
  key: string;
  tenant?: string;
  /** defaults to 1 */
  schema?: number;
  data: Data;
  meta?: EventMeta;
}

/**
 * Optimistic concurrency for a stream append:
 * - `any`: no check
 * - `noStream`: the stream must not exist (no event was ever appended to it)
 * - `streamExists`: the stream must have at least one event
 * - a number: the revision of the stream's last event must be exactly this
 */
export type ExpectedRevision = 'any' | 'noStream' | 'streamExists' | Revision;

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  stream: string;
  /** revision of the last appended event: pass it as `expectedRevision` next time */
  lastRevision: Revision;
  /** positions of the appended events, in order */
  positions: Position[];
}

/** Selects events by object type and/or stream name prefix; both optional, combined with AND. */
export interface EventSelection {
  types?: readonly string[];
  streamPrefix?: string;
  /** skip these types (cheaply: without decoding their payloads); e.g. `['logs']` for projections */
  excludeTypes?: readonly string[];
}

export interface ReadAllOptions extends EventSelection {
  /** read events with position > after; default 0 (from the start) */
  after?: Position;
  /** at most this many events (default 1000) */
  limit?: number;
}

export interface ReadStreamOptions {
  /** read events with revision > afterRevision; default -1 (from the start) */
  afterRevision?: Revision;
  /** at most this many events (default 1000) */
  limit?: number;
  /** `backward` reads newest first, starting below `beforeRevision` if given */
  direction?: 'forward' | 'backward';
  beforeRevision?: Revision;
}

export interface SubscribeAllOptions extends EventSelection {
  /** deliver events with position > after; default: the head at subscription time ("now") */
  after?: Position;
}

export interface SubscribeStreamOptions {
  /** deliver events with revision > afterRevision; default: -1 (the whole stream) */
  afterRevision?: Revision;
}

/**
 * What a subscription emits. Events come in batches (catch-up reads in pages; live appends
 * in the groups they were committed in), always in position order, each exactly once.
 * `caughtUp` is emitted when the subscription has delivered everything up to the head and
 * switches to live delivery; `position` is the head it caught up to (possibly beyond the
 * last delivered event when a selection filtered events out).
 */
export type StoreNotice =
  | { kind: 'events'; events: readonly RecordedEvent[] }
  | { kind: 'caughtUp'; position: Position };

/** Retention of one stream (docs/architecture.md "Events": log streams keep 10,000 lines by default). */
export interface StreamMetadata {
  /** keep at most this many newest events */
  maxCount?: number;
  /** drop events older than this */
  maxAgeMs?: number;
}

export interface StreamInfo {
  stream: string;
  /** revision of the last event, or -1 if the stream has no events */
  lastRevision: Revision;
  /** lowest revision still readable (events below were truncated or dropped by retention) */
  firstRevision: Revision;
  metadata: StreamMetadata;
}

/** The event store port (docs/architecture.md "Event store"). Every backend passes the same contract suite. */
export interface EventStore {
  /** `embedded`, `memory` or `kurrentdb` */
  readonly kind: string;

  /**
   * Appends events to one stream atomically. Resolves only once the events are durable.
   * Rejects with `WrongExpectedRevisionError` on a concurrency conflict, with
   * `EventTooLargeError` / `InvalidArgumentError` on bad input; nothing is written then.
   */
  append(stream: string, events: readonly EventToAppend[], options?: AppendOptions): Promise<AppendResult>;

  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /** Catch-up from `after`, then live; no gap and no duplicate at the hand-over. */
  subscribeToAll(options?: SubscribeAllOptions): Observable<StoreNotice>;

  subscribeToStream(stream: string, options?: SubscribeStreamOptions): Observable<StoreNotice>;

  /** Position of the newest event (0 when the store is empty). */
  headPosition(): Promise<Position>;

  /** The first position whose event time is >= `time` (ms epoch), or head+1 if none. */
  positionAtTime(time: number): Promise<Position>;

  streamInfo(stream: string): Promise<StreamInfo>;

  setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void>;

  /** Removes the stream's events with revision < beforeRevision. Revisions never restart. */
  truncateStream(stream: string, beforeRevision: Revision): Promise<void>;

  /** Counters for /metrics; cheap and synchronous (no I/O). */
  stats(): StoreStats;

  /**
   * Whether writes succeed now: not after a failed commit (a full disk) until a write
   * succeeds again. Cheap and synchronous; the node's readiness reports it.
   */
  writeHealth(): WriteHealth;

  close(): Promise<void>;
}

export type WriteHealth = { ok: true } | { ok: false; since: number; reason: string };
export const WRITES_OK: WriteHealth = Object.freeze({ ok: true });

/** Upper bounds (ms) of the commit latency histogram buckets in `StoreStats`; the last bucket is +Inf. */
export const COMMIT_LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000];

/** Monotonic counters since the store was opened in this process (Prometheus-style). */
export interface StoreStats {
  /** `append` calls that were accepted (including those that failed a concurrency check) */
  appendCalls: number;
  /** events written by this process */
  appendedEvents: number;
  /** write transactions committed (and synced) by this process; several appends share one with group commit */
  commits: number;
  /** time from an append being queued to its commit being durable */
  commitLatency: {
    sumMs: number;
    count: number;
    lastMs: number;
    /** cumulative counts per bucket of COMMIT_LATENCY_BUCKETS_MS, plus one final +Inf bucket */
    buckets: number[];
  };
  /** the newest position this process knows of (0 when empty) */
  headPosition: Position;
}

/** Default retention of per-process `log-` streams (docs/architecture.md "Events"); writers set it with `setStreamMetadata`. */
export const DEFAULT_LOG_STREAM_METADATA: StreamMetadata = Object.freeze({ maxCount: 10_000 });

/** Default size limit of one encoded event. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
