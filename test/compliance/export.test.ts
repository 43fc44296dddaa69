import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, HASHED_FIELDS, sha256Hex } from "../../src/audit/chain.js";
import type { ComplianceExport, ComplianceTimelineItem } from "../../src/compliance/types.js";
import { verifyComplianceExport } from "../../src/compliance/verify.js";
import { createRequestHandler } from "../../src/http/handler.js";
import type { FakeScriptStep } from "../../src/testing/fake-platform/index.js";
import { runCli } from "../cli/helpers.js";
import { type GovernanceHarness, startGovernance } from "../governance/harness.js";
import { eventually } from "../sessions/harness.js";

const call = (name: string, input: Record<string, unknown>): FakeScriptStep => ({
  type: "mcp_tool_use",
  server: "vargate",
  name,
  input,
});
const builtin = (i: number): FakeScriptStep =>
  i % 2 === 0
    ? { type: "tool_use", name: "bash", input: { command: `echo ${i}` }, result: `${i}` }
    : { type: "tool_use", name: "read", input: { file_path: `/tmp/file-${i}` }, result: "contents" };

let harness: GovernanceHarness;
let exported: ComplianceExport;
let publicKeyPem: string;
let sessionId: string;
const dir = mkdtempSync(join(tmpdir(), "vargate-compliance-"));

async function runSession(steps: FakeScriptStep[], governed: number, observed: number) {
  const { governor, fake, tenantId } = harness;
  fake.setDefaultScript(steps);
  const agent = await governor.agents.create(tenantId, {
    name: "worker",
    allowed_tools: ["crm_lookup", "create_transfer", "send_email"],
    require_human_approval: ["send_email"],
  });
  const created = await governor.sessions.create(tenantId, { agent_id: agent.id, user_message: "go" });
  const upstreamId = created.anthropic_session_id as string;
  await fake.waitForEvent(upstreamId, (e) => e.type === "session.status_idle");
  await fake.settled(upstreamId, { timeoutMs: 20_000 });
  await eventually(async () => {
    const status = await governor.sessions.get(tenantId, created.session_id);
    return status.total_governed_calls === governed && status.total_observed_calls === observed;
  });
  return created.session_id;
}

const clone = (value: ComplianceExport): ComplianceExport => structuredClone(value);

/** The documented export hash, computed without vargate's exporter: SHA-256 of RFC 8785 JSON minus two fields. */
function exportHashOf(value: ComplianceExport): string {
  const { export_hash: _hash, export_signature: _signature, ...rest } = value;
  return sha256Hex(canonicalJson(rest));
}

beforeAll(async () => {
  harness = await startGovernance();
  const { governor, tenantId } = harness;
  await governor.policy.put(tenantId, {
    rules: [
      {
        id: "big-transfers",
        when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: 100 }] },
        effect: "deny",
        severity: "high",
        message: "Transfers over 100 are denied",
      },
    ],
  });
  const steps: FakeScriptStep[] = [
    call("crm_lookup", { customer_id: "c-1" }),
    builtin(0),
    builtin(1),
    call("create_transfer", { amount: 500, to: "acct-9" }),
    builtin(2),
    builtin(3),
    builtin(4),
    call("create_transfer", { amount: 50, to: "acct-9" }),
    builtin(5),
    builtin(6),
    call("send_email", { to: "a@example.com", subject: "Hello", body: "Body" }),
    builtin(7),
    builtin(8),
    builtin(9),
    call("crm_lookup", { customer_id: "c-2" }),
    builtin(10),
    builtin(11),
  ];
  sessionId = await runSession(steps, 5, 12);
  const [pending] = await governor.approvals.list(tenantId, { status: "pending" });
  expect(pending?.tool).toBe("send_email");
  await governor.approvals.approve(tenantId, pending?.action_id as string, { note: "fine" });
  exported = await governor.compliance.export(tenantId, sessionId);
  publicKeyPem = (await governor.checkpoints.publicKey(tenantId)).public_key_pem;
}, 120_000);

afterAll(async () => harness?.close());

describe("compliance export of a mixed session", () => {
  it("reports the seed's summary exactly", () => {
    expect(exported.summary).toEqual({
      total_events: 17,
      governed_calls: 5,
      observed_calls: 12,
      denied: 1,
      pending: 0,
      anomalies_detected: 0,
      denial_rate: "5.88%",
      approvals_used: 1,
    });
  });

  it("has the seed's session, governance profile and timeline fields, in chain order", () => {
    expect(exported.format).toBe("vargate-compliance-export/v1");
    expect(exported.session).toMatchObject({ id: sessionId, status: "active", ended_at: null });
    expect(exported.session.duration_seconds).toBeGreaterThanOrEqual(0);
    expect(exported.governance_profile).toEqual({
      allowed_tools: ["crm_lookup", "create_transfer", "send_email"],
      require_human_approval: ["send_email"],
    });
    expect(exported.timeline).toHaveLength(17);
    const seqs = exported.timeline.map((item) => item.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const governed = exported.timeline.filter((item) => item.source === "mcp_governed");
    expect(governed.map((item) => [item.tool, item.decision])).toEqual([
      ["crm_lookup", "allow"],
      ["create_transfer", "deny"],
      ["create_transfer", "allow"],
      ["send_email", "requires_human"],
      ["crm_lookup", "allow"],
    ]);
    for (const item of exported.timeline) {
      for (const field of [...HASHED_FIELDS, "record_hash", "inclusion_proof"]) expect(item).toHaveProperty(field);
      expect(item.inclusion_proof?.leaf_index).toBe(item.seq - 1);
    }
    expect(exported.checkpoint?.tree_size).toBeGreaterThanOrEqual(Math.max(...seqs));
    expect(exported.chain_verification.valid).toBe(true);
    expect(exported.policy_versions).toEqual([
      expect.objectContaining({
        version: 1,
        governed_calls: 5,
        document_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    ]);
    expect(exported.export_hash).toBe(exportHashOf(exported));
  });

  it("computes the AGCS controls from the session's state", () => {
    const controls = exported.agcs_controls;
    expect(Object.keys(controls)).toEqual(["AG-1.1", "AG-1.2", "AG-1.3", "AG-1.6", "AG-1.9", "AG-2.1"]);
    expect(controls["AG-1.1"]).toBe("Policy evaluation active: 5 governed calls evaluated under policy version 1");
    expect(controls["AG-1.2"]).toMatch(/^Hash-chained audit trail verified: \d+ records of tenant /);
    expect(controls["AG-1.3"]).toBe("Action IDs assigned to all governed calls (5)");
    expect(controls["AG-1.6"]).toBe("1 action routed through approval queue");
    expect(controls["AG-1.9"]).toContain("2 governed calls (crm_lookup)");
    expect(controls["AG-2.1"]).toContain("17 events");
  });

  it("leaves AG-1.9 out of a session that brokered no credentials, and reports 0.00% without denials", async () => {
    const other = await runSession([call("create_transfer", { amount: 5, to: "x" }), builtin(0)], 1, 1);
    const result = await harness.governor.compliance.export(harness.tenantId, other);
    expect(result.agcs_controls).not.toHaveProperty("AG-1.9");
    expect(result.agcs_controls["AG-1.6"]).toBe("0 actions routed through approval queue");
    expect(result.summary).toMatchObject({ total_events: 2, denied: 0, denial_rate: "0.00%" });
    expect(verifyComplianceExport(result, { publicKey: publicKeyPem }).valid).toBe(true);
  });

  it("streams the same export over HTTP, and 404s for an unknown session", async () => {
    const handler = createRequestHandler(harness.governor);
    const get = (id: string) =>
      handler(
        new Request(`http://localhost/managed/sessions/${id}/compliance`, { headers: { "x-api-key": harness.apiKey } }),
      );
    const response = await get(sessionId);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = (await response.json()) as ComplianceExport;
    expect(body.summary).toEqual(exported.summary);
    expect(body.timeline.map((i) => i.record_hash)).toEqual(exported.timeline.map((i) => i.record_hash));
    expect(verifyComplianceExport(body, { publicKey: publicKeyPem }).valid).toBe(true);
    expect((await get("vs-0000000000000000")).status).toBe(404);
  });
});

describe("offline verification", () => {
  const failedChecks = (value: unknown, key: string | undefined = publicKeyPem) =>
    verifyComplianceExport(value as object, key === undefined ? {} : { publicKey: key });

  it("accepts the fresh export with the supplied key, and says so when the key was only the embedded one", () => {
    const result = failedChecks(exported);
    expect(result.failures).toEqual([]);
    expect(result).toMatchObject({ valid: true, public_key_source: "supplied", records: 17 });
    expect(result.checks.every((check) => check.passed)).toBe(true);
    const embedded = verifyComplianceExport(exported);
    expect(embedded).toMatchObject({ valid: true, public_key_source: "embedded" });
    expect(embedded.checks.find((c) => c.check === "public_key")?.detail).toContain("NOT independently supplied");
    // The JSON text verifies the same, however it is formatted.
    expect(verifyComplianceExport(JSON.stringify(exported, null, 2), { publicKey: publicKeyPem }).valid).toBe(true);
  });

  // A one-character change inside a value of the given field (strings: a character; numbers: the lowest bit).
  function mutate(value: unknown): unknown {
    if (typeof value === "string") {
      const at = Math.floor(value.length / 2);
      const c = value[at] as string;
      const replacement = c === "a" ? "b" : /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : "a";
      return value.slice(0, at) + replacement + value.slice(at + 1);
    }
    if (typeof value === "number") return value ^ 1;
    // null or [] cannot change by one byte and stay JSON: they get a value instead.
    if (value === null) return "x";
    if (Array.isArray(value)) return value.length > 0 ? [mutate(value[0]), ...value.slice(1)] : ["x"];
    if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      const index = entries.findIndex(([, v]) => v !== null && (typeof v !== "object" || Object.keys(v).length > 0));
      const [key, inner] = entries[index] as [string, unknown];
      return { ...value, [key]: mutate(inner) };
    }
    return value;
  }

  const denied = () => exported.timeline.findIndex((item) => item.decision === "deny");
  for (const field of [...HASHED_FIELDS, "record_hash"]) {
    it(`rejects a one-character change to the record's ${field}`, () => {
      const forged = clone(exported);
      const item = forged.timeline[denied()] as unknown as Record<string, unknown>;
      const before = JSON.stringify(item[field]);
      item[field] = mutate(item[field]);
      expect(JSON.stringify(item[field])).not.toBe(before);
      const result = failedChecks(forged);
      expect(result.valid).toBe(false);
      expect(result.failures.map((f) => f.check)).toContain("record_hashes");
      expect(result.failures.map((f) => f.check)).toContain("export_hash");
    });
  }

  it("rejects a byte changed anywhere in a record's JSON text", () => {
    const text = JSON.stringify(exported);
    const item = exported.timeline[3] as ComplianceTimelineItem;
    const start = text.indexOf(`{"action_id":"${item.action_id}"`);
    const end = text.indexOf("inclusion_proof", start);
    let rejected = 0;
    for (let at = start; at < end; at += 1) {
      const c = text[at] as string;
      if (!/[0-9a-z]/.test(c)) continue;
      const forged = text.slice(0, at) + (c === "a" ? "b" : "a") + text.slice(at + 1);
      let parsed: unknown;
      try {
        parsed = JSON.parse(forged);
      } catch {
        continue;
      }
      expect(verifyComplianceExport(parsed as object, { publicKey: publicKeyPem }).valid, `byte ${at}`).toBe(false);
      rejected += 1;
    }
    expect(rejected).toBeGreaterThan(50);
  });

  it("rejects a dropped record", () => {
    const forged = clone(exported);
    forged.timeline.splice(5, 1);
    expect(failedChecks(forged).failures.map((f) => f.check)).toEqual(
      expect.arrayContaining(["summary", "export_hash"]),
    );
    // With the summary fixed and the hash recomputed, the export signature still fails.
    const dropped = exported.timeline[5] as ComplianceTimelineItem;
    forged.summary.total_events -= 1;
    if (dropped.source === "mcp_governed") forged.summary.governed_calls -= 1;
    else forged.summary.observed_calls -= 1;
    forged.summary.denial_rate = `${((1 / 16) * 100).toFixed(2)}%`;
    forged.export_hash = exportHashOf(forged);
    expect(failedChecks(forged).failures.map((f) => f.check)).toEqual(["export_signature"]);
  });

  it("rejects a reordered timeline", () => {
    const forged = clone(exported);
    forged.timeline.splice(
      2,
      2,
      forged.timeline[3] as ComplianceTimelineItem,
      forged.timeline[2] as ComplianceTimelineItem,
    );
    const result = failedChecks(forged);
    expect(result.valid).toBe(false);
    expect(result.failures.map((f) => f.check)).toEqual(expect.arrayContaining(["timeline_order", "export_hash"]));
  });

  it("rejects a truncated tail, even with the summary and export hash recomputed", () => {
    const forged = clone(exported);
    forged.timeline = forged.timeline.slice(0, 12);
    expect(failedChecks(forged).failures.map((f) => f.check)).toEqual(
      expect.arrayContaining(["summary", "export_hash"]),
    );
    // The forger fixes the summary and recomputes the hash: only the signature stands in the way.
    const governed = forged.timeline.filter((i) => i.source === "mcp_governed").length;
    forged.summary = {
      ...forged.summary,
      total_events: 12,
      governed_calls: governed,
      observed_calls: 12 - governed,
      denial_rate: `${((1 / 12) * 100).toFixed(2)}%`,
    };
    forged.export_hash = exportHashOf(forged);
    const result = failedChecks(forged);
    expect(result.failures.map((f) => f.check)).toEqual(["export_signature"]);
  });

  it("rejects a forged checkpoint signature, and a checkpoint re-signed with another key", async () => {
    const forged = clone(exported);
    const checkpoint = forged.checkpoint as NonNullable<ComplianceExport["checkpoint"]>;
    const bytes = Buffer.from(checkpoint.signature, "base64");
    bytes[0] = (bytes[0] as number) ^ 1;
    checkpoint.signature = bytes.toString("base64");
    expect(failedChecks(forged).failures.map((f) => f.check)).toContain("checkpoint_signature");

    // A whole export signed by a stranger's key passes only with the stranger's (embedded) key.
    const stranger = await startGovernance();
    try {
      const { governor, tenantId } = stranger;
      const key = (await governor.checkpoints.publicKey(tenantId)).public_key_pem;
      expect(failedChecks(exported, key).failures.map((f) => f.check)).toEqual(
        expect.arrayContaining(["public_key", "checkpoint_signature", "export_signature"]),
      );
    } finally {
      await stranger.close();
    }
  });

  it("rejects a forged export signature", () => {
    const forged = clone(exported);
    const bytes = Buffer.from(forged.export_signature.signature, "base64");
    bytes[10] = (bytes[10] as number) ^ 0x40;
    forged.export_signature.signature = bytes.toString("base64");
    const result = failedChecks(forged);
    expect(result.valid).toBe(false);
    expect(result.failures.map((f) => f.check)).toEqual(["export_signature"]);
  });

  it("rejects a changed summary or control text", () => {
    const forged = clone(exported);
    forged.agcs_controls["AG-1.2"] = "Hash-chained audit trail verified";
    expect(failedChecks(forged).failures.map((f) => f.check)).toEqual(["export_hash"]);
    const counted = clone(exported);
    counted.summary.denied = 0;
    expect(failedChecks(counted).failures.map((f) => f.check)).toEqual(["summary", "export_hash"]);
  });

  it("vargate verify exits 0 for the export and 1 for a forged one, printing what failed", async () => {
    const file = join(dir, "export.json");
    const keyFile = join(dir, "key.pem");
    writeFileSync(file, JSON.stringify(exported));
    writeFileSync(keyFile, publicKeyPem);
    const ok = await runCli(["verify", file, "--public-key", keyFile], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, public_key_source: "supplied", records: 17 });

    const forged = clone(exported);
    (forged.timeline[4] as ComplianceTimelineItem).tool = "crm_lookuq";
    const bad = join(dir, "forged.json");
    writeFileSync(bad, JSON.stringify(forged, null, 2));
    const rejected = await runCli(["verify", bad, "--public-key", publicKeyPem], { cwd: dir });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain("FAILED record_hashes");
    expect(JSON.parse(rejected.stdout)).toMatchObject({ valid: false });

    const embedded = await runCli(["verify", file], { cwd: dir });
    expect(embedded.code).toBe(0);
    expect(embedded.stderr).toContain("warning");
    expect((await runCli(["verify"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["verify", join(dir, "missing.json")], { cwd: dir })).code).toBe(2);
    expect((await runCli(["verify", file, "--public-key", join(dir, "nope.pem")], { cwd: dir })).code).toBe(2);
  }, 60_000);
});
