/**
 * Time is injected (XState's `clock`): actors read `now()` and arm timers through a Clock
 * so tests move time with a `ManualClock` instead of sleeping.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    // actor timers must never keep a stopping process alive
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/**
 * A simulated clock: time only moves when the test calls `advance`/`set`; due timers fire
 * in due order (ties in arming order). Callbacks run synchronously; `advanceAsync` lets
 * the promise chains they start settle between timers.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
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

  /** Moves time forward by `ms`, firing due timers and letting their async work settle. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      const next = this.earliestDue(target);
      if (!next) break;
      this.timers.delete(next.id);
      this.current = Math.max(this.current, next.dueAt);
      next.callback();
    }
    this.current = target;
    await settle();
  }

  private earliestDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.dueAt > limit) continue;
      if (!best || timer.dueAt < best.dueAt || (timer.dueAt === best.dueAt && timer.id < best.id)) best = timer;
    }
    return best;
  }
}

/** Lets pending promise chains (appends on the memory store, mailboxes) run to quiescence. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
