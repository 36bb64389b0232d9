/**
 * Time is injected (XState's `clock`): actors read `now()` and arm timers through a Clock so
 * tests move time with a simulated clock instead of sleeping. The one Clock of the actors:
 * the runtime, the leader lease and the job actor all take it.
 */
export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
  /** microseconds since the epoch, when the clock can tell them (job ids use them) */
  nowMicros?(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // performance.now() has sub-millisecond resolution; anchored at timeOrigin it reads as epoch time.
  nowMicros: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    // actor timers (job timeouts too) must never keep a stopping process alive
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface SimulatedTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/**
 * Simulated time: it only moves when a test says so; due timers fire in due order (ties in
 * arming order), each with `now()` at its due time. The two clocks below differ only in how
 * they drive it: `SimulatedClock` synchronously, `ManualClock` letting async work settle.
 */
abstract class SimulatedTime implements Clock {
  protected current: number;
  private nextId = 1;
  private readonly timers = new Map<number, SimulatedTimer>();

  constructor(start: number) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, dueAt: this.current + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** timers armed and not yet fired */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** the due time of the earliest pending timer, or null */
  nextDueAt(): number | null {
    let due: number | null = null;
    for (const timer of this.timers.values()) if (due === null || timer.dueAt < due) due = timer.dueAt;
    return due;
  }

  /** Fires the earliest timer due at or before `limit` (time moves to its due time); false when none is. */
  protected fireNextDue(limit: number): boolean {
    let next: SimulatedTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.dueAt > limit) continue;
      if (!next || timer.dueAt < next.dueAt || (timer.dueAt === next.dueAt && timer.id < next.id)) next = timer;
    }
    if (!next) return false;
    this.timers.delete(next.id);
    this.current = Math.max(this.current, next.dueAt);
    next.callback();
    return true;
  }
}

/** A simulated clock driven synchronously: timers fire inside `advance`/`setTime`; time never goes back. */
export class SimulatedClock extends SimulatedTime {
  constructor(startAt = Date.UTC(2026, 0, 1)) {
    super(startAt);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    this.setTime(this.current + ms);
  }

  setTime(time: number): void {
    while (this.fireNextDue(time));
    this.current = Math.max(this.current, time);
  }
}

/**
 * A simulated clock for actors whose timers start async work (appends, mailboxes): `advance`
 * lets the promise chains settle before each timer and at the end.
 */
export class ManualClock extends SimulatedTime {
  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    super(start);
  }

  /** Moves time forward by `ms`, firing due timers and letting their async work settle. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      if (!this.fireNextDue(target)) break;
    }
    this.current = target;
    await settle();
  }
}

/** Lets pending promise chains (appends on the memory store, mailboxes) run to quiescence. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
