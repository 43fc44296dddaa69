import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import * as z from "zod";
import { canonicalJson, HASHED_FIELDS, recordCanonicalJson, sha256Hex } from "../../src/audit/chain.js";
import { storedRecordCanonicalJson } from "../../src/audit/stored.js";
import type { AuditEntry, AuditRecord, StoredAuditRecord } from "../../src/audit/types.js";
import { verifyComplianceExport } from "../../src/compliance/verify.js";
import { VargateGovernor } from "../../src/governor.js";
import type { JsonObject } from "../../src/json.js";
import { SQLITE_HASHED_TEXT } from "../../src/storage/kysely/audit-read.js";
import { defineTool } from "../../src/tools/define.js";
import { sessionEntry, storeSession } from "../compliance/helpers.js";
import { forEachTestDatabase, useSharedGovernor } from "../setup/databases.js";

// The read path of the audit log on every engine: rows written as canonical JSON text are hashed by splicing
// their column texts; rows written before (JSON.stringify text) and edited rows take the parse-and-canonicalize
// path, and no edit gets a record past verification.

const REQUESTED_AT = "2026-04-11T14:30:00.000Z";

/** The spliced text of a stored record whose input text may be anything: what a splice without checks would hash. */
function spliceUnchecked(stored: StoredAuditRecord): string {
  const placeholder = '"\\u0000placeholder"';
  const text = storedRecordCanonicalJson({ ...stored, input: placeholder }) as string;
  return text.replace(placeholder, () => stored.input);
}

forEachTestDatabase("audit read path", (database) => {
  const shared = useSharedGovernor(database);

  const newTenant = async () => {
    const tenantId = `t-${randomBytes(5).toString("hex")}`;
    await shared.governor.tenants.create({ tenant_id: tenantId });
    return tenantId;
  };
  const row = (tenantId: string, seq: number) =>
    shared.test.db.updateTable("vargate_audit_log").where("tenant_id", "=", tenantId).where("seq", "=", seq);
  const storedRecord = async (tenantId: string, seq: number) => {
    const [stored] = (await shared.test.storage.audit.scanStored?.(tenantId, { afterSeq: seq - 1, limit: 1 })) ?? [];
    return stored as StoredAuditRecord;
  };

  it("stores input and violations as canonical text, and verifies rows written before as JSON.stringify text", async () => {
    const tenantId = await newTenant();
    const sessionId = `vs-${randomBytes(8).toString("hex")}`;
    const agentId = await storeSession(shared.governor, tenantId, sessionId);
    const entries = Array.from({ length: 30 }, (_, i) => {
      const entry = sessionEntry(sessionId, agentId, i);
      return { ...entry, input: { z: i, a: "Büro ☕", m: { y: [1, 2.5], b: null } }, violations: entry.violations };
    });
    const appended = await shared.test.storage.audit.append(tenantId, entries);
    for (const record of appended) {
      const stored = await storedRecord(tenantId, record.seq);
      expect(stored.input).toBe(`{"a":"Büro ☕","m":{"b":null,"y":[1,2.5]},"z":${(record.input as JsonObject).z}}`);
      expect(storedRecordCanonicalJson(stored)).toBe(recordCanonicalJson(record));
    }
    await shared.governor.checkpoints.create(tenantId);
    const before = await shared.governor.compliance.export(tenantId, sessionId);

    // Rewrite every row's JSON as the text older versions wrote (JSON.stringify, keys as inserted): the values,
    // and so the record hashes, are unchanged.
    for (const record of appended) {
      const legacy = JSON.stringify({ z: (record.input as JsonObject).z, m: { y: [1, 2.5], b: null }, a: "Büro ☕" });
      await row(tenantId, record.seq)
        .set({ input: ` ${legacy}\n`, violations: JSON.stringify(record.violations) })
        .execute();
    }
    const legacyRow = await storedRecord(tenantId, appended[0]?.seq as number);
    expect(sha256Hex(storedRecordCanonicalJson(legacyRow) as string)).not.toBe(legacyRow.record_hash);
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: true });
    const after = await shared.governor.compliance.export(tenantId, sessionId);
    const { public_key_pem } = await shared.governor.checkpoints.publicKey(tenantId);
    expect(verifyComplianceExport(after, { publicKey: public_key_pem }).valid).toBe(true);
    expect(after.timeline).toEqual(before.timeline);
  });

  it("reports a record broken whose columns were edited so that the spliced text shifts into its input", async () => {
    const tenantId = await newTenant();
    const head = await shared.test.storage.audit.head(tenantId);
    const seq = head.seq + 1;
    const sessionId = "vs-0123456789abcdef";
    // An input that repeats, as data, the record's later fields with other values: the forger edits the columns
    // to those values and cuts the input text short, so that the columns now read as part of the input.
    const forged = {
      method: "forged",
      policy_version: 42,
      prev_hash: head.hash,
      requested_at: REQUESTED_AT,
      seq,
      session_id: sessionId,
      severity: "none",
      source: "mcp_governed",
      tenant_id: tenantId,
      tool: "harmless_tool",
    } as const;
    const entry: AuditEntry = {
      action_id: `action-${randomBytes(4).toString("hex")}`,
      session_id: sessionId,
      agent_id: null,
      event_id: null,
      actor: null,
      source: "mcp_governed",
      tool: "transfer_funds",
      method: "tools/call",
      decision: "deny",
      severity: "high",
      violations: ["amount over limit"],
      input: { a: 1, ...forged, violations: [] },
      policy_version: 3,
      requested_at: REQUESTED_AT,
    };
    const [record] = (await shared.test.storage.audit.append(tenantId, [entry])) as [AuditRecord];
    expect(record.seq).toBe(seq);
    const original = recordCanonicalJson(record);
    const edited: StoredAuditRecord = {
      ...(await storedRecord(tenantId, seq)),
      input: '{"a":1',
      method: forged.method,
      policy_version: forged.policy_version,
      severity: forged.severity,
      tool: forged.tool,
      violations: "",
    };
    // The violations text takes whatever is left: with it, the edited columns join to exactly the sealed text.
    const joined = spliceUnchecked(edited);
    edited.violations = original.slice(joined.length - 1, -1);
    expect(spliceUnchecked(edited)).toBe(original);
    expect(sha256Hex(spliceUnchecked(edited))).toBe(record.record_hash);

    await row(tenantId, seq)
      .set({
        input: edited.input,
        method: edited.method,
        policy_version: edited.policy_version,
        severity: edited.severity,
        tool: edited.tool,
        violations: edited.violations,
      })
      .execute();
    const stored = await storedRecord(tenantId, seq);
    expect(spliceUnchecked(stored)).toBe(original);
    // The input text is not one JSON value, so the splice is not trusted, and the parsed record does not match.
    expect(storedRecordCanonicalJson(stored)).toBeNull();
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
      valid: false,
      failed_at_seq: seq,
      failed_at_action_id: entry.action_id,
      reason: "record_hash mismatch",
    });
  });

  // Every text column of the hash, including the nullable ones (a NULL becomes the JSONB of `null`); tenant_id last,
  // since its record then leaves the tenant's chain and verification finds it missing rather than mismatched.
  const BLOB_COLUMNS = [
    ...HASHED_FIELDS.filter((field) => !["seq", "tenant_id"].includes(field)),
    "tenant_id" as const,
  ];

  it.runIf(database.dialect === "sqlite")(
    "reports a record broken whose text column SQLite holds as a BLOB that json_quote would render as the text",
    async () => {
      const tenantId = await newTenant();
      const entries = BLOB_COLUMNS.map((_, index) => ({
        ...sessionEntry("vs-0123456789abcdef", "agent-1", index + 1),
        tool: "transfer_funds",
      }));
      const records = (await shared.test.storage.audit.append(tenantId, entries)) as AuditRecord[];
      const { rows: located } = await sql<{ id: number }>`select rowid as id from vargate_audit_log
        where tenant_id = ${tenantId} and seq >= ${(records[0] as AuditRecord).seq} order by seq`.execute(
        shared.test.db,
      );
      const rowids = located.map((row) => row.id);
      for (const [index, column] of BLOB_COLUMNS.entries()) {
        // The JSONB encoding of the same value: json_quote() of it (or, for the spliced JSON columns, the value
        // itself) gives back the sealed text, so a join in SQL that did not check the column's type would hash to
        // the sealed record; vargate reads a Buffer.
        const jsonb =
          column === "input" || column === "violations"
            ? sql`jsonb(${sql.ref(column)})`
            : sql`jsonb(json_quote(${sql.ref(column)}))`;
        const rowid = rowids[index] as number;
        await sql`update vargate_audit_log set ${sql.ref(column)} = ${jsonb} where rowid = ${rowid}`.execute(
          shared.test.db,
        );
        const { rows } = await sql<{ type: string }>`select typeof(${sql.ref(column)}) as type from vargate_audit_log
          where rowid = ${rowid}`.execute(shared.test.db);
        expect(rows, column).toEqual([{ type: "blob" }]);
      }
      // The join itself, row by row (a BLOB tenant_id takes its row out of the tenant's scans).
      const { rows: joined } = await sql<{ text: string | null }>`select ${SQLITE_HASHED_TEXT} as text
        from vargate_audit_log where rowid in (${sql.join(rowids)}) order by rowid`.execute(shared.test.db);
      expect(joined.map((row) => row.text)).toEqual(BLOB_COLUMNS.map(() => null));
      expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
        valid: false,
        failed_at_seq: (records[0] as AuditRecord).seq,
        reason: "record_hash mismatch",
      });
    },
  );

  it.runIf(database.dialect === "sqlite")(
    "never joins a policy_version SQLite holds as text or as a real to the sealed integer",
    async () => {
      const tenantId = await newTenant();
      const entries = [1, 2].map((i) => ({ ...sessionEntry("vs-0123456789abcdef", "agent-1", i), policy_version: 3 }));
      const records = (await shared.test.storage.audit.append(tenantId, entries)) as AuditRecord[];
      const seqs = records.map((record) => record.seq);
      // Text columns hold only TEXT, NULL or BLOB (TEXT affinity turns numbers into text); an INTEGER column keeps a
      // text that is not a number, and a real that is not an integer.
      await sql`update vargate_audit_log set policy_version = 'three' where tenant_id = ${tenantId} and seq = ${seqs[0]}`.execute(
        shared.test.db,
      );
      await sql`update vargate_audit_log set policy_version = 3.5 where tenant_id = ${tenantId} and seq = ${seqs[1]}`.execute(
        shared.test.db,
      );
      const { rows } = await sql<{
        type: string;
        text: string | null;
        hash: string;
      }>`select typeof(policy_version) as type,
        ${SQLITE_HASHED_TEXT} as text, record_hash as hash from vargate_audit_log
        where tenant_id = ${tenantId} and seq in (${sql.join(seqs)}) order by seq`.execute(shared.test.db);
      expect(rows.map((row) => row.type)).toEqual(["text", "real"]);
      for (const row of rows) expect(row.text === null || sha256Hex(row.text) !== row.hash).toBe(true);
      expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
        valid: false,
        failed_at_seq: seqs[0],
        reason: "record_hash mismatch",
      });
    },
  );

  it("counts a credentialed call approved in the session as brokered, from canonical rows and from rewritten ones", async () => {
    const tenantId = await newTenant();
    const sessionId = `vs-${randomBytes(8).toString("hex")}`;
    const agentId = await storeSession(shared.governor, tenantId, sessionId);
    const governor = new VargateGovernor({
      storage: shared.test.storage,
      tools: [
        defineTool({
          name: "crm_lookup",
          description: "Look a customer up",
          inputSchema: z.object({}),
          credentials: ["crm"],
          execute: async () => ({}),
        }),
      ],
    });
    const call = (i: number, decision: "allow" | "requires_human") => ({
      ...sessionEntry(sessionId, agentId, i * 10),
      tool: "crm_lookup",
      decision,
    });
    const pending = call(2, "requires_human");
    const approval: AuditEntry = {
      ...sessionEntry(sessionId, agentId, 3),
      source: "control_plane",
      method: "approve_action",
      tool: "control_plane",
      decision: "allow",
      event_id: null,
      input: { action_id: pending.action_id, note: "fine" },
    };
    const appended = await shared.test.storage.audit.append(tenantId, [call(1, "allow"), pending, approval]);
    const brokered = async () =>
      (await governor.compliance.export(tenantId, sessionId)).agcs_controls["AG-1.9"] ?? "not brokered";
    expect(await brokered()).toContain("2 governed calls (crm_lookup)");
    // The approval's input as older versions wrote it: read whole and parsed, to the same count.
    const last = appended.at(-1) as AuditRecord;
    await row(tenantId, last.seq)
      .set({ input: JSON.stringify({ note: "fine", action_id: pending.action_id }) })
      .execute();
    expect((await storedRecord(tenantId, last.seq)).input).not.toBe(canonicalJson(last.input));
    expect(await brokered()).toContain("2 governed calls (crm_lookup)");
  });
});
