import type { AgentConfigChanges, AgentConfigRecord } from "../agents/types.js";
import type { AuditEntry, AuditHead, AuditRecord } from "../audit/types.js";
import type { ApiKeyRecord, TenantRecord } from "../tenants/types.js";

/**
 * The storage port: every read and write vargate makes, in domain terms.
 *
 * Implementations: `kyselyStorage()` (SQLite, PostgreSQL, MySQL/MariaDB) and `memoryStorage()`. Each passes the
 * conformance suite exported from `vargate/testing`. Every method states its atomicity; an implementation must
 * keep that promise across processes when it claims `capabilities.multiProcess`.
 *
 * Methods are scoped by tenant: a read never returns another tenant's row. Failures of the underlying driver
 * are thrown as `StorageError`.
 *
 * A mutation that must be audited takes its `AuditEntry`; the change and its sealed audit record are stored in
 * one transaction, so neither exists without the other.
 */
export interface VargateStorage {
  /** A short name for logs and errors, e.g. `kysely:postgres` or `memory`. */
  readonly name: string;
  readonly capabilities: StorageCapabilities;

  /** Creates or upgrades the schema. Idempotent; safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Releases connections. The storage is unusable afterwards. */
  close(): Promise<void>;

  readonly tenants: TenantStore;
  readonly apiKeys: ApiKeyStore;
  readonly agents: AgentStore;
  readonly audit: AuditStore;
}

export interface StorageCapabilities {
  /** Several processes may share this storage and still keep every atomicity promise. */
  multiProcess: boolean;
}

export interface TenantStore {
  /**
   * Inserts a tenant with its first API key and the audit record of its creation (the first link of its chain).
   * Atomic; throws `TENANT_EXISTS` if the id is taken (exactly one of two racing creates wins).
   */
  create(tenant: TenantRecord, firstKey: ApiKeyRecord, audit: AuditEntry): Promise<void>;
  /** Single read. */
  get(tenantId: string): Promise<TenantRecord | null>;
  /** All tenants ordered by `tenant_id`. Single read. */
  list(): Promise<TenantRecord[]>;
}

export interface ApiKeyStore {
  /**
   * Inserts `key` and, when `revokeOthersAt` is set, revokes every other active key of the tenant at that time
   * (rotation). Atomic together with the audit record.
   */
  create(key: ApiKeyRecord, audit: AuditEntry, options?: { revokeOthersAt?: string }): Promise<void>;
  /** Looks a key up by its hash, revoked or not. Single read. Callers still compare the hash in constant time. */
  findByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  /** A tenant's keys, newest first. Single read. */
  list(tenantId: string): Promise<ApiKeyRecord[]>;
  /**
   * Marks keys revoked at `revokedAt`: one key when `keyId` is given, else every active key of the tenant.
   * Atomic together with the audit record, which is only written when a key changed. Returns how many keys
   * changed; already-revoked keys are left as they were.
   */
  revoke(tenantId: string, revokedAt: string, audit: AuditEntry, keyId?: string): Promise<number>;
}

export interface AgentStore {
  /** Inserts a config. Atomic together with the audit record. */
  create(config: AgentConfigRecord, audit: AuditEntry): Promise<void>;
  /** Single read; `null` when missing or owned by another tenant. */
  get(tenantId: string, agentId: string): Promise<AgentConfigRecord | null>;
  /** The tenant's configs, newest first (ties broken by id, descending). Single read. */
  list(tenantId: string): Promise<AgentConfigRecord[]>;
  /**
   * Applies `changes`, sets `updated_at` and bumps `version` by one, only if the stored version is still
   * `expectedVersion`. Atomic compare-and-set: of two racing updates from the same version exactly one wins.
   * Returns the updated record, or `null` if the config is missing or its version moved on (then nothing,
   * not even the audit record, is written).
   */
  update(
    tenantId: string,
    agentId: string,
    changes: AgentConfigChanges,
    options: { expectedVersion: number; updatedAt: string; audit: AuditEntry },
  ): Promise<AgentConfigRecord | null>;
}

export interface AuditStore {
  /**
   * Seals `entries` onto the end of the tenant's chain, in order, and stores them.
   *
   * Atomic and serialised per tenant: in one transaction it locks the tenant's head, seals every entry with
   * `sealAuditRecords` from the head, inserts them and moves the head. Concurrent appends (from any number of
   * processes when `multiProcess`) therefore never fork the chain, and either all entries are stored or none.
   * Callers never retry for ordering. A duplicate `action_id` within the tenant fails the whole append.
   */
  append(tenantId: string, entries: readonly AuditEntry[]): Promise<AuditRecord[]>;
  /** The tenant's head; `{ seq: 0, hash: GENESIS_HASH }` for an empty chain. Single read. */
  head(tenantId: string): Promise<AuditHead>;
  /** Records with `seq > afterSeq`, ascending, at most `limit`. Single read; page with the last `seq`. */
  scan(tenantId: string, options: { afterSeq: number; limit: number }): Promise<AuditRecord[]>;
  /** A session's records in chain order, at most `limit` (the earliest first). Single read. */
  listBySession(tenantId: string, sessionId: string, options: { limit: number }): Promise<AuditRecord[]>;
  /** One record by action id. Single read. */
  get(tenantId: string, actionId: string): Promise<AuditRecord | null>;
}
