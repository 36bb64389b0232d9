import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../../store/index.js';

/**
 * Password hashes for `auth.users`: `scrypt$N$r$p$<salt base64url>$<hash base64url>`.
 * The parameters travel with the hash, so they can be raised later without breaking
 * existing entries. Verification compares in constant time.
 */
const DEFAULT = { N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 };

function derive(password: string, salt: Buffer, N: number, r: number, p: number, keyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes, or Node refuses large N.
    scrypt(password.normalize('NFC'), salt, keyBytes, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new InvalidArgumentError('password must be a non-empty string');
  const salt = randomBytes(DEFAULT.saltBytes);
  const key = await derive(password, salt, DEFAULT.N, DEFAULT.r, DEFAULT.p, DEFAULT.keyBytes);
  return ['scrypt', DEFAULT.N, DEFAULT.r, DEFAULT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export interface ParsedPasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash; throws a clear error naming what is wrong (config validation uses it). */
export function parsePasswordHash(text: unknown): ParsedPasswordHash {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`invalid password hash (${why}): expected scrypt$N$r$p$salt$hash from \`corral hash-password\``);
  };
  if (typeof text !== 'string') return fail('not a string');
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return fail('wrong format');
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0 || N > 2 ** 20) return fail('N must be a power of two up to 2^20');
  if (!Number.isInteger(r) || r < 1 || r > 64 || !Number.isInteger(p) || p < 1 || p > 16) return fail('bad r or p');
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length < 16) return fail('salt or hash too short');
  return { N, r, p, salt, key };
}

export async function verifyPassword(password: string, hash: ParsedPasswordHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.N, hash.r, hash.p, hash.key.length);
  return timingSafeEqual(key, hash.key);
}

/**
 * A hash no password matches, used for unknown user names so a login attempt costs the
 * same scrypt work whether or not the user exists (no user enumeration by timing).
 */
export const UNMATCHABLE_HASH: ParsedPasswordHash = {
  N: DEFAULT.N,
  r: DEFAULT.r,
  p: DEFAULT.p,
  salt: randomBytes(DEFAULT.saltBytes),
  key: randomBytes(DEFAULT.keyBytes),
};
