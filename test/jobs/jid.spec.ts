import { describe, expect, it } from 'vitest';
import { formatJid, jidTime, newJid, SimulatedClock, systemClock } from '../../actors/index.js';
import { JID_PATTERN } from '../../store/index.js';

describe('job ids', () => {
  it("have Salt's YYYYMMDDhhmmssffffff form in UTC", () => {
    expect(formatJid(Date.UTC(2014, 5, 9, 15, 36, 46, 699) * 1000 + 137)).toBe('20140609153646699137');
    const jid = newJid(systemClock);
    expect(jid).toMatch(JID_PATTERN);
    expect(Math.abs(jidTime(jid) - Date.now())).toBeLessThan(60_000);
  });

  it('are unique and increasing under a burst of 100,000 ids in one instant', () => {
    const frozen = new SimulatedClock(Date.UTC(2030, 0, 1));
    const ids: string[] = [];
    for (let i = 0; i < 100_000; i += 1) ids.push(newJid(frozen));
    expect(new Set(ids).size).toBe(100_000);
    let outOfOrder = 0;
    for (let i = 1; i < ids.length; i += 1) if (!(ids[i]! > ids[i - 1]!)) outOfOrder += 1;
    expect(outOfOrder).toBe(0);
    for (const id of ids.slice(0, 10)) expect(id).toMatch(JID_PATTERN);
    // bumped microseconds, not a different format: 100,000 µs later is 0.1 s later
    expect(ids[99_999]).toBe(formatJid(Date.UTC(2030, 0, 1) * 1000 + 99_999));
  });

  it('stay increasing when the clock goes backwards', () => {
    const clock = new SimulatedClock(Date.UTC(2031, 0, 1));
    const first = newJid(clock);
    clock.setTime(Date.UTC(2031, 0, 1)); // a no-op forward; simulate a step back with a new clock
    const earlier = new SimulatedClock(Date.UTC(2020, 0, 1));
    expect(newJid(earlier) > first).toBe(true);
  });
});
