import { describe, expect, it } from 'vitest';
import { CorralError } from '../../store/index.js';
import { LoginThrottle } from './login-throttle.js';

const fail = async (): Promise<null> => null;
const pass = async (): Promise<{ ok: true }> => ({ ok: true });
const refusal = async (promise: Promise<unknown>): Promise<CorralError | null> => promise.then(() => null, (error: CorralError) => error);

describe('LoginThrottle', () => {
  it('backs a user off after the free failures, doubling, and a success clears it', async () => {
    const throttle = new LoginThrottle({ freeUserFailures: 2, freeAddressFailures: 100, baseDelayMs: 10_000 });
    await throttle.attempt('u', 'a', fail);
    await throttle.attempt('u', 'a', fail);
    await throttle.attempt('u', 'a', fail); // the third failure starts a 10 s backoff
    const refused = await refusal(throttle.attempt('u', 'a', pass));
    expect(refused?.code).toBe('too-many-requests');
    expect(refused?.details?.retryAfterSeconds).toBe(10);
    // another user from the same address is not held
    expect(await throttle.attempt('v', 'a', pass)).toEqual({ ok: true });
  });

  it('caps concurrent checks and refuses the next at once', async () => {
    const throttle = new LoginThrottle({ maxConcurrentChecks: 2 });
    let release!: () => void;
    const gate = new Promise<null>((resolve) => (release = () => resolve(null)));
    let checks = 0;
    const slow = () => ((checks += 1), gate);
    const running = [throttle.attempt('a', '', slow), throttle.attempt('b', '', slow)];
    const third = await refusal(throttle.attempt('c', '', slow));
    expect(third?.details?.retryAfterSeconds).toBe(1);
    expect(checks).toBe(2);
    release();
    await Promise.all(running);
  });

  it('remembers at most maxTracked keys, forgetting the oldest', async () => {
    const throttle = new LoginThrottle({ freeUserFailures: 0, freeAddressFailures: 100, maxTracked: 3 });
    for (const user of ['a', 'b', 'c', 'd']) await throttle.attempt(user, '', fail);
    // 'a' was evicted: it may try again; 'd' is still held
    expect(await throttle.attempt('a', '', pass)).toEqual({ ok: true });
    expect((await refusal(throttle.attempt('d', '', pass)))?.code).toBe('too-many-requests');
    expect((throttle as unknown as { users: { entries: Map<string, unknown> } }).users.entries.size).toBeLessThanOrEqual(3);
  });
});
