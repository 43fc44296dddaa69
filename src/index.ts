export {
  type CreateAgentConfigInput,
  createAgentConfigSchema,
  DEFAULT_ANTHROPIC_MODEL,
  type UpdateAgentConfigInput,
  updateAgentConfigSchema,
} from "./agents/schema.js";
export type { ActorOptions, AgentConfigs } from "./agents/service.js";
export type { AgentConfigChanges, AgentConfigRecord } from "./agents/types.js";
export {
  canonicalJson,
  computeRecordHash,
  GENESIS_HASH,
  HASHED_FIELDS,
  sealAuditRecord,
  sealAuditRecords,
  verifyChain,
} from "./audit/chain.js";
export type { AuditLog } from "./audit/service.js";
export type {
  AuditDecision,
  AuditEntry,
  AuditHead,
  AuditRecord,
  AuditSource,
  ChainVerification,
  Severity,
} from "./audit/types.js";
export type { AuthOptions, Identity, JwtOptions } from "./auth/authenticate.js";
export { type Clock, systemClock } from "./clock.js";
export {
  ConfigError,
  isVargateError,
  StorageError,
  toVargateError,
  VARGATE_ERROR_CODES,
  ValidationError,
  type ValidationIssue,
  VargateError,
  type VargateErrorCode,
} from "./errors.js";
export { VargateGovernor, type VargateGovernorOptions } from "./governor.js";
export { DEFAULT_MAX_BODY_BYTES } from "./http/body.js";
export { createRequestHandler, type RequestHandler, type RequestHandlerOptions } from "./http/handler.js";
export { type Route, type RouteContext, routes } from "./http/routes.js";
export { type IdGenerator, randomIds } from "./ids.js";
export type { JsonObject, JsonPrimitive, JsonValue } from "./json.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export type {
  AgentStore,
  ApiKeyStore,
  AuditStore,
  StorageCapabilities,
  TenantStore,
  VargateStorage,
} from "./storage/port.js";
export type { CreateTenantInput, IssuedApiKey, Tenants } from "./tenants/service.js";
export { type ApiKeyRecord, TENANT_DEFAULTS, type TenantRecord } from "./tenants/types.js";
