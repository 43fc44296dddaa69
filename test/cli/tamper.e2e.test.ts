// Editing any hashed column of any audit record directly in the database makes `vargate audit verify` (a real
// process) exit 1 and name that record.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HASHED_FIELDS, VargateGovernor } from "../../src/index.js";
import { kyselyStorageFromUrl } from "../../src/storage/kysely/index.js";
import { runCli, SPAWN_TIMEOUT_MS, tempDir } from "./helpers.js";

type Row = Record<string, unknown> & { seq: number; action_id: string };

interface VerifyAll {
  valid: boolean;
  tenants: {
    tenant_id: string;
    valid: boolean;
    failed_at_seq?: number;
    failed_at_action_id?: string | null;
    reason?: string;
  }[];
}

const temp = tempDir("vargate-tamper-");
const base = join(temp.dir, "base.db");
let chainLength = 0;

beforeAll(async () => {
  // Two tenants; acme's chain: tenant created, three agent configs (one a child), one update.
  const governor = new VargateGovernor({ storage: kyselyStorageFromUrl(base) });
  await governor.migrate();
  await governor.tenants.create({ tenant_id: "acme" });
  await governor.tenants.create({ tenant_id: "beta" });
  const parent = await governor.agents.create("acme", { name: "parent", max_delegation_depth: 2 }, { actor: "ops" });
  await governor.agents.create("acme", { name: "child", parent_agent_id: parent.id });
  await governor.agents.update("acme", parent.id, { system_prompt: "Be careful.", allowed_tools: ["vargate_x"] });
  await governor.agents.create("acme", { name: "other", governance_profile: { risk_level: "standard" } });
  await governor.agents.create("beta", { name: "beta agent" });
  chainLength = (await governor.audit.verify("acme")).record_count;
  await governor.close();
});
afterAll(() => temp.cleanup());

/** A consistent copy of the base database, to tamper with. */
function copyOfBase(name: string): string {
  const target = join(temp.dir, `${name}.db`);
  const db = new Database(base, { readonly: true });
  try {
    db.prepare("VACUUM INTO ?").run(target);
  } finally {
    db.close();
  }
  return target;
}

/** A value for `column` that differs from `current` and is still plausible for the column. */
function tamperedValue(column: string, current: unknown): unknown {
  switch (column) {
    case "tenant_id":
      return "mallory";
    case "seq":
      return Number(current) + 1000;
    case "action_id":
      return randomUUID();
    case "source":
      return current === "mcp_observed" ? "mcp_governed" : "mcp_observed";
    case "decision":
      return current === "deny" ? "allow" : "deny";
    case "severity":
      return current === "critical" ? "low" : "critical";
    case "violations":
      return JSON.stringify([...(JSON.parse(String(current)) as string[]), "tampered"]);
    case "input":
      return JSON.stringify({ ...(JSON.parse(String(current)) as object), tampered: true });
    case "policy_version":
      return current === null ? 1 : Number(current) + 1;
    case "requested_at":
      return "2000-01-01T00:00:00.000Z";
    case "prev_hash":
      return `${String(current)[0] === "0" ? "1" : "0"}${String(current).slice(1)}`;
    default:
      return current === null ? `tampered-${column}` : `${String(current)}-tampered`;
  }
}

describe("vargate audit verify on an untampered database", { timeout: SPAWN_TIMEOUT_MS }, () => {
  it("exits 0 and reports every chain valid", async () => {
    const result = await runCli(["audit", "verify", "--database", copyOfBase("untampered")], { cwd: temp.dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as VerifyAll;
    expect(output.valid).toBe(true);
    expect(output.tenants.map((t) => [t.tenant_id, t.valid])).toEqual([
      ["acme", true],
      ["beta", true],
    ]);
    expect(chainLength).toBe(5);
  });
});

describe.concurrent("vargate audit verify after a direct edit of one hashed column", {
  timeout: SPAWN_TIMEOUT_MS,
}, () => {
  it.each(HASHED_FIELDS.map((column, index) => [column, index] as const))(
    "%s: exits 1 and names the edited record",
    async (column, index) => {
      // Spread the edits over the first, middle and last records of the chain.
      const seq = 1 + (index % chainLength);
      const database = copyOfBase(`tamper-${column}`);
      const db = new Database(database);
      let tampered: Row;
      try {
        const select = db.prepare("SELECT * FROM vargate_audit_log WHERE tenant_id = ? AND seq = ?");
        const before = select.get("acme", seq) as Row;
        const value = tamperedValue(column, before[column]);
        expect(value).not.toEqual(before[column]);
        const changed = db
          .prepare(`UPDATE vargate_audit_log SET "${column}" = ? WHERE tenant_id = ? AND seq = ?`)
          .run(value, "acme", seq).changes;
        expect(changed).toBe(1);
        tampered = { ...before, [column]: value };
      } finally {
        db.close();
      }

      const result = await runCli(["audit", "verify", "--database", database], { cwd: temp.dir });
      expect(result.code).toBe(1);
      const output = JSON.parse(result.stdout) as VerifyAll;
      expect(output.valid).toBe(false);
      const acme = output.tenants.find((t) => t.tenant_id === "acme");
      const beta = output.tenants.find((t) => t.tenant_id === "beta");
      expect(beta?.valid).toBe(true);
      expect(acme?.valid).toBe(false);

      if (column === "seq") {
        // The record left its place for one beyond the head: verify names the place and the record.
        expect(acme).toMatchObject({ failed_at_seq: seq, failed_at_action_id: tampered.action_id });
        expect(acme?.reason).toMatch(new RegExp(`seq ${seq}\\b`));
      } else if (column === "tenant_id") {
        // The edit moves the record out of acme's chain: verify names the position it should hold.
        expect(acme).toMatchObject({ failed_at_seq: seq, failed_at_action_id: null });
        expect(acme?.reason).toMatch(new RegExp(`seq ${seq}\\b`));
        expect(result.stderr).toContain(`broken at seq ${seq}: `);
      } else {
        expect(acme).toMatchObject({ failed_at_seq: seq, failed_at_action_id: tampered.action_id });
        expect(result.stderr).toContain(`broken at seq ${seq} (action_id ${tampered.action_id})`);
      }
    },
  );
});

describe("vargate audit verify after moving a record into another tenant's chain", {
  timeout: SPAWN_TIMEOUT_MS,
}, () => {
  it("fails both chains: the hole in one, the stray record in the other", async () => {
    const database = copyOfBase("moved");
    const db = new Database(database);
    const moved = db
      .prepare("SELECT action_id FROM vargate_audit_log WHERE tenant_id = ? AND seq = ?")
      .get("acme", 3) as {
      action_id: string;
    };
    db.prepare("UPDATE vargate_audit_log SET tenant_id = ?, seq = ? WHERE tenant_id = ? AND seq = ?").run(
      "beta",
      99,
      "acme",
      3,
    );
    db.close();

    const result = await runCli(["audit", "verify", "--database", database], { cwd: temp.dir });
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout) as VerifyAll;
    expect(output.tenants.find((t) => t.tenant_id === "acme")).toMatchObject({ valid: false, failed_at_seq: 3 });
    expect(output.tenants.find((t) => t.tenant_id === "beta")).toMatchObject({
      valid: false,
      failed_at_seq: 99,
      failed_at_action_id: moved.action_id,
    });
  });
});

/** Columns of `vargate_audit_log` deliberately outside the hash; docs/concepts/audit-chain.md lists them. */
const UNHASHED_COLUMNS = ["record_hash", "result"];

describe("columns outside the hash", { timeout: SPAWN_TIMEOUT_MS }, () => {
  it("every column of vargate_audit_log is hashed, except the documented ones, whose edits verify still accepts", async () => {
    const database = copyOfBase("unhashed");
    const db = new Database(database);
    const columns = (db.prepare("PRAGMA table_info(vargate_audit_log)").all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining([...HASHED_FIELDS]));
    const unknown = columns.filter(
      (column) => !(HASHED_FIELDS as readonly string[]).includes(column) && !UNHASHED_COLUMNS.includes(column),
    );
    expect(unknown, "new audit columns must be hashed or documented as outside the hash").toEqual([]);
    const editable = columns.filter((column) => UNHASHED_COLUMNS.includes(column) && column !== "record_hash");
    for (const column of editable) {
      db.prepare(`UPDATE vargate_audit_log SET "${column}" = ? WHERE tenant_id = ? AND seq = ?`).run(
        JSON.stringify({ edited: true }),
        "acme",
        2,
      );
    }
    db.close();

    const result = await runCli(["audit", "verify", "--database", database], { cwd: temp.dir });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as VerifyAll).valid).toBe(true);
  });
});

describe("vargate audit verify --tenant on a tampered database", { timeout: SPAWN_TIMEOUT_MS }, () => {
  it("fails only for the tenant whose chain was edited", async () => {
    const database = copyOfBase("tenant-scoped");
    const db = new Database(database);
    db.prepare("UPDATE vargate_audit_log SET input = ? WHERE tenant_id = ? AND seq = ?").run("{}", "acme", 2);
    db.close();

    const acme = await runCli(["audit", "verify", "--tenant", "acme", "--database", database], { cwd: temp.dir });
    expect(acme.code).toBe(1);
    expect(JSON.parse(acme.stdout)).toMatchObject({
      tenant_id: "acme",
      valid: false,
      failed_at_seq: 2,
      reason: "record_hash mismatch",
    });

    const beta = await runCli(["audit", "verify", "--tenant", "beta", "--database", database], { cwd: temp.dir });
    expect(beta.code).toBe(0);
    expect(JSON.parse(beta.stdout)).toMatchObject({ tenant_id: "beta", valid: true });
  });
});
