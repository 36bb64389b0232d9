import type { Subscription as RxSubscription } from 'rxjs';
import { MatcherGroups, type Change, type MatcherGroup, type ProjectionEngine } from '../../projections/index.js';
import type { TemplatedApp } from '../uws.js';
import { EncodeTurn, frameBytes, type Frame, type FrameFormat } from './frames.js';
import { HistoryReader } from './history.js';
import type { WsLimits } from './limits.js';
import { changeVisible, type TenantScope } from './scope.js';
import type { WsMetrics } from './metrics.js';

/** A socket as the hub sees it (implemented by `WsConnection`). */
export interface Outlet {
  readonly closed: boolean;
  readonly kind: string;
  bufferedAmount(): number;
  /** direct send, ordered after everything already published to the socket */
  send(frame: Frame, binary: boolean): void;
  /** several frames in one write */
  sendFrames(frames: readonly Frame[], binary: boolean): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** resolves once buffered bytes are below the low-water mark (or the socket closed) */
  waitForRoom(): Promise<void>;
  /** the hub's members on this socket (lag moves them all together: they share one buffer) */
  readonly members: Set<Member>;
}

/** Where matching is done: Digital Rebar keys connection events by principal, so it gets its own matchers. */
export type MatchDomain = 'native' | 'drp';

interface MatcherState {
  groups: DeliveryGroup[];
}

/**
 * Subscriptions with identical (specifiers, format incl. encoding/model/batch/sub id,
 * tenant scope): one uWS topic, one evaluation and one encoding per change for all of them.
 */
export interface DeliveryGroup {
  readonly key: string;
  readonly topic: string;
  readonly format: FrameFormat;
  readonly scope: TenantScope;
  readonly domain: MatchDomain;
  readonly matchers: MatcherGroup<MatcherState>[];
  /** types the matchers can match; null: any (decides whether catch-up reads logs) */
  readonly includeLogs: boolean;
  readonly liveMembers: Set<Member>;
  refs: number;
  pending: Change[];
  bytesSinceCheck: number;
}

export type MemberMode = 'catching-up' | 'live' | 'lagged' | 'closed';

/** One subscription of one socket. */
export class Member {
  mode: MemberMode = 'catching-up';
  /** every change up to here has been sent (or published) to this socket */
  lastDelivered: number;
  constructor(
    readonly outlet: Outlet,
    public group: DeliveryGroup,
    from: number,
  ) {
    this.lastDelivered = from;
  }
}

export interface FanoutHubOptions {
  engine: ProjectionEngine;
  app: TemplatedApp;
  limits: WsLimits;
  metrics?: WsMetrics;
  onError?: (error: unknown, where: string) => void;
}

/**
 * Large store batches are published in slices so one turn never buffers unbounded bytes per
 * socket (a slice of ~300-byte events is ~300 KiB, well under the 1 MiB lag bound). As big as
 * the store's live pages (1,000 events): smaller slices split a burst of one key across
 * frames and cost batch subscribers a frame each (measured: 125 instead of 200 events per
 * frame in the gateway bench, 0.8x the throughput).
 */
const SLICE_CHANGES = 1024;

/**
 * The fan-out core (issue 6). One subscription to `engine.changes$`; for each live batch:
 * each distinct specifier is evaluated once per change (MatcherGroups), tenant scope checked
 * once per group, the matched changes encoded once per group and published to the group's
 * uWS topic, so the C++ side copies the bytes to every socket. Never per subscriber.
 *
 * Delivery (docs/architecture.md "Delivery"): a member starts in catch-up (a `HistoryReader` page by page, with
 * the socket's backpressure) and joins its topic in the same tick in which it reaches the
 * engine's position: live batches are published synchronously inside the `changes$`
 * callback, so none can fall between the last history page and the topic subscription.
 * After publishing, sockets of groups that received many bytes are checked: one over the
 * bound leaves its topics (`lagged`), and once drained is served from the store again.
 */
export class FanoutHub {
  private readonly engine: ProjectionEngine;
  private readonly app: TemplatedApp;
  private readonly limits: WsLimits;
  private readonly metrics: WsMetrics | undefined;
  private readonly onError: (error: unknown, where: string) => void;
  private readonly domains: Record<MatchDomain, MatcherGroups<MatcherState>> = {
    native: new MatcherGroups<MatcherState>({ createState: () => ({ groups: [] }) }),
    drp: new MatcherGroups<MatcherState>({ createState: () => ({ groups: [] }) }),
  };
  private readonly groups = new Map<string, DeliveryGroup>();
  private readonly matched: MatcherGroup<MatcherState>[] = [];
  private readonly touched: DeliveryGroup[] = [];
  private subscription: RxSubscription | null = null;
  private topicCounter = 0;

  constructor(options: FanoutHubOptions) {
    this.engine = options.engine;
    this.app = options.app;
    this.limits = options.limits;
    this.metrics = options.metrics;
    this.onError = options.onError ?? (() => undefined);
  }

  start(): void {
    if (this.subscription) return;
    this.subscription = this.engine.changes$.subscribe({
      next: (changes) => this.publishBatch(changes),
      error: (error) => this.onError(error, 'changes$'),
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  /** The position live delivery has reached: catch-up hands over here. */
  get position(): number {
    return this.engine.position;
  }

  /** Finds or creates the group; the caller then `join`s a member to it. Throws FilterSyntaxError. */
  group(domain: MatchDomain, specifiers: readonly string[], format: FrameFormat, scope: TenantScope): DeliveryGroup {
    const compiled = specifiers.map((text) => this.domains[domain].add(text));
    // one specifier (the usual native `sub`): no set, sort or join to build the key
    const keys = compiled.length === 1 ? compiled[0]!.key : [...new Set(compiled.map((matcher) => matcher.key))].sort().join('\n');
    const key = `${domain}|${format.key}|${scope.key}|${keys}`;
    const existing = this.groups.get(key);
    if (existing) {
      for (const matcher of compiled) this.domains[domain].release(matcher);
      return existing;
    }
    // one reference per distinct specifier (a repeated one gives its extra reference back)
    const unique = new Map<string, MatcherGroup<MatcherState>>();
    for (const matcher of compiled) {
      if (unique.has(matcher.key)) this.domains[domain].release(matcher);
      else unique.set(matcher.key, matcher);
    }
    const matchers = [...unique.values()];
    const group: DeliveryGroup = {
      key,
      topic: `g${++this.topicCounter}`,
      format,
      scope,
      domain,
      matchers,
      includeLogs: matchers.some((matcher) => matcher.compiled.changeTypes === null || matcher.compiled.changeTypes.includes('logs')),
      liveMembers: new Set(),
      refs: 0,
      pending: [],
      bytesSinceCheck: 0,
    };
    for (const matcher of matchers) matcher.state.groups.push(group);
    this.groups.set(key, group);
    return group;
  }

  /**
   * Adds a member that has seen everything up to `from` (a position the engine has folded).
   * `onLive` runs when it joins live delivery (after history, and again after a lag).
   */
  join(outlet: Outlet, group: DeliveryGroup, from: number, onLive?: (member: Member, position: number) => void): Member {
    const member = new Member(outlet, group, from);
    group.refs++;
    outlet.members.add(member);
    if (onLive) this.liveHandlers.set(member, onLive);
    this.catchUp(member);
    return member;
  }

  /** Moves a member to another group (Digital Rebar register/deregister) without a gap or a duplicate. */
  regroup(member: Member, next: DeliveryGroup): void {
    const previous = member.group;
    if (previous === next) return;
    next.refs++;
    if (member.mode === 'live') {
      member.outlet.unsubscribe(previous.topic);
      previous.liveMembers.delete(member);
      member.outlet.subscribe(next.topic);
      next.liveMembers.add(member);
    }
    member.group = next;
    this.release(previous);
  }

  leave(member: Member): void {
    if (member.mode === 'closed') return;
    if (member.mode === 'live' && !member.outlet.closed) member.outlet.unsubscribe(member.group.topic);
    member.mode = 'closed';
    member.group.liveMembers.delete(member);
    member.outlet.members.delete(member);
    this.liveHandlers.delete(member);
    this.release(member.group);
  }

  /** only for members that asked to hear when they go live */
  private readonly liveHandlers = new Map<Member, (member: Member, position: number) => void>();

  /** Keeps a group alive while a subscription is still being set up (before `join`). */
  retain(group: DeliveryGroup): void {
    group.refs++;
  }

  release(group: DeliveryGroup): void {
    if (--group.refs > 0) return;
    this.groups.delete(group.key);
    for (const matcher of group.matchers) {
      const at = matcher.state.groups.indexOf(group);
      if (at !== -1) matcher.state.groups.splice(at, 1);
      this.domains[group.domain].release(matcher);
    }
  }

  private publishBatch(changes: readonly Change[]): void {
    try {
      if (changes.length <= SLICE_CHANGES) {
        this.publishSlice(changes, 0, changes.length);
        return;
      }
      for (let from = 0; from < changes.length; from += SLICE_CHANGES) {
        this.publishSlice(changes, from, Math.min(changes.length, from + SLICE_CHANGES));
      }
    } catch (error) {
      this.onError(error, 'publish');
    }
  }

  private publishSlice(changes: readonly Change[], from: number, to: number): void {
    const touched = this.touched;
    touched.length = 0;
    for (let i = from; i < to; i++) {
      const change = changes[i]!;
      this.collect(this.domains.native, change, change, touched);
      if (this.domains.drp.size > 0) this.collect(this.domains.drp, change.type === 'connections' ? drpView(change) : change, change, touched);
    }
    if (touched.length === 0) return;
    const servedThrough = changes[to - 1]!.position;
    const turn = new EncodeTurn(this.engine.ownModel);
    let check: DeliveryGroup[] | null = null;
    for (const group of touched) {
      const frames = group.format.encode(group.pending, turn);
      group.pending = [];
      let bytes = 0;
      for (const frame of frames) {
        this.app.publish(group.topic, frame, group.format.binary);
        bytes += frameBytes(frame);
      }
      this.metrics?.sent(group.format.key, frames.length * group.liveMembers.size, bytes * group.liveMembers.size);
      group.bytesSinceCheck += bytes;
      if (group.bytesSinceCheck >= this.limits.checkEveryBytes) {
        group.bytesSinceCheck = 0;
        (check ??= []).push(group);
      }
    }
    if (check) for (const group of check) this.checkGroup(group, servedThrough);
  }

  private collect(domain: MatcherGroups<MatcherState>, evaluated: Change, change: Change, touched: DeliveryGroup[]): void {
    if (domain.size === 0) return;
    const matched = this.matched;
    const n = domain.evaluateInto(evaluated, matched);
    for (let i = 0; i < n; i++) {
      for (const group of matched[i]!.state.groups) {
        if (group.liveMembers.size === 0) continue;
        const pending = group.pending;
        // one change matched by two specifiers of the same group (Digital Rebar registers) goes out once
        if (pending.length > 0 && pending[pending.length - 1] === change) continue;
        if (!changeVisible(group.scope, change)) continue;
        if (pending.length === 0) touched.push(group);
        pending.push(change);
      }
    }
  }

  /** The cheap native `getBufferedAmount` per socket, only for groups that just got many bytes. */
  private checkGroup(group: DeliveryGroup, servedThrough: number): void {
    for (const member of [...group.liveMembers]) {
      if (member.mode !== 'live') continue;
      if (member.outlet.bufferedAmount() > this.limits.maxBufferedBytes) this.lag(member.outlet, servedThrough);
    }
  }

  /** Every live member of the socket leaves its topic; each resumes from the store once the socket drains. */
  private lag(outlet: Outlet, servedThrough: number): void {
    for (const member of outlet.members) {
      if (member.mode !== 'live') continue;
      outlet.unsubscribe(member.group.topic);
      member.group.liveMembers.delete(member);
      member.mode = 'lagged';
      member.lastDelivered = servedThrough;
      const notice = member.group.format.lagged?.(servedThrough);
      if (notice !== undefined) outlet.send(notice, member.group.format.binary);
      this.metrics?.lagged(outlet.kind);
      this.catchUp(member, true);
    }
  }

  private catchUp(member: Member, afterLag = false): void {
    // At the head already: live at once, and announced like any other start (README, the native protocol).
    if (member.lastDelivered >= this.engine.position && !afterLag) {
      this.goLive(member);
      return;
    }
    this.metrics?.catchUp(member.outlet.kind);
    this.runCatchUp(member, afterLag).catch((error: unknown) => {
      if (isGone(member)) return;
      this.onError(error, 'catch-up');
      this.leave(member);
    });
  }

  private async runCatchUp(member: Member, afterLag: boolean): Promise<void> {
    member.mode = afterLag ? 'lagged' : 'catching-up';
    const outlet = member.outlet;
    if (afterLag) await outlet.waitForRoom();
    if (isGone(member)) return;
    member.mode = 'catching-up';
    let reader = new HistoryReader(this.engine, member.lastDelivered, member.group.includeLogs);
    for (;;) {
      // a regroup (Digital Rebar register) may add specifiers that match logs
      if (member.group.includeLogs && !reader.includeLogs) reader = new HistoryReader(this.engine, reader.cursor, true);
      // Synchronous from this check to the topic subscription: no live batch can slip in.
      if (reader.cursor >= this.engine.position) {
        member.lastDelivered = reader.cursor;
        this.goLive(member);
        return;
      }
      if (outlet.bufferedAmount() >= this.limits.maxBufferedBytes) await outlet.waitForRoom();
      if (isGone(member)) return;
      const changes = await reader.nextPage(this.engine.position);
      if (isGone(member)) return;
      await this.sendHistory(member, changes);
      if (isGone(member)) return;
      member.lastDelivered = reader.cursor;
    }
  }

  /**
   * Per socket (history is not shared), with backpressure between frames: the socket's buffer
   * never holds more than the bound plus one frame (issue 14 item 12), and a batch frame is
   * at most half the bound unless one event alone is larger.
   */
  private async sendHistory(member: Member, changes: readonly Change[]): Promise<void> {
    const group = member.group;
    const selected: Change[] = [];
    for (const change of changes) {
      const evaluated = group.domain === 'drp' && change.type === 'connections' ? drpView(change) : change;
      if (!changeVisible(group.scope, change)) continue;
      if (group.matchers.some((matcher) => matcher.compiled.matches(evaluated))) selected.push(change);
    }
    if (selected.length === 0) return;
    const outlet = member.outlet;
    const bound = this.limits.maxBufferedBytes;
    const turn = new EncodeTurn(this.engine.ownModel);
    // Events per slice: halved until the slice's frames are small against the bound, and kept
    // for the next slice (large events come in runs), doubled again while frames stay small.
    let span = SLICE_CHANGES;
    for (let from = 0; from < selected.length; ) {
      let to = Math.min(selected.length, from + span);
      let frames = group.format.encode(selected.slice(from, to), turn);
      let largest = largestFrame(frames);
      while (to - from > 1 && largest > bound / 2) {
        span = Math.ceil((to - from) / 2);
        to = from + span;
        frames = group.format.encode(selected.slice(from, to), turn);
        largest = largestFrame(frames);
      }
      if (largest < bound / 8) span = Math.min(SLICE_CHANGES, span * 2);
      from = to;
      // As many frames per write as fit under the bound; at least one.
      for (let next = 0; next < frames.length; ) {
        if (outlet.bufferedAmount() >= bound) await outlet.waitForRoom();
        if (isGone(member)) return;
        const room = bound - outlet.bufferedAmount();
        let end = next;
        let bytes = 0;
        do bytes += frameBytes(frames[end++]!);
        while (end < frames.length && bytes + frameBytes(frames[end]!) <= room);
        outlet.sendFrames(end - next === frames.length ? frames : frames.slice(next, end), group.format.binary);
        this.metrics?.sent(group.format.key, end - next, bytes);
        next = end;
      }
    }
  }

  private goLive(member: Member): void {
    const group = member.group;
    member.outlet.subscribe(group.topic);
    group.liveMembers.add(member);
    member.mode = 'live';
    member.lastDelivered = this.engine.position;
    const notice = group.format.live?.(member.lastDelivered);
    if (notice !== undefined) member.outlet.send(notice, group.format.binary);
    this.liveHandlers.get(member)?.(member, member.lastDelivered);
  }
}

/** Digital Rebar matches connection events by principal (`connections.create.<principal>`). */
function drpView(change: Change): Change {
  const principal = (change.object ?? change.original)?.principal;
  return typeof principal === 'string' ? { ...change, key: principal } : change;
}

function largestFrame(frames: readonly Frame[]): number {
  let largest = 0;
  for (const frame of frames) largest = Math.max(largest, frameBytes(frame));
  return largest;
}

/** A function, not an inline test: the mode changes across awaits, which the compiler cannot see. */
const isGone = (member: Member): boolean => member.mode === 'closed' || member.outlet.closed;
