import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { CorralError, writeFileAtomicSync } from '../../store/index.js';

export const SECRET_FILE = 'secret';
export const ADMIN_TOKEN_FILE = 'admin.token';
/** the subject of `admin.token`: the local minion's credential is this subject with `*` */
export const ADMIN_TOKEN_SUBJECT = 'admin';
const SECRET_BYTES = 48;

/**
 * The cluster's signing key `<dataDir>/secret` (README "Authentication"): created once with mode 0600
 * and never overwritten. Creation is exclusive (`wx`), so two servers starting at once on
 * one data directory agree on one key.
 */
export function loadOrCreateSecret(dataDir: string): { secret: Uint8Array; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SECRET_FILE);
  let created = false;
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return { secret: readSecret(dataDir), created };
}

/** Reads an existing secret (`corral token` must not create one: it would sign for no server). */
export function readSecret(dataDir: string): Uint8Array {
  const path = join(dataDir, SECRET_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CorralError('not-found', `no secret at ${path}: start \`corral serve --data-dir ${dataDir}\` once to create it`);
    }
    throw error;
  }
  const secret = Buffer.from(text, 'base64url');
  if (secret.length < 32) {
    throw new CorralError('corrupt', `${path} holds ${secret.length} bytes of key; expected at least 32 (base64url). It was not overwritten.`);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CorralError('forbidden', `${path} is readable by other users (mode ${mode.toString(8)}); run \`chmod 600 ${path}\``);
  }
  return new Uint8Array(secret);
}

/** Writes `<dataDir>/admin.token` (0600) atomically, so a reader never sees half a token. */
export function writeAdminToken(dataDir: string, token: string): string {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  writeFileAtomicSync(path, `${token}\n`, 0o600);
  return path;
}
