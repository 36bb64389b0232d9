// Authentication and tenancy (README "Authentication").
export { Principal, type PrincipalSource } from './principal.js';
export { ROLES, isRole, roleIncludes, higherRole, mergeTenantRoles, type Role, type TenantRoles } from './roles.js';
export { TokenService, parseTenantRoles, TENANTS_CLAIM, MINION_CLAIM, LOCAL_ISSUER, LOCAL_AUDIENCE, type ExternalIssuerConfig, type IssuedToken } from './tokens.js';
export { Authenticator, type AuthUser, type LoginResult, type AuthenticatorOptions, type CredentialsRequest } from './authenticator.js';
export { hashPassword, verifyPassword, parsePasswordHash } from './passwords.js';
export { grantsFromRules, ruleMatches, type AuthorizationRule, type ClaimValue } from './rules.js';
export { loadOrCreateSecret, readSecret, writeAdminToken, SECRET_FILE, ADMIN_TOKEN_FILE, ADMIN_TOKEN_SUBJECT } from './secret.js';
export { parseDuration } from './duration.js';
export { LoginThrottle, DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from './login-throttle.js';
