export {
  type CreateAgentConfigInput,
  createAgentConfigSchema,
  DEFAULT_ANTHROPIC_MODEL,
  type UpdateAgentConfigInput,
  updateAgentConfigSchema,
} from "./agents/schema.js";
export type { ActorOptions, AgentConfigs } from "./agents/service.js";
export type { AgentConfigChanges, AgentConfigRecord } from "./agents/types.js";
export * from "./anomaly/index.js";
export type { Approvals, ApprovalView } from "./approvals/service.js";
export type { ApprovalKind, ApprovalRecord, ApprovalStatus } from "./approvals/types.js";
export {
  canonicalJson,
  chainPartsJoin,
  computeRecordHash,
  GENESIS_HASH,
  HASHED_FIELDS,
  sealAuditRecord,
  sealAuditRecords,
  verifyChain,
} from "./audit/chain.js";
export type { AuditLog } from "./audit/service.js";
export { withHashedText } from "./audit/stored.js";
export {
  type AuditDecision,
  type AuditEntry,
  type AuditHead,
  type AuditRecord,
  type AuditSource,
  type ChainPartCheck,
  type ChainVerification,
  type ScannedAuditRecord,
  type Severity,
  STORED_AUDIT_FIELDS,
  type StoredAuditField,
  type StoredAuditRecord,
  type StoredAuditScan,
} from "./audit/types.js";
export type { AuthOptions, Identity, JwtOptions } from "./auth/authenticate.js";
export {
  CHECKPOINT_SIGNATURE_CONTEXT,
  type CheckpointBody,
  type CheckpointOptions,
  type CheckpointPublicKey,
  type CheckpointRecord,
  type Checkpoints,
  type ConsistencyProofView,
  checkpointKeyId,
  checkpointSigningBytes,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  exportPublicKey,
  type InclusionProofView,
  signCheckpoint,
  signMessage,
  verifyCheckpointSignature,
  verifySignature,
} from "./checkpoints/index.js";
export { type Clock, systemClock } from "./clock.js";
export * from "./compliance/index.js";
export type { ConsumerOptions } from "./consumers/consumer.js";
export type { ConsumerView } from "./consumers/supervisor.js";
export { type EncryptedCredentialStoreOptions, encryptedCredentialStore } from "./credentials/encrypted-store.js";
export type { Credentials } from "./credentials/service.js";
export type { CredentialStore } from "./credentials/store.js";
export type { CredentialRecord } from "./credentials/types.js";
export {
  ConfigError,
  isVargateError,
  StorageError,
  toVargateError,
  UpstreamError,
  VARGATE_ERROR_CODES,
  ValidationError,
  type ValidationIssue,
  VargateError,
  type VargateErrorCode,
} from "./errors.js";
export { callDigest } from "./governed/digest.js";
export type { GovernedCallOptions, GovernedCalls } from "./governed/pipeline.js";
export { DEFAULT_GOVERNED_CALL_OPTIONS } from "./governed/pipeline.js";
export type { GovernedCallOutcome, GovernedCallRequest } from "./governed/types.js";
export { VargateGovernor, type VargateGovernorOptions } from "./governor.js";
export { DEFAULT_MAX_BODY_BYTES } from "./http/body.js";
export {
  createRequestHandler,
  type RawRoute,
  type RawRouteContext,
  type RequestExtras,
  type RequestHandler,
  type RequestHandlerOptions,
} from "./http/handler.js";
export { type OpenApiDocument, type OpenApiOptions, openApiDocument } from "./http/openapi.js";
export { type Route, type RouteContext, routes } from "./http/routes.js";
export { type IdGenerator, randomIds } from "./ids.js";
export type { JsonObject, JsonPrimitive, JsonValue } from "./json.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export * from "./mcp/index.js";
export * from "./merkle/index.js";
export * from "./policy/index.js";
export type { PolicyRecord } from "./policy/record.js";
export type { ActivePolicy, PolicyView, TenantPolicies } from "./policy/service.js";
export * from "./replay/index.js";
export { BUILTIN_TOOLS, GOVERNOR_MCP_SERVER_NAME } from "./sessions/attachment.js";
export { DEFAULT_GOVERNANCE_TEMPLATE } from "./sessions/governance-prompt.js";
export {
  type CreateSessionInput,
  createSessionSchema,
  type InterruptSessionInput,
  interruptSessionSchema,
  type ListSessionsQuery,
} from "./sessions/schema.js";
export type { SessionOptions, Sessions } from "./sessions/service.js";
export type {
  ConsumerState,
  EndedSessionStatus,
  SessionLimits,
  SessionRecord,
  SessionStatus,
} from "./sessions/types.js";
export type { CreatedSession, InterruptResult, SessionStatusView } from "./sessions/views.js";
export type {
  AgentStore,
  ApiKeyStore,
  ApprovalStore,
  AuditStore,
  ConsumerStore,
  CredentialRecordStore,
  PolicyStore,
  SessionStore,
  SettingStore,
  StorageCapabilities,
  TenantStore,
  VargateStorage,
} from "./storage/port.js";
export type { CreateTenantInput, IssuedApiKey, Tenants } from "./tenants/service.js";
export { type ApiKeyRecord, TENANT_DEFAULTS, type TenantRecord } from "./tenants/types.js";
export * from "./tools/index.js";
