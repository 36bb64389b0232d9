import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { InvalidArgumentError } from '../../store/index.js';
import { interpolateEnv } from './interpolate.js';
import { validateConfig, type CorralConfig } from './schema.js';

/**
 * Reads `corral.yaml`: YAML 1.2 with anchors and merge keys (`<<: *defaults`) for
 * inheritance, then `${ENV}` interpolation, then validation. Errors name the file and
 * the field (or the line, for YAML syntax errors).
 */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): CorralConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): CorralConfig {
  const document = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    throw new InvalidArgumentError(`${file}: invalid YAML: ${first.message.split('\n')[0]}${first.linePos ? ` (line ${first.linePos[0].line})` : ''}`);
  }
  // A file with nothing in it is a mistake (a truncated copy, the wrong path), not a request
  // for the defaults: those would start a server on port 8080 with its data in the working
  // directory. Starting without --config is how to ask for the defaults.
  if (document.contents === null) {
    throw new InvalidArgumentError(
      `${file}: the configuration file is empty (only blank lines or comments): give at least one of server, store, auth, tenants, minion, or start without --config for the defaults`,
    );
  }
  // maxAliasCount bounds alias expansion (no "billion laughs").
  const raw = document.toJS({ maxAliasCount: 1000 });
  try {
    return validateConfig(interpolateEnv(raw, env), dirname(file));
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${file}: ${error.message}`, error.details);
    throw error;
  }
}
