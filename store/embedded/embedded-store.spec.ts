import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStoreContract } from '../testing/contract.js';
import { openStore } from '../open.js';

describeEventStoreContract('embedded', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'corral-store-'));
  const store = await openStore({ kind: 'embedded', dataDir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
