import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { InvalidArgumentError, NotFoundError, isWrongExpectedRevisionError, type Position } from '../../../store/index.js';
import { diffWatcherSpecs, type AccountRequest, type ActorRuntime, type WatcherSpec } from '../../../actors/index.js';
import type { JobGrants } from '../../../gateway/index.js';
import { loadConfigFile, type CorralConfig, type TenantConfig } from '../../config/index.js';
import { tenantConfigDigest } from './config-digest.js';

/** Who configuration-file changes are recorded as (`meta.principal`). */
export const CONFIG_PRINCIPAL = 'config';

/**
 * Where this node's configuration came from: the context's `configPath` when the node
 * provides one, else `corral serve --config FILE`, else `CORRAL_CONFIG` (the rules of
 * `corral serve`); null when the node runs without a file.
 */
export function configFilePath(context: { configPath?: string | null }): string | null {
  if (context.configPath) return resolve(context.configPath);
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config' && argv[i + 1]) return resolve(argv[i + 1]!);
    if (argv[i]!.startsWith('--config=')) return resolve(argv[i]!.slice('--config='.length));
  }
  return process.env.CORRAL_CONFIG ? resolve(process.env.CORRAL_CONFIG) : null;
}

export class TenantConfigSource {
  constructor(
    private readonly path: string | null,
    private readonly startupConfig: CorralConfig,
  ) {}

  private cached: { stamp: string; config: CorralConfig } | null = null;

  /** Re-reads the file (validated; errors name the field) or, without a file, the config the node started with. */
  read(): CorralConfig {
    return this.path ? loadConfigFile(this.path) : this.startupConfig;
  }

  /**
   * The file as it is now for lookups made at every spawn and job (accounts, grants): parsed
   * again only when its size or mtime changed; the startup config when it cannot be read.
   */
  private current(): CorralConfig {
    if (!this.path) return this.startupConfig;
    try {
      const stat = statSync(this.path);
      const stamp = `${stat.size}:${stat.mtimeMs}`;
      if (this.cached?.stamp !== stamp) this.cached = { stamp, config: loadConfigFile(this.path) };
      return this.cached.config;
    } catch {
      return this.startupConfig;
    }
  }

  /** The file's tenants; the startup config's when the file cannot be read now (a minion must not be refused for that). */
  tenantNames(): string[] {
    try {
      return Object.keys(this.read().tenants);
    } catch {
      return Object.keys(this.startupConfig.tenants);
    }
  }

  /**
   * The tenant's `jobs.allow` as the file says now (a grant takes effect without a restart);
   * the startup config's when the file cannot be read now.
   */
  jobGrants(tenant: string): JobGrants | null {
    const config = this.current();
    return Object.hasOwn(config.tenants, tenant) ? (config.tenants[tenant]!.jobs?.allow ?? null) : null;
  }

  /** The tenant's `user`/`group` as the file says now (used at every spawn and job dispatch). */
  account(tenant: string): AccountRequest | null {
    const config = this.current();
    const section = Object.hasOwn(config.tenants, tenant) ? config.tenants[tenant]! : null;
    if (!section || (section.user === undefined && section.group === undefined)) return null;
    return { ...(section.user === undefined ? {} : { user: section.user }), ...(section.group === undefined ? {} : { group: section.group }) };
  }

  tenant(tenant: string): TenantConfig {
    const config = this.read();
    const found = Object.hasOwn(config.tenants, tenant) ? config.tenants[tenant] : undefined;
    if (!found) {
      throw new NotFoundError(`tenant ${tenant} is not in the configuration ${this.path ? `file ${this.path}` : '(the node runs without a config file)'}`, { tenant });
    }
    return found;
  }
}

const isActiveTenant = (runtime: ActorRuntime, tenant: string): boolean =>
  (runtime.supervisor.tenantCell(tenant).snapshot as unknown as { value: string }).value === 'active';

/** Whether the tenant's watchers differ from `watchers` (so a reconfigure would append something). */
function differs(runtime: ActorRuntime, tenant: string, watchers: Record<string, WatcherSpec>): boolean {
  const current = runtime.watcherNames(tenant);
  const wanted = Object.keys(watchers);
  if (current.length !== wanted.length || current.some((name) => !Object.hasOwn(watchers, name))) return true;
  return current.some((name) => diffWatcherSpecs(runtime.watcherSpec(tenant, name)!, watchers[name]!).length > 0);
}

/**
 * Makes a tenant what its section of the configuration file says: creates it if it does not
 * exist, applies the watcher differences (added, updated, removed), then records the
 * section's digest (`tenants.config-applied`) last, so a crash halfway leaves the old digest
 * and the next start applies the section again. Appends nothing when the tenant already is
 * what the section says and the digest is already recorded.
 */
export async function applyTenantConfig(runtime: ActorRuntime, tenant: string, config: TenantConfig, principal = CONFIG_PRINCIPAL): Promise<{ created: boolean; positions: Position[] }> {
  const positions: Position[] = [];
  let created = false;
  if (!isActiveTenant(runtime, tenant)) {
    try {
      positions.push(...(await runtime.createTenant(tenant, principal)));
      created = true;
    } catch (error) {
      if (!isWrongExpectedRevisionError(error)) throw error;
    }
  }
  if (differs(runtime, tenant, config.watchers)) {
    positions.push(...(await runtime.reconfigureTenant(tenant, config.watchers as unknown as Record<string, unknown>, principal)));
  }
  positions.push(...(await runtime.recordTenantConfigDigest(tenant, tenantConfigDigest(config), principal)));
  return { created, positions };
}

export type TenantApplyResult = { created: boolean; events: number } | { unchanged: true } | { error: string };

/**
 * The tenants of the configuration, one after another; a failing tenant is logged and the
 * others still applied. `always` (`corral ctl full-reconfigure`) applies every section;
 * `when-changed` (a start) applies only the sections whose digest differs from the one
 * last recorded, so a restart keeps every change made through the API since.
 */
export async function applyConfig(
  runtime: ActorRuntime,
  config: CorralConfig,
  log: Logger,
  mode: 'always' | 'when-changed' = 'always',
): Promise<Record<string, TenantApplyResult>> {
  const results: Record<string, TenantApplyResult> = {};
  for (const [tenant, tenantConfig] of Object.entries(config.tenants)) {
    try {
      if (mode === 'when-changed' && (await runtime.tenantConfigDigest(tenant)) === tenantConfigDigest(tenantConfig)) {
        results[tenant] = { unchanged: true };
        log.info({ tenant }, 'configuration file unchanged since it was last applied: left as it is');
        continue;
      }
      const { created, positions } = await applyTenantConfig(runtime, tenant, tenantConfig);
      results[tenant] = { created, events: positions.length };
      if (positions.length > 0 || mode === 'when-changed') log.info({ tenant, created, events: positions.length }, 'tenant configured from the configuration file');
    } catch (error) {
      results[tenant] = { error: (error as Error).message };
      log.error({ tenant, err: error }, 'could not apply the tenant configuration');
    }
  }
  return results;
}

export function assertTenantArgument(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError('tenant-reconfigure needs a tenant name', { field: 'tenant' });
  return value;
}
