// vargate/kysely: storage on SQLite, PostgreSQL or MySQL/MariaDB through Kysely.
export {
  type DatabaseTarget,
  type KyselyStorageFromUrlOptions,
  kyselyStorageFromUrl,
  parseDatabaseUrl,
} from "./from-url.js";
export { migrateVargate, vargateMigrations, vargateMigrator } from "./migrations/index.js";
export {
  type KyselyDialectName,
  VARGATE_MIGRATION_LOCK_TABLE,
  VARGATE_MIGRATION_TABLE,
  VARGATE_TABLES,
  type VargateAgentConfigsTable,
  type VargateApiKeysTable,
  type VargateApprovalsTable,
  type VargateAuditHeadsTable,
  type VargateAuditLogTable,
  type VargateAuditSessionsTable,
  type VargateCheckpointsTable,
  type VargateConsumersTable,
  type VargateCredentialsTable,
  type VargateDatabase,
  type VargatePoliciesTable,
  type VargateSessionsTable,
  type VargateSettingsTable,
  type VargateTenantsTable,
} from "./schema.js";
export { type KyselyStorageOptions, kyselyStorage } from "./storage.js";
