import { resolve } from 'node:path';
import { isCorralError } from '../../store/index.js';
import { defaultConfig, loadConfigFile, STORE_KINDS, type CorralConfig } from '../config/index.js';
import { createLogger, LOG_LEVELS } from '../logging.js';
import { MODEL_API, startNode } from '../serve.js';
import { choiceFlag, integerFlag, parseFlags } from './usage.js';

export const usage = `corral serve [--config FILE] [--host H] [--port P] [--data-dir D] [--store embedded|memory|kurrentdb]
             [--store-url URL] [--no-local-minion] [--model-api-max N] [--log-level L]`;

const flags = {
  config: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  'store-url': { type: 'string' },
  'no-local-minion': { type: 'boolean' },
  'model-api-max': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/** Config file (from --config or CORRAL_CONFIG), then flags on top. */
export function resolveServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): {
  config: CorralConfig;
  configPath: string | null;
  noLocalMinion: boolean;
  modelApiMax: number | undefined;
  logLevel: string | undefined;
} {
  const { values } = parseFlags(argv, flags);
  const port = integerFlag(values.port, '--port', 0, 65535);
  const kind = choiceFlag(values.store, '--store', STORE_KINDS);
  const modelApiMax = integerFlag(values['model-api-max'], '--model-api-max', MODEL_API.min, MODEL_API.max);
  const logLevel = choiceFlag(values['log-level'], '--log-level', LOG_LEVELS);
  const configPath = values.config ?? env.CORRAL_CONFIG ?? null;
  const config = configPath ? loadConfigFile(configPath, env) : defaultConfig();
  if (values.host !== undefined) config.server.host = values.host;
  if (port !== undefined) config.server.port = port;
  if (values['data-dir'] !== undefined) config.server.dataDir = resolve(values['data-dir']);
  if (kind !== undefined) config.store.kind = kind;
  if (values['store-url'] !== undefined) config.store.url = values['store-url'];
  if (values['no-local-minion']) config.minion.local = false;
  return { config, configPath, noLocalMinion: values['no-local-minion'] ?? false, modelApiMax, logLevel };
}

export async function run(argv: string[]): Promise<number> {
  const options = resolveServeConfig(argv);
  const log = createLogger({ level: options.logLevel });
  // A bug that leaves a rejection unhandled still ends the process, as Node would, but with
  // one fatal log line an operator can find instead of a raw stack on stderr.
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, `unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
    process.exit(1);
  });
  if (options.configPath) log.info({ config: resolve(options.configPath) }, 'loaded configuration');
  let node;
  try {
    node = await startNode({
      config: options.config,
      logger: log,
      noLocalMinion: options.noLocalMinion,
      handleSignals: true,
      ...(options.modelApiMax !== undefined ? { modelApiMax: options.modelApiMax } : {}),
    });
  } catch (error) {
    log.fatal({ err: isCorralError(error) ? undefined : error }, `cannot start: ${(error as Error).message}`);
    return 1;
  }
  await node.stopped;
  return 0;
}
