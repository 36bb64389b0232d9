import { hashPassword } from '../../gateway/index.js';
import { parseFlags, UsageError } from './usage.js';

export const usage = 'corral hash-password PASSWORD          # prints a scrypt hash for auth.users';

export async function run(argv: string[]): Promise<number> {
  const { positionals } = parseFlags(argv, {}, true);
  if (positionals.length !== 1 || positionals[0] === '') throw new UsageError('hash-password takes exactly one argument: the password');
  process.stdout.write(`${await hashPassword(positionals[0]!)}\n`);
  return 0;
}
