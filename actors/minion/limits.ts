/**
 * The size limits of the `/minion` protocol, in one place: the server checks a job against
 * them when it is created (a 400 naming the limit), the hub and the minion agent size their
 * websockets with them, the minion's frame validation refuses what exceeds them, and the
 * minion truncates job returns to fit them (README "Run a job", docs/operations.md "Frame
 * limits"). Defining them once keeps the two sides from disagreeing: a job the server
 * accepted must never be a frame the minion refuses, because a refused frame drops the one
 * connection every tenant of that minion shares.
 */

/** the largest websocket message either side of `/minion` accepts (msgpack-encoded frame) */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** the most arguments a `runJob` command (a job's `args`) may carry */
export const MAX_JOB_ARGS = 10_000;
/**
 * Room a `runJob` command or a `jobReturn` report needs besides its args or return: the
 * frame type, seq, tenant, jid, function and minion names, codes and msgpack headers (well
 * under 1 KiB; the rest is margin).
 */
export const FRAME_ENVELOPE_BYTES = 16 * 1024;
/** the most a job's args may take in a minion frame ({@link wireSizeBound}) */
export const MAX_JOB_ARGS_WIRE_BYTES = MAX_FRAME_BYTES - FRAME_ENVELOPE_BYTES;
/** the most a job's return may take in a minion frame; a larger one is truncated by the minion */
export const MAX_JOB_RETURN_WIRE_BYTES = MAX_FRAME_BYTES - FRAME_ENVELOPE_BYTES;

/**
 * A `spawn` command (a watcher's process), as the minion validates it and the watcher spec
 * is checked on the server: the most args and environment variables, the longest arg or env
 * value, env name, `cmd` or `cwd`, and readiness `path`.
 */
export const MAX_PROCESS_ARGS = 10_000;
export const MAX_PROCESS_ENV = 1000;
export const MAX_PROCESS_TEXT_CHARS = 64 * 1024;
export const MAX_ENV_NAME_CHARS = 256;
export const MAX_PATH_CHARS = 4096;
export const MAX_READY_PATH_CHARS = 2048;
/** the most a spawn command's cmd, args, env and cwd may take in a frame together */
export const MAX_SPAWN_WIRE_BYTES = MAX_FRAME_BYTES - FRAME_ENVELOPE_BYTES;

const MAX_DEPTH = 256;

/**
 * An upper bound of the bytes `value` takes msgpack-encoded (the minion protocol's encoding):
 * 9 for any number, 5 of header plus the UTF-8 bytes for a string or key, 5 per array or map
 * header. It never underestimates, so a value within a budget always fits the frame. Counting
 * stops once `stopAbove` is exceeded (the result is then only "more than stopAbove"), and a
 * value nested deeper than 256 levels (or cyclic) counts as Infinity.
 */
export function wireSizeBound(value: unknown, stopAbove = Number.POSITIVE_INFINITY): number {
  let total = 0;
  const visit = (item: unknown, depth: number): void => {
    if (total > stopAbove) return;
    if (depth > MAX_DEPTH) {
      total = Number.POSITIVE_INFINITY;
      return;
    }
    switch (typeof item) {
      case 'string':
        total += 5 + Buffer.byteLength(item, 'utf8');
        return;
      case 'number':
      case 'bigint':
        total += 9;
        return;
      case 'boolean':
      case 'undefined':
        total += 3;
        return;
      case 'object':
        if (item === null) {
          total += 1;
          return;
        }
        if (ArrayBuffer.isView(item)) {
          total += 5 + item.byteLength;
          return;
        }
        total += 5;
        if (Array.isArray(item)) {
          for (const element of item) visit(element, depth + 1);
          return;
        }
        for (const key of Object.keys(item)) {
          total += 5 + Buffer.byteLength(key, 'utf8');
          visit((item as Record<string, unknown>)[key], depth + 1);
        }
        return;
      default:
        // functions and symbols are not data; msgpackr writes them as nil or fails
        total += 9;
    }
  };
  visit(value, 0);
  return total;
}
