import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { HASHED_FIELDS } from "../../src/audit/chain.js";
import type { AuditEntry, AuditRecord } from "../../src/audit/types.js";
import { forEachTestDatabase, useSharedGovernor } from "../setup/databases.js";

type Column = (typeof HASHED_FIELDS)[number] | "record_hash";

// A value different from the stored one for every column the hash covers (tenant_id and seq place the record
// in its chain and are tested separately). Missing a new hashed field here fails the "covers" test below.
const FORGED: Record<Exclude<Column, "tenant_id" | "seq">, string | number | null> = {
  action_id: "forged-action",
  session_id: "vs-forged",
  agent_id: "agent-forged",
  event_id: "sevt_forged",
  actor: "mallory",
  source: "control_plane",
  tool: "forged_tool",
  method: "forged",
  decision: "allow",
  severity: "none",
  violations: "[]",
  input: '{"amount":1}',
  policy_version: 99,
  requested_at: "2025-01-01T00:00:00.001Z",
  prev_hash: "f".repeat(64),
  record_hash: "e".repeat(64),
};

const entry = (i: number): AuditEntry => ({
  action_id: `action-${i}-${randomBytes(4).toString("hex")}`,
  session_id: "vs-0123456789abcdef",
  agent_id: "agent-0123456789ab",
  event_id: `sevt_${i}`,
  actor: "key-1",
  source: "mcp_governed",
  tool: "transfer_funds",
  method: "tools/call",
  decision: "deny",
  severity: "high",
  violations: ["amount over limit"],
  input: { amount: 1000 },
  policy_version: 3,
  requested_at: "2025-01-01T00:00:00.000Z",
});

forEachTestDatabase("tamper detection", (database) => {
  const shared = useSharedGovernor(database);

  /** A tenant whose chain has five records: its creation, then four governed calls. */
  async function chain(): Promise<{ tenantId: string; records: AuditRecord[] }> {
    const tenantId = `t-${randomBytes(5).toString("hex")}`;
    await shared.governor.tenants.create({ tenant_id: tenantId });
    await shared.test.storage.audit.append(tenantId, [1, 2, 3, 4].map(entry));
    const records: AuditRecord[] = [];
    for await (const record of shared.governor.audit.records(tenantId)) records.push(record);
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: true, record_count: 5 });
    return { tenantId, records };
  }

  const log = () => shared.test.db.updateTable("vargate_audit_log");
  const deleteRecord = (tenantId: string, seq: number) =>
    shared.test.db.deleteFrom("vargate_audit_log").where("tenant_id", "=", tenantId).where("seq", "=", seq).execute();

  it("covers every hashed column", () => {
    expect(Object.keys(FORGED).sort()).toEqual(
      [...HASHED_FIELDS, "record_hash"].filter((f) => f !== "tenant_id" && f !== "seq").sort(),
    );
  });

  for (const [column, value] of Object.entries(FORGED)) {
    it(`names the record whose ${column} was edited`, async () => {
      const { tenantId, records } = await chain();
      const target = records[2] as AuditRecord;
      await log()
        .set({ [column]: value })
        .where("tenant_id", "=", tenantId)
        .where("seq", "=", 3)
        .execute();
      expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
        valid: false,
        failed_at_seq: 3,
        failed_at_action_id: column === "action_id" ? value : target.action_id,
      });
    });
  }

  it("ignores the result column, which lies outside the hash (docs/concepts/audit-chain.md)", async () => {
    const { tenantId } = await chain();
    await log()
      .set({ result: '{"excerpt":"edited"}' })
      .where("tenant_id", "=", tenantId)
      .where("seq", "=", 3)
      .execute();
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: true, record_count: 5 });
    expect(await shared.test.storage.audit.setResult(tenantId, "vs-0123456789abcdef", "sevt_2", [1, 2])).toBe(true);
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: true, record_count: 5 });
  });

  it("names the record at a seq when two records' seq values are swapped", async () => {
    const { tenantId, records } = await chain();
    const where = (seq: number) => log().where("tenant_id", "=", tenantId).where("seq", "=", seq);
    await where(3).set({ seq: -1 }).execute();
    await where(4).set({ seq: 3 }).execute();
    await where(-1).set({ seq: 4 }).execute();
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
      valid: false,
      failed_at_seq: 3,
      failed_at_action_id: records[3]?.action_id,
    });
  });

  it("names the record at a seq when two tenants' records there swap tenant_id", async () => {
    const a = await chain();
    const b = await chain();
    const where = (tenantId: string) => log().where("tenant_id", "=", tenantId).where("seq", "=", 3);
    await where(a.tenantId).set({ tenant_id: "swap" }).execute();
    await where(b.tenantId).set({ tenant_id: a.tenantId }).execute();
    await where("swap").set({ tenant_id: b.tenantId }).execute();
    for (const [mine, theirs] of [
      [a, b],
      [b, a],
    ] as const) {
      expect(await shared.governor.audit.verify(mine.tenantId)).toMatchObject({
        valid: false,
        failed_at_seq: 3,
        failed_at_action_id: theirs.records[2]?.action_id,
      });
    }
  });

  it("detects a record moved to another tenant's chain (tenant_id edited), in both chains", async () => {
    const { tenantId, records } = await chain();
    const other = await chain();
    // Give the other tenant room at seq 3 so the unique (tenant_id, seq) index lets the move through.
    await shared.test.db
      .deleteFrom("vargate_audit_log")
      .where("tenant_id", "=", other.tenantId)
      .where("seq", ">=", 3)
      .execute();
    await shared.test.db
      .updateTable("vargate_audit_heads")
      .set({ seq: 2, hash: other.records[1]?.record_hash as string })
      .where("tenant_id", "=", other.tenantId)
      .execute();
    await log().set({ tenant_id: other.tenantId }).where("tenant_id", "=", tenantId).where("seq", "=", 3).execute();

    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({
      valid: false,
      failed_at_seq: 3,
      reason: "record at seq 3 is missing",
    });
    expect(await shared.governor.audit.verify(other.tenantId)).toMatchObject({
      valid: false,
      failed_at_seq: 3,
      failed_at_action_id: records[2]?.action_id,
      reason: "record lies beyond the chain head",
    });
  });

  it("detects a deleted tail record through the head", async () => {
    const { tenantId } = await chain();
    await deleteRecord(tenantId, 5);
    const result = await shared.governor.audit.verify(tenantId);
    expect(result).toMatchObject({ valid: false, failed_at_seq: 5, record_count: 4 });
    expect(result.reason).toContain("head");
  });

  it("detects a deleted record in the middle", async () => {
    const { tenantId } = await chain();
    await deleteRecord(tenantId, 2);
    const result = await shared.governor.audit.verify(tenantId);
    expect(result).toMatchObject({ valid: false, failed_at_seq: 2, reason: "record at seq 2 is missing" });
  });

  it("detects an edited head", async () => {
    const { tenantId } = await chain();
    await shared.test.db
      .updateTable("vargate_audit_heads")
      .set({ hash: "0".repeat(64) })
      .where("tenant_id", "=", tenantId)
      .execute();
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: false });
  });

  it("refuses to append after the chain's rows and head disagree, rather than fork it", async () => {
    const { tenantId } = await chain();
    await shared.test.db.updateTable("vargate_audit_heads").set({ seq: 2 }).where("tenant_id", "=", tenantId).execute();
    await expect(shared.test.storage.audit.append(tenantId, [entry(9)])).rejects.toMatchObject({
      code: "STORAGE_ERROR",
    });
  });
});
