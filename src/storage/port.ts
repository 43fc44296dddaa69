import type { AgentConfigChanges, AgentConfigRecord } from "../agents/types.js";
import type { ApprovalRecord, ApprovalStatus } from "../approvals/types.js";
import type {
  AuditEntry,
  AuditHead,
  AuditRecord,
  AuditSource,
  ChainPartCheck,
  ScannedAuditRecord,
  StoredAuditField,
  StoredAuditScan,
} from "../audit/types.js";
import type { CheckpointRecord } from "../checkpoints/types.js";
import type { CredentialRecord } from "../credentials/types.js";
import type { JsonValue } from "../json.js";
import type { PolicyRecord } from "../policy/record.js";
import type {
  AuditResult,
  ConsumerState,
  EndedSessionStatus,
  SessionLimits,
  SessionRecord,
  SessionRecordCount,
  SessionStatus,
} from "../sessions/types.js";
import type { ApiKeyRecord, TenantChanges, TenantRecord } from "../tenants/types.js";

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
  readonly sessions: SessionStore;
  readonly consumers: ConsumerStore;
  readonly settings: SettingStore;
  readonly policies: PolicyStore;
  readonly approvals: ApprovalStore;
  readonly credentials: CredentialRecordStore;
  readonly checkpoints: CheckpointStore;
  /** Optional: without it, vargate makes the separate reads it combines (see `readDecisionInputs`). */
  readonly decisionInputs?: DecisionInputStore;
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
  /**
   * Applies `changes` to a tenant together with its audit record, in one transaction. Returns the updated tenant,
   * or `null` (and writes nothing) if it does not exist.
   */
  update(tenantId: string, changes: TenantChanges, audit: AuditEntry): Promise<TenantRecord | null>;
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
  /**
   * Records the upstream (Anthropic) agent mirroring this config, only if none is recorded yet. Atomic
   * set-if-null; does not change `version`. Returns the id that is recorded afterwards: `upstreamAgentId` if this
   * call won, else the one already there. `null` if the config does not exist.
   */
  setUpstreamAgent(tenantId: string, agentId: string, upstreamAgentId: string): Promise<string | null>;
}

export interface AuditStore {
  /**
   * Seals `entries` onto the end of the tenant's chain, in order, and stores them.
   *
   * Atomic and serialised per tenant: in one transaction it locks the tenant's head, seals every entry with
   * `sealAuditRecords` from the head, inserts them and moves the head. Concurrent appends (from any number of
   * processes when `multiProcess`) therefore never fork the chain, and either all entries are stored or none.
   * Callers never retry for ordering. A duplicate `action_id` within the tenant fails the whole append.
   *
   * Returns the records as they read back (JSON fields as a JSON round trip gives them). They may share plain
   * JSON values with `entries` rather than copy them: do not change an entry's values after appending it.
   */
  append(tenantId: string, entries: readonly AuditEntry[]): Promise<AuditRecord[]>;
  /** The tenant's head; `{ seq: 0, hash: GENESIS_HASH }` for an empty chain. Single read. */
  head(tenantId: string): Promise<AuditHead>;
  /** Records with `seq > afterSeq`, ascending, at most `limit`. Single read; page with the last `seq`. */
  scan(tenantId: string, options: { afterSeq: number; limit: number }): Promise<AuditRecord[]>;
  /**
   * Like `scan`, for the read paths that need no parsed JSON: records with `seq > afterSeq` matching the optional
   * `sessionId` and `source` filters, ascending, at most `limit` of them, without `result` and with `input` and
   * `violations` as the JSON text stored (`StoredAuditRecord`); only `fields` (and `seq`) when given. Single read.
   * Page with the last `seq`. The field `hashed_text` is computed, not stored: see `ScannedAuditRecord`.
   *
   * Optional: vargate reads a storage without it through `scan` (see `scanStoredRecords`). Implementations should
   * store the JSON fields as their RFC 8785 canonical text (`canonicalJson`), which lets verification hash a
   * record without parsing it.
   */
  scanStored?<Field extends StoredAuditField = StoredAuditField>(
    tenantId: string,
    options: StoredAuditScan<Field>,
  ): Promise<Pick<ScannedAuditRecord, Field | "seq">[]>;
  /**
   * Optional: checks the tenant's records with `seq` in `(0, throughSeq]` in parts read side by side (the SQL
   * storage on a SQLite file: one worker thread and read-only connection per part), for `audit.verify` to join
   * with `chainPartsJoin`. `undefined` when it would not pay off (a short chain, one core) or cannot be done (an
   * in-memory database); verification then walks the chain record by record, as it also does whenever a part is
   * not clean, to name the broken record.
   */
  checkChainParts?(tenantId: string, throughSeq: number): Promise<ChainPartCheck[] | undefined>;
  /** A session's records in chain order, at most `limit` (the earliest first). Single read. */
  listBySession(tenantId: string, sessionId: string, options: { limit: number }): Promise<AuditRecord[]>;
  /** One record by action id. Single read. */
  get(tenantId: string, actionId: string): Promise<AuditRecord | null>;
  /**
   * Like `append`, but first drops entries whose `(session_id, event_id)` is already stored for the tenant, so
   * re-reading upstream history is a no-op. The check and the append happen under the same head lock, so of two
   * racing appends of one event exactly one stores it. Returns only the records stored by this call.
   *
   * Both options are keyed by event id (of the entries of this call: a stream's batch is one session's), and
   * apply only to records this call stores; an event stored before gets neither (a re-read changes nothing):
   * - `results`: results already known, stored with their records (outside the record hash, as `setResult` would
   *   set them) instead of by a later update. Set a result of an event stored before with `setResult`.
   * - `approvals`: pending approvals to open with their records (a built-in tool's, with the record of its use),
   *   in the same transaction: a record that needs one is never stored without it. A taken action id fails the
   *   whole call.
   */
  appendEvents(
    tenantId: string,
    entries: readonly AuditEntry[],
    options?: { results?: ReadonlyMap<string, JsonValue>; approvals?: ReadonlyMap<string, ApprovalRecord> },
  ): Promise<AuditRecord[]>;
  /**
   * Sets the result of the record derived from `(sessionId, eventId)`. The result lies outside the record hash
   * (see docs), so this never touches the chain. Single statement. Returns whether a record matched.
   */
  setResult(tenantId: string, sessionId: string, eventId: string, result: AuditResult): Promise<boolean>;
  /**
   * Record counts of the given sessions, grouped by session, source and decision, each with how many have a
   * severity other than `none`. Single read.
   */
  countBySession(tenantId: string, sessionIds: readonly string[]): Promise<SessionRecordCount[]>;
  /**
   * How many records of `source` each tool has, among the tenant's records matching every given filter:
   * `session_id`, `agent_id`, and `requested_at` at or after `since`. Tools without records are absent. Single
   * read. Policy counters come from here.
   */
  countByTool(
    tenantId: string,
    filter: { source: AuditSource; session_id?: string; agent_id?: string; since?: string },
  ): Promise<Record<string, number>>;
  /**
   * Sets the result of the record with `actionId` (outside the record hash, like `setResult`). Single statement
   * (an implementation may commit several callers' statements in one transaction). Returns whether a record matched.
   */
  setActionResult(tenantId: string, actionId: string, result: AuditResult): Promise<boolean>;
  /**
   * Stores a governed call's record, decided while the tenant's chain cannot move: in one transaction that locks
   * the tenant's head (as `append` does), it reads the call's counters (the `counters` of `decisionInputs.read`
   * for `call.counters`), calls `call.decide` with them, and stores the record it returns, with the approval it
   * returns (a taken action id fails the whole call). No other record can be appended between the read and the append, so
   * policy counters are exact under concurrency: of N racing calls under a counter limit of K, exactly K are
   * decided below it, across processes when `multiProcess`.
   *
   * If `decide` throws, nothing is stored and the call fails with its error. It may be called again when the
   * transaction is retried (a busy SQLite file, a deadlock victim), so it must not have side effects.
   */
  decideAndAppend(tenantId: string, call: LockedDecision): Promise<LockedDecisionRecord>;
}

/** A governed call for `audit.decideAndAppend`: whose counters it reads, and how it decides on them. */
export interface LockedDecision {
  /** The session whose counters (`counters.session`) and the agent whose counters since `since` it reads. */
  counters: { session_id: string; agent_id: string; since: string };
  /**
   * Optional: these counters as they were when the chain's head was at `seq` (`DecisionInputs.counters` and
   * `.seq` of one read). A storage may then count only the records appended after `seq` instead of reading the
   * counters again; `decide` gets the same counters either way.
   */
  known?: { seq: number; counters: DecisionCounters };
  /** The call's record and, when it needs a human, its pending approval; pure and synchronous. */
  decide(counters: DecisionCounters): { entry: AuditEntry; approval: ApprovalRecord | null };
}

/** What `audit.decideAndAppend` stored. */
export interface LockedDecisionRecord {
  record: AuditRecord;
  approval: ApprovalRecord | null;
}

export interface SessionStore {
  /**
   * Inserts `session` (status `pending`) if the tenant is within `limits`. Atomic and serialised per tenant: one
   * transaction locks the tenant's row, counts `pending` + `active` sessions, sessions created since
   * `limits.windowStart`, and this agent's sessions since then, and inserts only if all are below their limits.
   * Otherwise throws `SESSION_LIMIT_EXCEEDED` naming the limit and the count (or `TENANT_NOT_FOUND` when the
   * tenant does not exist), and stores nothing. Of N racing
   * reservations against a free capacity of K, exactly K succeed, across processes when `multiProcess`.
   */
  reserve(session: SessionRecord, limits: SessionLimits): Promise<void>;
  /** Deletes a `pending` session, freeing its slot (its upstream creation failed). Single statement. */
  release(tenantId: string, sessionId: string): Promise<void>;
  /**
   * Moves a `pending` session to `active` with its upstream ids, and stores the audit record of its creation, in
   * one transaction. Returns the active session, or `null` (and writes nothing) if it was not pending.
   */
  activate(
    tenantId: string,
    sessionId: string,
    upstream: Pick<SessionRecord, "anthropic_session_id" | "environment_id" | "upstream_vault_id">,
    audit: AuditEntry,
  ): Promise<SessionRecord | null>;
  /**
   * Ends an `active` session: sets `status`, `ended_at` and `end_reason`, and stores the audit record, in one
   * transaction. A compare-and-set on `active`: of two racing ends exactly one succeeds. Returns the ended
   * session, or `null` (and writes nothing) if it was not active.
   */
  end(
    tenantId: string,
    sessionId: string,
    ending: { status: EndedSessionStatus; ended_at: string; end_reason: string | null },
    audit: AuditEntry,
  ): Promise<SessionRecord | null>;
  /** Single read; `null` when missing or owned by another tenant. */
  get(tenantId: string, sessionId: string): Promise<SessionRecord | null>;
  /** The session whose MCP token hashes to `tokenHash`, in any tenant. Single read. */
  findByMcpTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  /** The tenant's sessions, newest first (ties by id, descending), filtered. Single read. */
  list(
    tenantId: string,
    filter: { status?: SessionStatus; agent_id?: string; limit: number },
  ): Promise<SessionRecord[]>;
  /** Every `active` session of every tenant, oldest first. Single read. */
  listActive(): Promise<SessionRecord[]>;
}

export interface ConsumerStore {
  /**
   * Takes or renews the lease on a session's consumer for `owner`: succeeds if nobody holds it, it expired
   * before `now`, or `owner` already holds it. Creates the consumer row on first claim. Atomic conditional
   * write: of two instances claiming a free lease exactly one wins. Returns the state after the claim, or `null`.
   */
  claim(
    tenantId: string,
    sessionId: string,
    lease: { owner: string; now: string; expiresAt: string },
  ): Promise<ConsumerState | null>;
  /**
   * Persists progress while `owner` still holds the lease: moves the cursor, adds `processed` to
   * `events_processed`, sets the status and renews the lease. Atomic conditional write. Returns `false` if the
   * lease was lost (another instance took over); the caller must then stop.
   */
  advance(
    tenantId: string,
    sessionId: string,
    progress: {
      owner: string;
      cursor: string | null;
      processed: number;
      status: ConsumerState["status"];
      connectedSince: string | null;
      expiresAt: string;
    },
  ): Promise<boolean>;
  /** Gives up the lease and marks the consumer `stopped`, if `owner` holds it. Single statement. */
  release(tenantId: string, sessionId: string, owner: string): Promise<void>;
  /** One session's consumer. Single read. */
  get(tenantId: string, sessionId: string): Promise<ConsumerState | null>;
  /** The tenant's consumers that are not stopped, oldest session first. Single read. */
  list(tenantId: string): Promise<ConsumerState[]>;
}

/** Small governor-wide values, such as the upstream environment created once and reused. */
export interface SettingStore {
  get(key: string): Promise<string | null>;
  /** Stores `value` unless `key` is set. Atomic insert-if-absent. Returns the stored value (this one, or the winner's). */
  putIfAbsent(key: string, value: string): Promise<string>;
}

export interface PolicyStore {
  /** The tenant's highest version, or `null` before the first `put`. Single read. */
  current(tenantId: string): Promise<PolicyRecord | null>;
  /**
   * The number of the tenant's highest version, or `null` before the first `put`; what `current` would return the
   * version of, without reading the document. Single read. Versions never change once stored, so a caller may
   * cache documents by version and read only this on the hot path.
   */
  currentVersion(tenantId: string): Promise<number | null>;
  /** One version. Single read. */
  get(tenantId: string, version: number): Promise<PolicyRecord | null>;
  /**
   * Stores `record` as the next version if the current version is still `record.version - 1` (0 for none),
   * together with its audit record. Atomic compare-and-set: of two racing puts from one version exactly one wins.
   * Returns `false` (and writes nothing) on a conflict.
   */
  put(record: PolicyRecord, audit: AuditEntry): Promise<boolean>;
}

export interface ApprovalStore {
  /** Single read; `null` when missing or another tenant's. */
  get(tenantId: string, actionId: string): Promise<ApprovalRecord | null>;
  /** The tenant's approvals, newest first, filtered. Single read. */
  list(
    tenantId: string,
    filter: { status?: ApprovalStatus; session_id?: string; limit: number },
  ): Promise<ApprovalRecord[]>;
  /**
   * Moves a `pending` approval to `approved`, `rejected` or `expired` and stores the audit record, in one
   * transaction. Compare-and-set on `pending`: of racing decisions exactly one wins. Returns the decided approval,
   * or `null` (and writes nothing) if it was no longer pending.
   */
  decide(
    tenantId: string,
    actionId: string,
    decision: {
      status: Exclude<ApprovalStatus, "pending">;
      decided_at: string;
      decided_by: string;
      note: string | null;
    },
    audit: AuditEntry,
  ): Promise<ApprovalRecord | null>;
  /**
   * Claims the right to run an `approved` call: `execution` none → claimed, noting `claimedAt`. Compare-and-set:
   * exactly one caller, across processes, gets `true`.
   */
  claimExecution(tenantId: string, actionId: string, claimedAt: string): Promise<boolean>;
  /** Stores the result of a claimed execution (`execution` → done). Single statement. */
  completeExecution(tenantId: string, actionId: string, result: JsonValue): Promise<void>;
  /**
   * Approvals of every tenant whose execution was claimed at or before `claimedBefore` and is not done: their
   * runner stopped, or is still running. Earliest claim first. Single read.
   */
  listStaleExecutions(claimedBefore: string): Promise<ApprovalRecord[]>;
  /** Pending approvals of every tenant whose `expires_at` is at or before `now`. Single read. */
  listExpired(now: string): Promise<ApprovalRecord[]>;
}

export interface CredentialRecordStore {
  /** Inserts or replaces a credential, with its audit record (which never holds the secret). Atomic. */
  put(record: CredentialRecord, audit: AuditEntry): Promise<void>;
  /** Single read. */
  get(tenantId: string, name: string): Promise<CredentialRecord | null>;
  /** The tenant's credential names, sorted. Single read. */
  list(tenantId: string): Promise<string[]>;
  /** Deletes a credential with its audit record. Atomic. Returns whether one existed (no audit otherwise). */
  delete(tenantId: string, name: string, audit: AuditEntry): Promise<boolean>;
}

export interface CheckpointStore {
  /**
   * Stores a signed checkpoint unless the tenant already has one of the same `tree_size`. Atomic insert-if-absent
   * on `(tenant_id, tree_size)`: of two racing adds of one size exactly one is stored. Returns the stored
   * checkpoint (this one, or the one already there).
   */
  add(checkpoint: CheckpointRecord): Promise<CheckpointRecord>;
  /** The tenant's checkpoint with the largest `tree_size`, or `null`. Single read. */
  latest(tenantId: string): Promise<CheckpointRecord | null>;
  /** The tenant's checkpoint of `treeSize`, or `null`. Single read. */
  get(tenantId: string, treeSize: number): Promise<CheckpointRecord | null>;
  /** The tenant's checkpoints, largest `tree_size` first, at most `limit`. Single read. */
  list(tenantId: string, options: { limit: number }): Promise<CheckpointRecord[]>;
}

/** What a governed call's decision reads from storage, besides the call itself. */
export interface DecisionInputs {
  /** `policies.currentVersion`: the tenant's highest policy version, or `null` before the first `put`. */
  policy_version: number | null;
  /** The parts of `agents.get` a decision uses; `null` when the config is missing or another tenant's. */
  agent: Pick<AgentConfigRecord, "version" | "allowed_tools" | "require_human_approval"> | null;
  counters: DecisionCounters;
  /**
   * The `seq` of the tenant's chain head in the snapshot the counters were read in (0 for an empty chain): the
   * counters are exactly those of the records up to it. `null` when they were not read in one snapshot.
   */
  seq: number | null;
}

/** The policy counters of a governed call. */
export interface DecisionCounters {
  /** `audit.countByTool` of the session's `mcp_governed` records. */
  session: Record<string, number>;
  /** `audit.countByTool` of the agent's `mcp_governed` records at or after `since`. */
  agent_since: Record<string, number>;
}

export interface DecisionInputStore {
  /**
   * Everything a governed call's decision reads, together: the same values as `policies.currentVersion`,
   * `agents.get` and the two `audit.countByTool` calls named in `DecisionInputs`. Single read: one statement (one
   * round trip) on SQL engines, so a call pays one read before its append however far away the database is.
   */
  read(tenantId: string, filter: { session_id: string; agent_id: string; since: string }): Promise<DecisionInputs>;
}
