export { VargateGovernor, type VargateGovernorOptions } from "./governor.js";
export type { AgentConfigRecord, AgentConfigChanges } from "./agents/types.js";
export type { AgentConfigs, ActorOptions } from "./agents/service.js";
export {
  createAgentConfigSchema,
  updateAgentConfigSchema,
  DEFAULT_ANTHROPIC_MODEL,
  type CreateAgentConfigInput,
  type UpdateAgentConfigInput,
} from "./agents/schema.js";
export type { Tenants, CreateTenantInput, IssuedApiKey } from "./tenants/service.js";
export { TENANT_DEFAULTS, type TenantRecord, type ApiKeyRecord } from "./tenants/types.js";
export type { AuthOptions, JwtOptions, Identity } from "./auth/authenticate.js";
export type { AuditLog } from "./audit/service.js";
export {
  GENESIS_HASH,
  HASHED_FIELDS,
  canonicalJson,
  computeRecordHash,
  sealAuditRecord,
  sealAuditRecords,
  verifyChain,
} from "./audit/chain.js";
export type {
  AuditDecision,
  AuditEntry,
  AuditHead,
  AuditRecord,
  AuditSource,
  ChainVerification,
  Severity,
} from "./audit/types.js";
export type {
  VargateStorage,
  StorageCapabilities,
  TenantStore,
  ApiKeyStore,
  AgentStore,
  AuditStore,
} from "./storage/port.js";
export {
  VARGATE_ERROR_CODES,
  VargateError,
  ValidationError,
  StorageError,
  ConfigError,
  isVargateError,
  toVargateError,
  type VargateErrorCode,
  type ValidationIssue,
} from "./errors.js";
export { createRequestHandler, type RequestHandler, type RequestHandlerOptions } from "./http/handler.js";
export { DEFAULT_MAX_BODY_BYTES } from "./http/body.js";
export { routes, type Route, type RouteContext } from "./http/routes.js";
export { systemClock, type Clock } from "./clock.js";
export { randomIds, type IdGenerator } from "./ids.js";
export { silentLogger, consoleLogger, type Logger } from "./logger.js";
export type { JsonValue, JsonObject, JsonPrimitive } from "./json.js";
