import { CorralError } from '../../store/index.js';

/**
 * Bounds password guessing (README "Authentication", login limits). Every password check
 * (`POST /login`, `Authorization: Basic`, `?token=user:password`) passes here:
 *
 * - per user and per client address, failed checks beyond a free allowance put the key in
 *   a backoff that doubles with each further failure, up to `maxDelayMs`; an attempt in
 *   backoff is refused with 429 and `retryAfterSeconds` without checking the password (so
 *   it does not count either). A success clears the user's failures, not the address's:
 *   one valid account must not reset a guessing address;
 * - at most `maxConcurrentChecks` scrypt derivations run at once, on the whole server; the
 *   next attempt is refused with 429 at once, so a flood cannot take the CPU;
 * - both tables are bounded: past `maxTracked` keys the oldest is forgotten.
 */
export interface LoginThrottleOptions {
  /** failures per user before the backoff starts */
  freeUserFailures: number;
  /** failures per address before its backoff starts (higher: many users may share a NAT) */
  freeAddressFailures: number;
  /** the first backoff, doubled with each further failure */
  baseDelayMs: number;
  maxDelayMs: number;
  maxConcurrentChecks: number;
  /** keys remembered per table (users, addresses) */
  maxTracked: number;
  /** failures older than this are forgotten */
  forgetAfterMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  freeUserFailures: 5,
  freeAddressFailures: 20,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  maxConcurrentChecks: 4,
  maxTracked: 10_000,
  forgetAfterMs: 15 * 60_000,
};

interface Failures {
  count: number;
  /** ms epoch until which this key is refused */
  blockedUntil: number;
  lastFailure: number;
}

class FailureTable {
  private readonly entries = new Map<string, Failures>();

  constructor(
    private readonly free: number,
    private readonly options: LoginThrottleOptions,
  ) {}

  /** ms left in this key's backoff (0: may try) */
  remaining(key: string, now: number): number {
    const entry = this.current(key, now);
    return entry ? Math.max(0, entry.blockedUntil - now) : 0;
  }

  fail(key: string, now: number): void {
    const entry = this.current(key, now) ?? { count: 0, blockedUntil: 0, lastFailure: now };
    entry.count += 1;
    entry.lastFailure = now;
    const over = entry.count - this.free;
    if (over > 0) entry.blockedUntil = now + Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30));
    // re-inserted: the map's order is then least recently failed first, the one evicted
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxTracked) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private current(key: string, now: number): Failures | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.lastFailure > this.options.forgetAfterMs && entry.blockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

export class LoginThrottle {
  private readonly options: LoginThrottleOptions;
  private readonly users: FailureTable;
  private readonly addresses: FailureTable;
  private checking = 0;

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    this.options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
    this.users = new FailureTable(this.options.freeUserFailures, this.options);
    this.addresses = new FailureTable(this.options.freeAddressFailures, this.options);
  }

  /**
   * Runs `check` (the password derivation) unless the user or address is in backoff or
   * too many checks are under way; records its outcome. `address` is '' when unknown.
   */
  async attempt<T>(username: string, address: string, check: () => Promise<T | null>): Promise<T | null> {
    const now = Date.now();
    const userWait = this.users.remaining(username, now);
    const addressWait = address ? this.addresses.remaining(address, now) : 0;
    if (userWait > 0 || addressWait > 0) {
      const wait = Math.max(userWait, addressWait);
      const who = userWait >= addressWait ? `user ${username}` : `address ${address}`;
      throw tooMany(`too many failed logins for ${who}: retry in ${Math.ceil(wait / 1000)} s`, wait);
    }
    if (this.checking >= this.options.maxConcurrentChecks) {
      throw tooMany(`too many logins at once (at most ${this.options.maxConcurrentChecks} password checks run together): retry in 1 s`, 1000);
    }
    this.checking += 1;
    let result: T | null;
    try {
      result = await check();
    } finally {
      this.checking -= 1;
    }
    const after = Date.now();
    if (result === null) {
      this.users.fail(username, after);
      if (address) this.addresses.fail(address, after);
    } else {
      this.users.clear(username);
    }
    return result;
  }
}

function tooMany(message: string, waitMs: number): CorralError {
  return new CorralError('too-many-requests', message, { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
}
