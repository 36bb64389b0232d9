import { UnavailableError } from '../errors.js';

/**
 * What a failed LMDB commit means, as our error. lmdb-js rejects each write of a failed
 * commit with a generic "Commit failed" whose `commitError` promise rejects with the cause
 * (ENOSPC, or EIO when a full disk surfaces at msync); nobody else awaits that promise, so
 * leaving it alone is an unhandled rejection that kills the server (issue 14 item 5).
 */
export async function commitFailure(error: unknown): Promise<Error | null> {
  const detail = (error as { commitError?: unknown } | null)?.commitError;
  // anything else (an exception inside the transaction) is not a failure to write
  if (!(detail instanceof Promise)) return null;
  const cause = await detail.then(() => error, (reason: unknown) => reason);
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  const diskFull = code === 28 || code === 5 || code === 'ENOSPC' || code === 'EIO' || /no space|input\/output/i.test(message);
  return new UnavailableError(
    diskFull
      ? `disk full: the event store could not write (${message}); reads keep working, and writes resume by themselves once there is space`
      : `the event store could not write (${message}); reads keep working`,
    { reason: diskFull ? 'disk-full' : 'write-failed' },
  );
}
