import { InvalidArgumentError } from '../../store/index.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `15m`, `24h`, `7d`, `1w`, `500ms`, or a number of seconds -> milliseconds. */
export function parseDuration(value: unknown, field = 'duration'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.round(value * 1000);
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
    if (match) {
      const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
      if (ms > 0) return Math.round(ms);
    }
  }
  throw new InvalidArgumentError(`${field}: must be a positive duration like 90s, 15m, 24h or 7d (got ${JSON.stringify(value)})`, { field });
}
