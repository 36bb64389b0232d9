import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter in `rand_a` that makes
 * ids generated in the same millisecond strictly increasing (method 1 of §6.2), then 62
 * random bits. If the clock goes backwards we keep the last timestamp, so ids from one
 * process never go backwards either.
 */
const random = Buffer.alloc(4096);
let randomOffset = random.length;
let lastMs = -1;
let counter = 0;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomBytes(n: number): number {
  if (randomOffset + n > random.length) {
    randomFillSync(random);
    randomOffset = 0;
  }
  const at = randomOffset;
  randomOffset += n;
  return at;
}

export function uuidv7(now: number = Date.now()): string {
  let ms = now > lastMs ? now : lastMs;
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond rather than repeat
      ms = lastMs + 1;
      counter = random[randomBytes(1)]! & 0x3ff;
    }
  } else {
    // start low in the counter space so many ids fit into the same millisecond
    counter = random[randomBytes(1)]! & 0x3ff;
  }
  lastMs = ms;
  const r = randomBytes(8);
  const hi = Math.floor(ms / 0x10000);
  const lo = ms % 0x10000;
  const b6 = 0x70 | (counter >> 8);
  const b7 = counter & 0xff;
  const b8 = 0x80 | (random[r]! & 0x3f);
  return (
    HEX[(hi >>> 24) & 0xff]! + HEX[(hi >>> 16) & 0xff]! + HEX[(hi >>> 8) & 0xff]! + HEX[hi & 0xff]! + '-' +
    HEX[lo >>> 8]! + HEX[lo & 0xff]! + '-' +
    HEX[b6]! + HEX[b7]! + '-' +
    HEX[b8]! + HEX[random[r + 1]!]! + '-' +
    HEX[random[r + 2]!]! + HEX[random[r + 3]!]! + HEX[random[r + 4]!]! + HEX[random[r + 5]!]! + HEX[random[r + 6]!]! + HEX[random[r + 7]!]!
  );
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The millisecond timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
