/**
 * Time for the job actor, injected so tests move time instead of sleeping (XState's
 * `SimulatedClock` idea, plus `now()` because deciders compare against recorded times).
 * The actor runtime can hand its own clock in: anything with these members fits.
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
  setTimeout(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    // A pending job timeout must not keep a stopping process alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface SimulatedTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/** A clock that only moves when told to; timers fire in due order during `advance`. */
export class SimulatedClock implements Clock {
  private time: number;
  private nextTimerId = 1;
  private readonly timers = new Map<number, SimulatedTimer>();

  constructor(startAt = Date.UTC(2026, 0, 1)) {
    this.time = startAt;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.nextTimerId++;
    this.timers.set(id, { id, dueAt: this.time + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** timers not yet fired */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    this.setTime(this.time + ms);
  }

  setTime(time: number): void {
    for (;;) {
      let next: SimulatedTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.dueAt <= time && (next === undefined || timer.dueAt < next.dueAt || (timer.dueAt === next.dueAt && timer.id < next.id))) next = timer;
      }
      if (next === undefined) break;
      this.timers.delete(next.id);
      this.time = Math.max(this.time, next.dueAt);
      next.callback();
    }
    this.time = Math.max(this.time, time);
  }
}
