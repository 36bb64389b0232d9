// The configuration file (docs/operations.md; README "CLI" and "Configuration").
export { loadConfigFile, parseConfigText } from './load.js';
export { validateConfig, defaultConfig, STORE_KINDS, DEFAULT_LOGIN_TTL_MS, type CorralConfig, type AuthConfig, type TenantConfig, type StoreKind } from './schema.js';
export { interpolateEnv } from './interpolate.js';
