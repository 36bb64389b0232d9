import { CorralError } from '../../../store/index.js';
import type { Principal, Role } from '../../auth/index.js';

/**
 * Which role a job function needs (README.md "Jobs", docs/security.md). Jobs need `operate`,
 * but a function that can run arbitrary commands on a minion (`cmd.run`) is as strong as
 * the account the minion runs it under, so every function outside this list needs `admin`
 * on the tenant, unless the tenant's section of the configuration file grants it to
 * `operate` by name (`tenants.<t>.jobs.allow.operate: [cmd.run]`), in the manner of Salt's
 * publisher_acl. Unknown functions (plugins) are admin-only too: the default is to refuse.
 */
export const OPERATE_JOB_FUNCTIONS: readonly string[] = Object.freeze(['test.ping', 'test.echo', 'test.sleep', 'grains.items', 'proc.list']);

/** A tenant's explicit grants: the functions beyond OPERATE_JOB_FUNCTIONS each role may run. */
export interface JobGrants {
  operate?: readonly string[];
}

export function jobFunctionRole(fun: string, grants: JobGrants | null): Role {
  if (OPERATE_JOB_FUNCTIONS.includes(fun)) return 'operate';
  return grants?.operate?.includes(fun) ? 'operate' : 'admin';
}

/** Throws 403 unless `principal` may run `fun` on `tenant`, saying how the function is granted. */
export function requireJobFunction(principal: Principal, tenant: string, fun: unknown, grants: JobGrants | null): void {
  if (typeof fun !== 'string') return; // the job's validation names the bad field
  const needed = jobFunctionRole(fun, grants);
  if (principal.has(tenant, needed)) return;
  const held = principal.roleFor(tenant);
  throw new CorralError(
    'forbidden',
    `${fun} needs the admin role on tenant ${tenant} (${principal.subject} has ${held ?? 'no role'}): it can run commands on the minion. ` +
      `To let operate run it, list it in the configuration file under tenants.${tenant}.jobs.allow.operate (e.g. [${fun}]). ` +
      `Operate may run ${OPERATE_JOB_FUNCTIONS.join(', ')}.`,
    { tenant, needed, held, fun },
  );
}
