import type { Clock } from '../runtime/clock.js';

/**
 * Salt's job id: `YYYYMMDDhhmmssffffff`, UTC, microseconds. Ids are strictly increasing within
 * a process: when the clock would give the same (or an earlier) microsecond again, the last
 * id's microsecond is bumped instead, so a burst of jobs in one microsecond still gets
 * distinct ids (they run slightly ahead of the wall clock until the burst is over).
 * Across processes the job stream's `noStream` append check catches the rare collision.
 */
let lastIssuedMicros = 0;

export function newJid(clock: Clock): string {
  const micros = clock.nowMicros?.() ?? Math.floor(clock.now() * 1000);
  lastIssuedMicros = micros > lastIssuedMicros ? micros : lastIssuedMicros + 1;
  return formatJid(lastIssuedMicros);
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** Formats microseconds since the epoch as a jid. */
export function formatJid(epochMicros: number): string {
  const millis = Math.floor(epochMicros / 1000);
  const date = new Date(millis);
  const fraction = epochMicros - Math.floor(epochMicros / 1_000_000) * 1_000_000;
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    pad(fraction, 6)
  );
}

/** The jid's start time in ms epoch (Salt's jids carry their start time). */
export function jidTime(jid: string): number {
  return Date.UTC(
    Number(jid.slice(0, 4)),
    Number(jid.slice(4, 6)) - 1,
    Number(jid.slice(6, 8)),
    Number(jid.slice(8, 10)),
    Number(jid.slice(10, 12)),
    Number(jid.slice(12, 14)),
    Number(jid.slice(14, 17)),
  );
}
