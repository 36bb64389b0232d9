// Rolling restarts and upgrades on one machine (docs/operations.md "Rolling restart on one machine"): port sharing, per-node
// addressing (`<dataDir>/nodes/`), the successor, and the hand-over.
export { claimPort, type PortClaim } from './shared-port.js';
export { openNodeAdmin, type NodeAdmin, type NodeAdminOptions, type NodeStatus } from './node-admin.js';
export { liveNodeRecords, otherLiveNodes, readNodeRecord, isProcessAlive, nodeRecordPath, nodeSocketPath, NODES_DIR, type NodeRecord } from './node-registry.js';
export { callNode } from './node-client.js';
export { currentServeCommand, successorArgv, type ServeCommand } from './successor.js';
export { rollingRestart, type RollingRestartOptions, type RollingRestartResult } from './rolling-restart.js';
export { notifyServiceManager } from './systemd.js';
