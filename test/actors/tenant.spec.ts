import { describe, expect, it } from 'vitest';
import { isNotFoundError, isWrongExpectedRevisionError, tenantStream, watcherStream } from '../../store/index.js';
import { ADMIN, harness, sleepSpec, until } from './harness.js';

describe('tenant actor', () => {
  it('given a configuration, when reconfigured, then exactly the added, changed and removed watchers are recorded', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.reconfigureTenant('acme', { web: sleepSpec(), api: sleepSpec({ numprocesses: 2 }), cron: sleepSpec() }, ADMIN);
    expect((await h.events(tenantStream('acme'))).at(-1)!.data).toEqual({ configVersion: 2, added: ['api', 'cron', 'web'], updated: [], removed: [] });
    await until(async () => h.minions.runs.size === 4, 'four processes');
    const head = await h.store.headPosition();

    // edit: web unchanged, api changes numprocesses, cron removed, worker added
    await h.runtime.reconfigureTenant('acme', { web: sleepSpec(), api: sleepSpec({ numprocesses: 1 }), worker: sleepSpec({ args: ['60'] }) }, ADMIN);
    const appended = await h.store.readAll({ after: head, types: ['tenants', 'watchers'] });
    expect(appended.map((e) => `${e.type}.${e.action}.${e.key}`)).toEqual([
      'watchers.create.acme:worker',
      'watchers.update.acme:api',
      'watchers.destroy.acme:cron',
      'tenants.reconfigure.acme',
    ]);
    expect(appended.at(-1)!.data).toEqual({ configVersion: 3, added: ['worker'], updated: ['api'], removed: ['cron'] });
    expect(appended[1]!.data).toMatchObject({ changed: ['numprocesses'] });
    expect(await h.actions(watcherStream('acme', 'web'))).toEqual(['create']);
    await until(async () => h.minions.runs.size === 3, 'web, api:0 and worker run');

    // the same configuration again: only the reconfigure event (nothing differs)
    const again = await h.store.headPosition();
    await h.runtime.reconfigureTenant('acme', { web: sleepSpec(), api: sleepSpec({ numprocesses: 1 }), worker: sleepSpec({ args: ['60'] }) }, ADMIN);
    const second = await h.store.readAll({ after: again, types: ['tenants', 'watchers'] });
    expect(second.map((e) => `${e.type}.${e.action}`)).toEqual(['tenants.reconfigure']);
  });

  it('given a tenant with watchers, when destroyed, then its watchers are destroyed first and their processes stop', async () => {
    const h = await harness();
    await h.runtime.createTenant('acme', ADMIN);
    await h.runtime.reconfigureTenant('acme', { web: sleepSpec(), api: sleepSpec() }, ADMIN);
    await until(async () => h.minions.runs.size === 2, 'running');
    const head = await h.store.headPosition();
    await h.runtime.destroyTenant('acme', ADMIN);
    const appended = await h.store.readAll({ after: head, types: ['tenants', 'watchers'] });
    expect(appended.map((e) => `${e.type}.${e.action}.${e.key}`)).toEqual(['watchers.destroy.acme:api', 'watchers.destroy.acme:web', 'tenants.destroy.acme']);
    await until(async () => h.minions.runs.size === 0, 'stopped');
    await expect(h.runtime.createWatcher('acme', 'x', sleepSpec(), ADMIN)).rejects.toSatisfy(isNotFoundError);
    await expect(h.runtime.destroyTenant('acme', ADMIN)).rejects.toSatisfy(isNotFoundError);
    // a tenant can be created again; its stream continues
    await h.runtime.createTenant('acme', ADMIN);
    await expect(h.runtime.createTenant('acme', ADMIN)).rejects.toSatisfy(isWrongExpectedRevisionError);
    expect(await h.actions(tenantStream('acme'))).toEqual(['create', 'reconfigure', 'destroy', 'create']);
  });
});
