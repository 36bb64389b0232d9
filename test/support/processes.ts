import { httpJson } from './http.js';

/** A processes view object, as the end-to-end tests read it. */
export interface ProcessObject {
  key: string;
  slot: number;
  state: string;
  pid: number | null;
  ready: boolean;
  restarts: number;
}

/** One watcher's processes from `GET .../processes`, by slot. */
export async function listProcesses(url: string, token: string, tenant: string, watcher: string): Promise<ProcessObject[]> {
  const response = await httpJson(`${url}/api/v1/tenants/${tenant}/processes?filter=${encodeURIComponent(`watcher=Eq("${watcher}")`)}`, { token });
  if (response.status !== 200) throw new Error(`processes: ${response.status} ${response.text}`);
  return (response.body as { items: ProcessObject[] }).items.sort((a, b) => a.slot - b.slot);
}
