import { hostname } from 'node:os';

/**
 * The minion id a host gets when none is given (`corral minion` without `--id`, and the
 * server's local minion): its host name made a valid name (lower case, runs of other
 * characters as one `-`, at most 63 characters, starting with a letter or digit). One rule
 * for the agent and the runtime, so both agree on which minion is "local".
 */
export function defaultMinionId(host: string = hostname()): string {
  const id = host
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return id || 'minion';
}
