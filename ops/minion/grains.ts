/**
 * Grains (Salt's word): static facts about the minion's host, sent on every (re)connect and
 * used by `grain` job targets (`os:linux`). Custom grains come from `--grain k=v`.
 */
import { arch, cpus, hostname, platform, totalmem } from 'node:os';
import type { Grains } from '../../actors/index.js';

const GRAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;

export function collectGrains(custom: Record<string, unknown> = {}): Grains {
  return {
    os: platform(),
    arch: arch(),
    hostname: hostname(),
    cpus: cpus().length,
    memory: totalmem(),
    nodeVersion: process.versions.node,
    ...custom,
  };
}

/** A custom grain value: `true`/`false` are booleans, decimal numbers are numbers, the rest strings. */
export function parseGrainValue(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text)) {
    const value = Number(text);
    if (Number.isSafeInteger(value) || (!Number.isInteger(value) && Number.isFinite(value))) return value;
  }
  return text;
}

/** Parses `--grain k=v` arguments; throws with the offending argument on a bad one. */
export function parseGrainArguments(values: string[]): Record<string, string | number | boolean> {
  const grains: Record<string, string | number | boolean> = {};
  for (const argument of values) {
    const equals = argument.indexOf('=');
    if (equals <= 0) throw new Error(`--grain ${JSON.stringify(argument)}: expected key=value`);
    const key = argument.slice(0, equals);
    if (!GRAIN_KEY.test(key)) {
      throw new Error(`--grain ${JSON.stringify(argument)}: grain names start with a letter or _ and use letters, digits, _ . - (at most 63)`);
    }
    grains[key] = parseGrainValue(argument.slice(equals + 1));
  }
  return grains;
}
