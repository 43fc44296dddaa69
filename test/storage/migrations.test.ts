import { type Kysely, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { GENESIS_HASH, sealAuditRecord, verifyChain } from "../../src/audit/chain.js";
import type { AuditEntry } from "../../src/audit/types.js";
import { vargateMigrator } from "../../src/storage/kysely/index.js";
import { approvalToRow, auditToRow } from "../../src/storage/kysely/rows.js";
import { createTestStorage, forEachTestDatabase, type TestStorage } from "../setup/databases.js";

// biome-ignore lint/suspicious/noExplicitAny: raw queries against tables that may not exist yet.
async function migrationNames(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from vargate_migrations order by name`.execute(db);
  return rows.map((row) => row.name);
}

// biome-ignore lint/suspicious/noExplicitAny: raw queries against tables that may not exist yet.
async function tableExists(db: Kysely<any>, table: string): Promise<boolean> {
  return sql`select 1 from ${sql.table(table)}`.execute(db).then(
    () => true,
    () => false,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: raw queries against columns that may not exist yet.
async function columnExists(db: Kysely<any>, table: string, column: string): Promise<boolean> {
  return sql`select ${sql.ref(column)} from ${sql.table(table)} where 1 = 0`.execute(db).then(
    () => true,
    () => false,
  );
}

/**
 * Seals `entries` after the stored head and inserts them as rows, with the head, as an older storage wrote them:
 * the storage code of now may need columns an older schema lacks.
 */
// biome-ignore lint/suspicious/noExplicitAny: raw writes to a schema of any version.
async function insertRecords(db: Kysely<any>, tenantId: string, entries: readonly AuditEntry[]) {
  const { rows } = await sql<{ seq: number | string; hash: string }>`
    select seq, hash from vargate_audit_heads where tenant_id = ${tenantId}`.execute(db);
  let head = rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : { seq: 0, hash: GENESIS_HASH };
  for (const entry of entries) {
    const sealed = sealAuditRecord(tenantId, head, entry);
    await db.insertInto("vargate_audit_log").values(auditToRow(sealed)).execute();
    head = { seq: sealed.seq, hash: sealed.record_hash };
  }
  if (rows[0]) await db.updateTable("vargate_audit_heads").set(head).where("tenant_id", "=", tenantId).execute();
  else
    await db
      .insertInto("vargate_audit_heads")
      .values({ tenant_id: tenantId, ...head })
      .execute();
  return head;
}

const LATEST = [
  "0001_init",
  "0002_sessions",
  "0003_governance",
  "0004_checkpoints",
  "0005_tool_counts",
  "0006_execution_claims",
  "0007_partial_event_index",
  "0008_drop_counts_index",
  "0009_session_index_in_batches",
];

const oldEntry: AuditEntry = {
  action_id: "a-1",
  session_id: "vs-0123456789abcdef",
  agent_id: null,
  event_id: "sevt_1",
  actor: null,
  source: "mcp_observed",
  tool: "bash",
  method: "agent.tool_use",
  decision: "observed",
  severity: "none",
  violations: [],
  input: { command: "ls" },
  policy_version: null,
  requested_at: "2025-01-01T00:00:00.000Z",
};

const TABLES = [
  "vargate_tenants",
  "vargate_api_keys",
  "vargate_agent_configs",
  "vargate_audit_log",
  "vargate_audit_heads",
  "vargate_sessions",
  "vargate_consumers",
  "vargate_settings",
  "vargate_policies",
  "vargate_approvals",
  "vargate_credentials",
  "vargate_checkpoints",
  "vargate_tool_counts",
  "vargate_audit_sessions",
  "vargate_migrations",
  "vargate_migrations_lock",
];

forEachTestDatabase("migrations", (database) => {
  const opened: TestStorage[] = [];
  const open = async (options: { migrate?: boolean } = {}) => {
    const test = await createTestStorage(database, options);
    opened.push(test);
    return test;
  };
  afterEach(async () => {
    for (const test of opened.splice(0)) await test.cleanup();
  });

  it("migrates an empty database to the latest version, with prefixed tables only", async () => {
    const { storage, db } = await open({ migrate: false });
    for (const table of TABLES) expect(await tableExists(db, table)).toBe(false);
    await storage.migrate();
    for (const table of TABLES) expect(await tableExists(db, table)).toBe(true);
    expect(await migrationNames(db)).toEqual(LATEST);
    // Kysely's default bookkeeping tables stay free for the application's own migrations.
    expect(await tableExists(db, "kysely_migration")).toBe(false);
  });

  it("is a no-op when run again, and keeps the data", async () => {
    const { storage, db } = await open();
    await storage.audit.append("acme", [
      {
        action_id: "a-1",
        session_id: null,
        agent_id: null,
        event_id: null,
        actor: null,
        source: "control_plane",
        tool: "control_plane",
        method: "test",
        decision: "allow",
        severity: "none",
        violations: [],
        input: {},
        policy_version: null,
        requested_at: "2025-01-01T00:00:00.000Z",
      },
    ]);
    await storage.migrate();
    await storage.migrate();
    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await storage.audit.head("acme")).toMatchObject({ seq: 1 });
  });

  it("lets two storages migrate the same empty database at once", async () => {
    const test = await open({ migrate: false });
    const other = test.connect();
    await Promise.all([test.storage.migrate(), other.migrate(), test.storage.migrate()]);
    expect(await migrationNames(test.db)).toEqual(LATEST);
    await other.audit.append("acme", []);
    expect(await test.storage.tenants.list()).toEqual([]);
  });

  // biome-ignore lint/suspicious/noExplicitAny: the migrator runs on any schema version.
  const migrator = async (db: Kysely<any>) => {
    const schema =
      database.dialect === "postgres"
        ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
        : undefined;
    return vargateMigrator(db, database.dialect, schema);
  };

  // Whether the unique index of upstream event ids leaves out records without one (0007).
  // biome-ignore lint/suspicious/noExplicitAny: raw catalog queries.
  const eventIndexIsPartial = async (db: Kysely<any>) => {
    const name = "vargate_audit_log_event_unique";
    if (database.dialect === "sqlite") {
      const { rows } = await sql<{ sql: string }>`select sql from sqlite_master where name = ${name}`.execute(db);
      return /\bwhere\b/i.test(rows[0]?.sql ?? "");
    }
    if (database.dialect === "postgres") {
      const { rows } = await sql<{ def: string }>`
        select indexdef as def from pg_indexes where indexname = ${name} and schemaname = current_schema()`.execute(db);
      return /\bWHERE\b/.test(rows[0]?.def ?? "");
    }
    return false;
  };

  // Whether the audit log still has the index of (tenant_id, session_id, source, decision) that 0008 drops.
  // biome-ignore lint/suspicious/noExplicitAny: raw catalog queries.
  const hasCountsIndex = (db: Kysely<any>) => hasIndex(db, "vargate_audit_log_counts_idx");

  // biome-ignore lint/suspicious/noExplicitAny: raw catalog queries.
  const hasIndex = async (db: Kysely<any>, name: string) => {
    const query = {
      sqlite: sql<{ n: number }>`select count(*) as n from sqlite_master where name = ${name}`,
      postgres: sql<{ n: number }>`
        select count(*)::int as n from pg_indexes where indexname = ${name} and schemaname = current_schema()`,
      mysql: sql<{ n: number }>`
        select count(*) as n from information_schema.statistics where table_schema = database() and index_name = ${name}`,
    }[database.dialect];
    const { rows } = await query.execute(db);
    return Number(rows[0]?.n) > 0;
  };

  // Whether the audit log still has the index of (tenant_id, session_id, seq) that 0009 drops.
  // biome-ignore lint/suspicious/noExplicitAny: raw catalog queries.
  const hasSessionIndex = (db: Kysely<any>) => hasIndex(db, "vargate_audit_log_session_idx");

  it("migrates down, one version at a time, and up again", async () => {
    const { storage, db } = await open();
    const tenant = {
      ...{ tenant_id: "acme", name: "Acme", max_concurrent_sessions: 10, max_daily_sessions: 50 },
      ...{ max_session_hours: 8, governance_prompt_template: "Be careful.", created_at: "2025-01-01T00:00:00.000Z" },
    };
    const key = {
      ...{ key_id: "key-1", tenant_id: "acme", key_hash: "0".repeat(64), prefix: "vg-00000000" },
      ...{ created_at: "2025-01-01T00:00:00.000Z", revoked_at: null },
    };
    await storage.tenants.create(tenant, key, { ...oldEntry, event_id: null, source: "control_plane" });
    expect(await hasCountsIndex(db)).toBe(false);
    expect(await hasSessionIndex(db)).toBe(false);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(LATEST.slice(0, 8));
    expect(await hasSessionIndex(db)).toBe(true);
    expect(await tableExists(db, "vargate_audit_sessions")).toBe(false);
    expect(await columnExists(db, "vargate_audit_heads", "session_indexed_seq")).toBe(false);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(LATEST.slice(0, 7));
    expect(await hasCountsIndex(db)).toBe(true);
    expect(await eventIndexIsPartial(db)).toBe(database.dialect !== "mysql");
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(LATEST.slice(0, 6));
    expect(await eventIndexIsPartial(db)).toBe(false);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(LATEST.slice(0, 5));
    expect(await columnExists(db, "vargate_approvals", "execution_claimed_at")).toBe(false);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(["0001_init", "0002_sessions", "0003_governance", "0004_checkpoints"]);
    expect(await tableExists(db, "vargate_tool_counts")).toBe(false);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(["0001_init", "0002_sessions", "0003_governance"]);
    expect(await tableExists(db, "vargate_checkpoints")).toBe(false);
    expect(await tableExists(db, "vargate_policies")).toBe(true);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(["0001_init", "0002_sessions"]);
    // 0002's data stays; only what 0003 added is gone.
    const { rows } = await sql<{ name: string }>`select name from vargate_tenants`.execute(db);
    expect(rows).toEqual([{ name: "Acme" }]);
    for (const table of ["vargate_policies", "vargate_approvals", "vargate_credentials"]) {
      expect(await tableExists(db, table)).toBe(false);
    }
    expect(await columnExists(db, "vargate_tenants", "governance_prompt_template")).toBe(false);
    expect(await tableExists(db, "vargate_sessions")).toBe(true);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await migrationNames(db)).toEqual(["0001_init"]);
    for (const table of ["vargate_sessions", "vargate_consumers", "vargate_settings"]) {
      expect(await tableExists(db, table)).toBe(false);
    }
    expect(await tableExists(db, "vargate_audit_log")).toBe(true);
    expect((await (await migrator(db)).migrateDown()).error).toBeUndefined();
    expect(await tableExists(db, "vargate_audit_log")).toBe(false);
    await storage.migrate();
    for (const table of TABLES) expect(await tableExists(db, table)).toBe(true);
    expect(await columnExists(db, "vargate_tenants", "governance_prompt_template")).toBe(true);
    expect(await migrationNames(db)).toEqual(LATEST);
  });

  it("upgrades a 0001 database with data to 0002: old rows read back with the new fields empty", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0001_init")).error).toBeUndefined();
    // Rows as the 0001 storage wrote them, without the columns 0002 adds.
    await db
      .insertInto("vargate_agent_configs")
      .values({
        ...{ tenant_id: "acme", id: "agent-0123456789ab", name: "Old", anthropic_model: "claude-sonnet-4-6" },
        ...{ system_prompt: null, allowed_tools: "[]", require_human_approval: "[]", max_session_hours: 8 },
        ...{ max_daily_sessions: 50, max_delegation_depth: 1, governance_profile: "{}", parent_agent_id: null },
        ...{ version: 3, created_at: "2025-01-01T00:00:00.000Z", updated_at: "2025-01-02T00:00:00.000Z" },
      } as never)
      .execute();
    const sealed = sealAuditRecord("acme", { seq: 0, hash: GENESIS_HASH }, oldEntry);
    const { result: _result, ...oldRow } = auditToRow(sealed);
    await db.insertInto("vargate_audit_log").values(oldRow).execute();
    await db
      .insertInto("vargate_audit_heads")
      .values({ tenant_id: "acme", seq: 1, hash: sealed.record_hash })
      .execute();

    await storage.migrate();
    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await storage.agents.get("acme", "agent-0123456789ab")).toMatchObject({
      version: 3,
      anthropic_agent_id: null,
    });
    expect(await storage.audit.get("acme", oldEntry.action_id)).toEqual(sealed);
    expect(await storage.audit.setResult("acme", "vs-0123456789abcdef", "sevt_1", { ok: true })).toBe(true);
    const [next] = await storage.audit.appendEvents("acme", [
      { ...oldEntry, action_id: "a-2" },
      { ...oldEntry, action_id: "a-3", event_id: "sevt_2" },
    ]);
    expect(next).toMatchObject({ seq: 2, event_id: "sevt_2" });
    expect(await storage.sessions.list("acme", { limit: 10 })).toEqual([]);
  });

  it("upgrades a 0002 database with data to 0003: tenants read back with no governance template", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0002_sessions")).error).toBeUndefined();
    // A tenant as the 0002 storage wrote it, without the column 0003 adds.
    const oldTenant = {
      ...{ tenant_id: "acme", name: "Acme", max_concurrent_sessions: 10, max_daily_sessions: 50 },
      ...{ max_session_hours: 8, created_at: "2025-01-01T00:00:00.000Z" },
    };
    await db
      .insertInto("vargate_tenants")
      .values(oldTenant as never)
      .execute();
    const sealed = sealAuditRecord("acme", { seq: 0, hash: GENESIS_HASH }, { ...oldEntry, agent_id: "agent-1" });
    await db.insertInto("vargate_audit_log").values(auditToRow(sealed)).execute();
    await db
      .insertInto("vargate_audit_heads")
      .values({ tenant_id: "acme", seq: 1, hash: sealed.record_hash })
      .execute();

    await storage.migrate();
    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await storage.tenants.get("acme")).toEqual({ ...oldTenant, governance_prompt_template: null });
    const audit = { ...oldEntry, action_id: "a-2", event_id: null, source: "control_plane" as const };
    expect(await storage.tenants.update("acme", { governance_prompt_template: "Be careful." }, audit)).toEqual({
      ...oldTenant,
      governance_prompt_template: "Be careful.",
    });
    expect(await storage.audit.countByTool("acme", { source: "mcp_observed", agent_id: "agent-1" })).toEqual({
      bash: 1,
    });
    expect(await storage.policies.current("acme")).toBeNull();
    expect(await storage.approvals.list("acme", { limit: 10 })).toEqual([]);
    expect(await storage.credentials.list("acme")).toEqual([]);
    const policy = {
      ...{ tenant_id: "acme", version: 1, document: { rules: [] } },
      ...{ created_at: "2025-01-02T00:00:00.000Z", created_by: null },
    };
    expect(await storage.policies.put(policy, { ...audit, action_id: "a-3" })).toBe(true);
    expect(await storage.policies.current("acme")).toEqual(policy);
    expect(await storage.audit.head("acme")).toMatchObject({ seq: 3 });
  });

  it("upgrades a 0003 database with data to 0004: the chain stays, and checkpoints start empty", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0003_governance")).error).toBeUndefined();
    const sealed = sealAuditRecord("acme", { seq: 0, hash: GENESIS_HASH }, oldEntry);
    await db.insertInto("vargate_audit_log").values(auditToRow(sealed)).execute();
    await db
      .insertInto("vargate_audit_heads")
      .values({ tenant_id: "acme", seq: 1, hash: sealed.record_hash })
      .execute();

    await storage.migrate();
    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await storage.audit.scan("acme", { afterSeq: 0, limit: 10 })).toEqual([sealed]);
    expect(await storage.checkpoints.latest("acme")).toBeNull();
    const checkpoint = {
      ...{ tenant_id: "acme", tree_size: 1, root_hash: "a".repeat(64), timestamp: "2025-01-02T00:00:00.000Z" },
      ...{ key_id: "0123456789abcdef", signature: "c2ln" },
    };
    expect(await storage.checkpoints.add(checkpoint)).toEqual(checkpoint);
    expect(await storage.checkpoints.list("acme", { limit: 5 })).toEqual([checkpoint]);
  });

  it("upgrades a 0004 database with governed records to 0005: the policy counters count them", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0004_checkpoints")).error).toBeUndefined();
    const governed = (n: number, tool: string, requested_at: string): AuditEntry => ({
      ...oldEntry,
      ...{ action_id: `g-${n}`, event_id: null, agent_id: "agent-1", source: "mcp_governed", tool },
      ...{ method: "tools/call", decision: "allow", requested_at },
    });
    const head = await insertRecords(db, "acme", [
      governed(1, "pay", "2025-01-01T00:10:00.000Z"),
      governed(2, "pay", "2025-01-01T01:10:00.000Z"),
      governed(3, "read", "2025-01-01T01:20:00.000Z"),
      { ...oldEntry, action_id: "o-1" },
    ]);
    expect(head.seq).toBe(4);

    await storage.migrate();
    expect(await migrationNames(db)).toEqual(LATEST);
    const count = (since: string) =>
      storage.audit.countByTool("acme", { source: "mcp_governed", agent_id: "agent-1", since });
    expect(await count("2025-01-01T00:00:00.000Z")).toEqual({ pay: 2, read: 1 });
    expect(await count("2025-01-01T01:15:00.000Z")).toEqual({ read: 1 });
    expect(
      await storage.audit.countByTool("acme", { source: "mcp_governed", session_id: oldEntry.session_id ?? "" }),
    ).toEqual({
      pay: 2,
      read: 1,
    });
    await storage.audit.append("acme", [governed(4, "pay", "2025-01-01T01:30:00.000Z")]);
    expect(await count("2025-01-01T01:00:00.000Z")).toEqual({ pay: 2, read: 1 });
  });

  it("upgrades a 0005 database with approved calls to 0006: a run claimed before counts from its approval", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0005_tool_counts")).error).toBeUndefined();
    const approval = (actionId: string, execution: string) => {
      const { execution_claimed_at: _added, ...row } = approvalToRow({
        ...{ action_id: actionId, tenant_id: "acme", session_id: "vs-1", agent_id: "agent-1" },
        ...{ kind: "governed_call", tool: "pay", input: {}, input_digest: "0".repeat(64), upstream_event_id: null },
        ...{ status: "approved", requested_at: "2025-01-01T00:00:00.000Z", expires_at: "2025-01-01T01:00:00.000Z" },
        ...{ decided_at: "2025-01-01T00:05:00.000Z", decided_by: "key-1", note: null, result: null },
        execution: execution as "none" | "claimed",
      });
      return row;
    };
    await db
      .insertInto("vargate_approvals")
      .values([approval("claimed-1", "claimed"), approval("waiting-1", "none")])
      .execute();

    await storage.migrate();

    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await storage.approvals.listStaleExecutions("2025-01-01T00:04:59.999Z")).toEqual([]);
    const stale = await storage.approvals.listStaleExecutions("2025-01-01T00:05:00.000Z");
    expect(stale.map((found) => found.action_id)).toEqual(["claimed-1"]);
    expect(await storage.approvals.claimExecution("acme", "waiting-1", "2025-01-01T00:06:00.000Z")).toBe(true);
    expect(
      (await storage.approvals.listStaleExecutions("2025-01-01T00:06:00.000Z")).map((found) => found.action_id),
    ).toEqual(["claimed-1", "waiting-1"]);
  });

  it("upgrades a 0006 database with records to 0007: event ids stay unique per session, records keep verifying", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0006_execution_claims")).error).toBeUndefined();
    const observed = (index: number) => ({ ...oldEntry, action_id: `a-${index}`, event_id: `sevt_${index}` });
    const governed = (index: number) => ({ ...oldEntry, action_id: `g-${index}`, event_id: null });
    await insertRecords(db, "acme", [observed(1), governed(2), governed(3), observed(4)]);
    expect(await eventIndexIsPartial(db)).toBe(false);

    await storage.migrate();

    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await eventIndexIsPartial(db)).toBe(database.dialect !== "mysql");
    await expect(storage.audit.append("acme", [{ ...observed(1), action_id: "a-again" }])).rejects.toThrow(
      /Duplicate audit record/,
    );
    await storage.audit.append("acme", [governed(5), observed(6)]);
    expect(await storage.audit.setResult("acme", oldEntry.session_id as string, "sevt_4", "found")).toBe(true);
    const head = await storage.audit.head("acme");
    expect(head).toMatchObject({ seq: 6 });
    const records = await storage.audit.scan("acme", { afterSeq: 0, limit: 10 });
    await expect(verifyChain("acme", records, head)).resolves.toMatchObject({ valid: true, record_count: 6 });
  });

  it("upgrades a 0007 database with records to 0008: per-session counts read the same without the counts index", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0007_partial_event_index")).error).toBeUndefined();
    const record = (index: number, fields: Partial<AuditEntry>) => ({
      ...oldEntry,
      action_id: `a-${index}`,
      ...fields,
    });
    await insertRecords(db, "acme", [
      record(1, { event_id: null, source: "mcp_governed", decision: "allow" }),
      record(2, { event_id: null, source: "mcp_governed", decision: "deny", severity: "high" }),
      record(3, { event_id: "sevt_3" }),
      record(4, { event_id: null, session_id: "vs-other", source: "mcp_governed", decision: "allow" }),
    ]);
    const session = oldEntry.session_id as string;
    const byKey = (counts: Awaited<ReturnType<typeof storage.audit.countBySession>>) =>
      [...counts].sort((a, b) =>
        `${a.session_id}${a.source}${a.decision}`.localeCompare(`${b.session_id}${b.source}${b.decision}`),
      );
    expect(await hasCountsIndex(db)).toBe(true);

    await storage.migrate();

    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await hasCountsIndex(db)).toBe(false);
    expect(byKey(await storage.audit.countBySession("acme", [session, "vs-other"]))).toEqual(
      byKey([
        { session_id: session, source: "mcp_governed", decision: "allow", count: 1, flagged: 0 },
        { session_id: session, source: "mcp_governed", decision: "deny", count: 1, flagged: 1 },
        { session_id: session, source: "mcp_observed", decision: "observed", count: 1, flagged: 0 },
        { session_id: "vs-other", source: "mcp_governed", decision: "allow", count: 1, flagged: 0 },
      ]),
    );
    await storage.audit.append("acme", [record(5, { event_id: null, source: "mcp_governed", decision: "allow" })]);
    const after = await storage.audit.countBySession("acme", [oldEntry.session_id as string]);
    expect(after.find((count) => count.source === "mcp_governed" && count.decision === "allow")?.count).toBe(2);
  });

  it("upgrades a 0008 database with records to 0009: the session index holds them, session reads stay the same", async () => {
    const { storage, db } = await open({ migrate: false });
    expect((await (await migrator(db)).migrateTo("0008_drop_counts_index")).error).toBeUndefined();
    // Three sessions' records interleaved, and control-plane ones with no session.
    const sessionOf = (index: number) => (index % 4 === 3 ? null : `vs-${index % 4}`);
    const record = (index: number): AuditEntry => ({
      ...oldEntry,
      action_id: `a-${index}`,
      event_id: null,
      session_id: sessionOf(index),
    });
    const stored = 40;
    await insertRecords(
      db,
      "acme",
      Array.from({ length: stored }, (_, index) => record(index)),
    );
    expect(await hasSessionIndex(db)).toBe(true);

    await storage.migrate();

    expect(await migrationNames(db)).toEqual(LATEST);
    expect(await hasSessionIndex(db)).toBe(false);
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from vargate_audit_sessions`.execute(db);
    expect(Number(rows[0]?.n)).toBe(30);
    const marks = await sql<{ mark: number | string }>`
      select session_indexed_seq as mark from vargate_audit_heads where tenant_id = 'acme'`.execute(db);
    expect(Number(marks.rows[0]?.mark)).toBe(stored);
    // The records migrated into the index and those appended after it are read alike.
    await storage.audit.append("acme", [record(stored), record(stored + 1), record(stored + 2)]);
    const all = await storage.audit.scan("acme", { afterSeq: 0, limit: 100 });
    for (const session of ["vs-0", "vs-1", "vs-2"]) {
      const expected = all.filter((each) => each.session_id === session);
      expect(expected.length).toBeGreaterThan(10);
      expect(await storage.audit.listBySession("acme", session, { limit: 100 })).toEqual(expected);
      const page = await storage.audit.scanStored?.("acme", {
        afterSeq: 5,
        limit: 4,
        sessionId: session,
        fields: ["seq"],
      });
      expect(page?.map((each) => each.seq)).toEqual(
        expected
          .filter((each) => each.seq > 5)
          .slice(0, 4)
          .map((each) => each.seq),
      );
    }
  });

  it("lets many audit records share a session with no event id, but not an event id (unique index)", async () => {
    const { db } = await open();
    const row = (seq: number, fields: { session_id?: string | null; event_id?: string | null } = {}) => ({
      ...auditToRow(
        sealAuditRecord("acme", { seq: seq - 1, hash: GENESIS_HASH }, { ...oldEntry, action_id: `a-${seq}` }),
      ),
      event_id: null,
      ...fields,
    });
    const insert = (rows: ReturnType<typeof row>[]) => db.insertInto("vargate_audit_log").values(rows).execute();
    await insert([row(1), row(2), row(3)]);
    await insert([row(4, { session_id: null }), row(5, { session_id: null })]);
    await insert([row(6, { event_id: "sevt_x" })]);
    await expect(insert([row(7, { event_id: "sevt_x" })])).rejects.toThrow();
    await insert([row(7, { event_id: "sevt_x", session_id: "vs-other" })]);
    const { rows: counted } = await sql<{ n: number | string }>`select count(*) as n from vargate_audit_log`.execute(
      db,
    );
    expect(Number(counted[0]?.n)).toBe(7);
  });

  if (database.name === "postgres") {
    it("migrates a schema while another schema of the same database already has vargate's tables", async () => {
      const first = await open();
      const second = await open({ migrate: false });
      await second.storage.migrate();
      expect(await migrationNames(second.db)).toEqual(LATEST);
      expect(await tableExists(second.db, "vargate_audit_log")).toBe(true);
      expect(await first.storage.tenants.list()).toEqual([]);
    });
  }
});

describe("migration helpers", () => {
  it("names every migration so they sort in the order they run", async () => {
    const { vargateMigrations } = await import("../../src/storage/kysely/index.js");
    const names = Object.keys(vargateMigrations("sqlite"));
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(LATEST);
  });
});
