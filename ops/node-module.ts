import type { Logger } from 'pino';
import type { EventStore } from '../store/index.js';
import type { ComponentState } from '../actors/index.js';
import type { Gateway, TokenService } from '../gateway/index.js';
import type { CorralConfig } from './config/index.js';

/** What a plug-in (projections, actor runtime, websocket protocols, local minion) gets at start. */
export interface NodeContext {
  config: CorralConfig;
  store: EventStore;
  /** add routes (`gateway.router`), websockets (`gateway.ws`), metrics, capabilities, readiness checks */
  gateway: Gateway;
  /** signs tokens with the cluster secret (e.g. for the local minion) */
  tokens: TokenService;
  log: Logger;
  dataDir: string;
  /** this server's component key `<host>:<pid>` */
  componentKey: string;
  version: string;
  /** `--model-api-max` (default: the newest this build supports) */
  modelApiMax: number;
  /** `--no-local-minion` was not given and the config leaves `minion.local` on */
  localMinion: boolean;
  /** the node's URL, known once listening (modules start before; read it lazily) */
  url(): string;
  setComponentState(state: ComponentState): void;
  componentState(): ComponentState;
}

export interface StopInfo {
  /** 1001 going away (plain stop), 1012 restarting (rolling restart: clients resume elsewhere) */
  closeCode: 1001 | 1012;
  /** keep the local minion and its processes running (`corral ctl stop --keep-minion`) */
  keepMinion: boolean;
}

export interface StartedModule {
  /** called in reverse start order during a graceful stop, after websockets closed and before the store closes */
  stop?(info: StopInfo): Promise<void> | void;
  /** called once the gateway listens (e.g. to start the local minion against the URL) */
  listening?(url: string): Promise<void> | void;
}

/**
 * A part of a node. Modules start in order after the store opened and before the gateway
 * listens, so their routes exist before the first request arrives.
 */
export interface NodeModule {
  name: string;
  start(context: NodeContext): Promise<StartedModule | void> | StartedModule | void;
}
