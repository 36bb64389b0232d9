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
  // written as ASCII into a scratch buffer and sliced once: a flat string, which encoders
  // copy much faster than the rope that string concatenation would build
  writeHex(0, (hi >>> 24) & 0xff);
  writeHex(2, (hi >>> 16) & 0xff);
  writeHex(4, (hi >>> 8) & 0xff);
  writeHex(6, hi & 0xff);
  writeHex(9, lo >>> 8);
  writeHex(11, lo & 0xff);
  writeHex(14, 0x70 | (counter >> 8));
  writeHex(16, counter & 0xff);
  writeHex(19, 0x80 | (random[r]! & 0x3f));
  writeHex(21, random[r + 1]!);
  for (let i = 0; i < 6; i++) writeHex(24 + 2 * i, random[r + 2 + i]!);
  return text.latin1Slice(0, 36);
}

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1') as Latin1Buffer;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

function writeHex(at: number, byte: number): void {
  text[at] = HEX_DIGITS[byte >>> 4]!;
  text[at + 1] = HEX_DIGITS[byte & 0xf]!;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The millisecond timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
