import { CorralError } from '../../store/index.js';
import { CONTROL_USAGE, postCommand, runControl } from './control.js';
import { integerFlag, UsageError } from './usage.js';

export const usage = `corral add ${CONTROL_USAGE} [--numprocesses N] [--env K=V]... [--cwd DIR] TENANT:WATCHER -- CMD [ARGS...]`;

/**
 * `corral add`: creates a watcher (`POST .../watchers`, which needs admin on the tenant) with
 * the command after `--`, and waits until its processes run. Other spec fields (restart,
 * ready, logs; see README "Configuration") are set with the HTTP API or the config file.
 */
export async function run(argv: string[]): Promise<number> {
  return runControl(
    argv,
    { least: 'watcher', most: 'watcher' },
    ({ target, values, extra }) => {
      const [cmd, ...args] = extra;
      if (cmd === undefined) throw new UsageError('the command is missing: corral add TENANT:WATCHER -- CMD [ARGS...]');
      const numprocesses = integerFlag(values.numprocesses as string | undefined, '--numprocesses', 0, 10_000) ?? 1;
      const env: Record<string, string> = {};
      for (const pair of (values.env as string[] | undefined) ?? []) {
        const equals = pair.indexOf('=');
        if (equals <= 0) throw new UsageError(`--env must be KEY=VALUE (got ${JSON.stringify(pair)})`);
        env[pair.slice(0, equals)] = pair.slice(equals + 1);
      }
      const spec: Record<string, unknown> = { name: target.watcher, cmd, args, numprocesses, env };
      if (values.cwd !== undefined) spec.cwd = values.cwd;
      return {
        createsWatcher: true,
        waitingFor: `${numprocesses} running process(es)`,
        send: ({ server }) =>
          postCommand(server, `/api/v1/tenants/${target.tenant}/watchers`, spec).catch((error: unknown) => {
            // the create expects no watcher stream yet: a conflict means the name is taken
            if (error instanceof CorralError && error.code === 'conflict') {
              throw new CorralError('conflict', `watcher ${JSON.stringify(target.watcher)} already exists in tenant ${target.tenant}`, { tenant: target.tenant, watcher: target.watcher });
            }
            throw error;
          }),
        settled: (snapshot) => snapshot.processes.length === numprocesses && snapshot.processes.every((p) => p.state === 'running'),
      };
    },
    { numprocesses: { type: 'string' }, env: { type: 'string', multiple: true }, cwd: { type: 'string' } },
  );
}
