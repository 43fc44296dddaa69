import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/types.js";
import { systemClock } from "../../src/clock.js";
import type { GovernorContext } from "../../src/context.js";
import { createRequestHandler } from "../../src/http/handler.js";
import { randomIds } from "../../src/ids.js";
import { silentLogger } from "../../src/logger.js";
import { Replays } from "../../src/replay/service.js";
import type { VargateStorage } from "../../src/storage/port.js";
import type { FakeScriptStep } from "../../src/testing/fake-platform/index.js";
import { type GovernanceHarness, startGovernance } from "../governance/harness.js";
import { denyTransfersOver } from "./helpers.js";

let harness: GovernanceHarness;
afterEach(async () => harness?.close());

const call = (name: string, input: Record<string, unknown>): FakeScriptStep => ({
  type: "mcp_tool_use",
  server: "vargate",
  name,
  input,
});

const email = { to: "ceo@example.com", subject: "hi", body: "hello" };

const denyTransfersOver100 = denyTransfersOver(100);

/** Runs one real session through the fake platform and our MCP server; the agent config needs no approvals. */
async function runSession(steps: FakeScriptStep[], agentId?: string) {
  const { governor, fake, tenantId } = harness;
  fake.setDefaultScript(steps);
  const id =
    agentId ??
    (
      await governor.agents.create(tenantId, {
        name: "worker",
        allowed_tools: ["crm_lookup", "create_transfer", "send_email"],
        require_human_approval: [],
      })
    ).id;
  const created = await governor.sessions.create(tenantId, { agent_id: id, user_message: "go" });
  const upstreamId = created.anthropic_session_id as string;
  await fake.waitForEvent(upstreamId, (e) => e.type === "session.status_idle");
  await fake.settled(upstreamId, { timeoutMs: 20_000 });
  return { sessionId: created.session_id, agentId: id };
}

async function chain(): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const record of harness.governor.audit.records(harness.tenantId)) records.push(record);
  return records;
}

function http(method: string, path: string, body?: unknown, apiKey = harness.apiKey) {
  return createRequestHandler(harness.governor)(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "x-api-key": apiKey, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    }),
  );
}

describe("session replay", () => {
  it("reports an allowed send_email as requires_human after the agent config is PATCHed", async () => {
    harness = await startGovernance();
    const { governor, tenantId } = harness;
    const { sessionId, agentId } = await runSession([
      call("crm_lookup", { customer_id: "c-1" }),
      call("send_email", email),
    ]);
    const governed = (await chain()).filter((r) => r.source === "mcp_governed");
    expect(governed.map((r) => [r.tool, r.decision])).toEqual([
      ["crm_lookup", "allow"],
      ["send_email", "allow"],
    ]);

    const before = await governor.replay.session(tenantId, sessionId);
    expect(before).toMatchObject({ session_id: sessionId, total_replayed: 2, consistent: 2, changed: 0, changes: [] });

    await governor.agents.update(tenantId, agentId, { require_human_approval: ["send_email"] });
    const replay = await governor.replay.session(tenantId, sessionId, { actor: "auditor" });
    expect(replay).toMatchObject({
      session_id: sessionId,
      total_replayed: 2,
      consistent: 1,
      changed: 1,
      policy_version: 0,
      candidate: false,
      unreplayable: 0,
      changes: [
        {
          action_id: governed[1]?.action_id,
          tool: "send_email",
          original_decision: "allow",
          replayed_decision: "requires_human",
        },
      ],
    });
    expect(replay.changes[0]?.new_violations).toEqual([
      "Tool 'send_email' requires human approval (require_human_approval: 'send_email')",
    ]);

    // The replay's own record, and nothing else; the chain still verifies.
    const last = (await chain()).at(-1);
    expect(last).toMatchObject({
      action_id: replay.audit_action_id,
      source: "control_plane",
      method: "replay_session",
      session_id: sessionId,
      actor: "auditor",
      input: { session_id: sessionId, total_replayed: 2, changed: 1, candidate: false, policy_version: 0 },
    });
    expect((await governor.audit.verify(tenantId)).valid).toBe(true);
  });

  it("replays against a candidate policy without storing or activating it", async () => {
    harness = await startGovernance();
    const { governor, tenantId, storage } = harness;
    const { sessionId } = await runSession([
      call("create_transfer", { amount: 500, to: "acct-1" }),
      call("create_transfer", { amount: 50, to: "acct-1" }),
    ]);
    const before = await chain();
    const policyBefore = await governor.policy.get(tenantId);

    const replay = await governor.replay.session(tenantId, sessionId, { policy: denyTransfersOver100 });
    expect(replay).toMatchObject({
      total_replayed: 2,
      consistent: 1,
      changed: 1,
      candidate: true,
      policy_version: null,
      changes: [
        {
          tool: "create_transfer",
          original_decision: "allow",
          replayed_decision: "deny",
          new_violations: ["Transfers over 100 are denied"],
        },
      ],
    });
    expect(replay.candidate_sha256).toMatch(/^[0-9a-f]{64}$/);

    // Nothing stored: same policy version, no policy record, and exactly one more audit record.
    expect(await governor.policy.get(tenantId)).toEqual(policyBefore);
    expect(await storage.policies.current(tenantId)).toBeNull();
    const after = await chain();
    expect(after).toHaveLength(before.length + 1);
    expect(after.slice(0, before.length).map((r) => r.record_hash)).toEqual(before.map((r) => r.record_hash));
    expect(after.at(-1)).toMatchObject({
      method: "replay_session",
      policy_version: null,
      input: { candidate: true, policy_version: null, total_replayed: 2, changed: 1 },
    });
    expect(JSON.stringify(after.at(-1))).not.toContain("Transfers over 100");
    expect((await governor.audit.verify(tenantId)).valid).toBe(true);

    // A live call still follows the stored (empty) policy: the candidate was never activated.
    expect((await governor.policy.active(tenantId)).compiled.policy).toBeNull();
  });

  it("replays per-session counters as they were recorded", async () => {
    harness = await startGovernance();
    const { governor, tenantId } = harness;
    const { sessionId } = await runSession([
      call("crm_lookup", { customer_id: "c-1" }),
      call("crm_lookup", { customer_id: "c-2" }),
      call("crm_lookup", { customer_id: "c-3" }),
    ]);
    const candidate = {
      rules: [
        {
          id: "two-lookups",
          when: { tool: "crm_lookup", counters: [{ scope: "session", op: "gte", value: 2 }] },
          effect: "deny",
          severity: "medium",
          message: "At most two lookups per session",
        },
      ],
    };
    const replay = await governor.replay.session(tenantId, sessionId, { policy: candidate });
    // Today the session holds 3 lookups; only the third call had 2 before it.
    expect(replay).toMatchObject({ total_replayed: 3, changed: 1 });
    const governed = (await chain()).filter((r) => r.source === "mcp_governed");
    expect(replay.changes.map((c) => c.action_id)).toEqual([governed[2]?.action_id]);
  });

  it("rejects a bad candidate naming the field and stores nothing; 404 for unknown sessions", async () => {
    harness = await startGovernance();
    const { governor, tenantId } = harness;
    const { sessionId } = await runSession([call("crm_lookup", { customer_id: "c-1" })]);
    const before = (await chain()).length;
    const bad = await governor.replay
      .session(tenantId, sessionId, { policy: { rules: [{ id: "x", when: {}, effect: "maybe" }] } })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: "VALIDATION_FAILED" });
    expect((bad as { issues: { loc: unknown[] }[] }).issues[0]?.loc.slice(0, 2)).toEqual(["options", "policy"]);
    const missing = await governor.replay.session(tenantId, "vs-0000000000000000").catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "SESSION_NOT_FOUND" });
    const other = await governor.tenants.create({ tenant_id: `${tenantId}-other` });
    const foreign = await governor.replay.session(other.tenant.tenant_id, sessionId).catch((e: unknown) => e);
    expect(foreign).toMatchObject({ code: "SESSION_NOT_FOUND" });
    expect((await chain()).length).toBe(before);
  });

  it("reports a stored input that cannot be replayed as changed (fail closed)", async () => {
    harness = await startGovernance();
    const { governor, tenantId, storage } = harness;
    const { sessionId, agentId } = await runSession([call("crm_lookup", { customer_id: "c-1" })]);
    await storage.audit.append(tenantId, [
      {
        action_id: "00000000-0000-4000-8000-000000000001",
        session_id: sessionId,
        agent_id: agentId,
        event_id: null,
        actor: null,
        source: "mcp_governed",
        tool: "crm_lookup",
        method: "tools/call",
        decision: "allow",
        severity: "none",
        violations: [],
        input: { tool: "crm_lookup", note: "not an evaluation input" },
        policy_version: null,
        requested_at: new Date().toISOString(),
      },
    ]);
    const replay = await governor.replay.session(tenantId, sessionId);
    expect(replay).toMatchObject({
      total_replayed: 2,
      consistent: 1,
      changed: 1,
      unreplayable: 1,
      changes: [
        {
          action_id: "00000000-0000-4000-8000-000000000001",
          original_decision: "allow",
          replayed_decision: "deny",
          replayable: false,
        },
      ],
    });
  });
});

describe("tenant-wide replay", () => {
  it("replays the newest N governed decisions across sessions, oldest first, paging either way", async () => {
    harness = await startGovernance();
    const { governor, tenantId, storage } = harness;
    const first = await runSession([
      call("create_transfer", { amount: 500, to: "a" }),
      call("crm_lookup", { customer_id: "c-1" }),
    ]);
    const second = await runSession([
      call("create_transfer", { amount: 700, to: "b" }),
      call("create_transfer", { amount: 20, to: "c" }),
      call("create_transfer", { amount: 900, to: "d" }),
    ]);

    const all = await governor.replay.tenant(tenantId, { policy: denyTransfersOver100 });
    expect(all).toMatchObject({ session_id: null, tenant_id: tenantId, limit: 1000, total_replayed: 5, changed: 3 });
    expect(all.changes.map((c) => c.session_id)).toEqual([first.sessionId, second.sessionId, second.sessionId]);
    const times = all.changes.map((c) => c.requested_at);
    expect([...times].sort()).toEqual(times);

    const lastThree = await governor.replay.tenant(tenantId, { policy: denyTransfersOver100, limit: 3 });
    expect(lastThree).toMatchObject({ limit: 3, total_replayed: 3, consistent: 1, changed: 2 });
    expect(lastThree.changes.every((c) => c.session_id === second.sessionId)).toBe(true);

    // Small pages: the tenant chain is read backwards in windows, a large session through scan.
    const context: GovernorContext = { storage, clock: systemClock, ids: randomIds, logger: silentLogger };
    const paged = new Replays({ context, policies: governor.policy, read: { pageSize: 2, sessionReadAtOnce: 1 } });
    const strip = ({ audit_action_id: _, ...rest }: { audit_action_id: string }) => rest;
    expect(strip(await paged.tenant(tenantId, { policy: denyTransfersOver100, limit: 3 }))).toEqual(strip(lastThree));
    expect(strip(await paged.tenant(tenantId, { policy: denyTransfersOver100 }))).toEqual(strip(all));
    const bySession = await governor.replay.session(tenantId, second.sessionId, { policy: denyTransfersOver100 });
    expect(strip(await paged.session(tenantId, second.sessionId, { policy: denyTransfersOver100 }))).toEqual(
      strip(bySession),
    );
    // Our own replay records are control-plane records: never replayed, never counted.
    const again = await governor.replay.tenant(tenantId, { policy: denyTransfersOver100 });
    expect(again.total_replayed).toBe(5);

    const replays = (await chain()).filter((r) => r.method === "replay_tenant");
    expect(replays.at(-1)?.input).toMatchObject({ limit: 1000, total_replayed: 5, changed: 3, candidate: true });
    expect((await governor.audit.verify(tenantId)).valid).toBe(true);
    await expect(governor.replay.tenant(tenantId, { limit: 100_001 })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });

    // A call stored while a session replay runs is left out of it: the replay reads up to the head it started at.
    const stored = (await chain()).find((r) => r.session_id === second.sessionId && r.source === "mcp_governed");
    if (!stored) throw new Error("no governed record");
    const { seq: _seq, prev_hash: _prev, record_hash: _hash, result: _result, ...copy } = stored;
    const audit: VargateStorage["audit"] = Object.create(storage.audit);
    let appended = false;
    audit.scanStored = async (...args: Parameters<NonNullable<VargateStorage["audit"]["scanStored"]>>) => {
      const page = await (storage.audit.scanStored as NonNullable<VargateStorage["audit"]["scanStored"]>)(...args);
      if (!appended) {
        appended = true;
        await storage.audit.append(tenantId, [{ ...copy, action_id: randomUUID() }]);
      }
      return page;
    };
    const during = new Replays({
      context: { ...context, storage: { ...storage, audit } },
      policies: governor.policy,
      read: { pageSize: 2 },
    });
    expect((await during.session(tenantId, second.sessionId, { policy: denyTransfersOver100 })).total_replayed).toBe(
      bySession.total_replayed,
    );
    expect(appended).toBe(true);
    expect((await paged.session(tenantId, second.sessionId, { policy: denyTransfersOver100 })).total_replayed).toBe(
      bySession.total_replayed + 1,
    );
  });
});

describe("replay routes", () => {
  it("serves session and tenant replay; 422 for a bad candidate or limit, 404 for another tenant's session", async () => {
    harness = await startGovernance();
    const { governor, tenantId } = harness;
    const { sessionId } = await runSession([call("create_transfer", { amount: 500, to: "a" })]);

    const plain = await http("POST", `/managed/sessions/${sessionId}/replay`);
    expect(plain.status).toBe(200);
    expect(await plain.json()).toMatchObject({ session_id: sessionId, total_replayed: 1, consistent: 1, changed: 0 });

    const candidate = await http("POST", `/managed/sessions/${sessionId}/replay`, { policy: denyTransfersOver100 });
    expect(candidate.status).toBe(200);
    expect(await candidate.json()).toMatchObject({
      changed: 1,
      changes: [{ original_decision: "allow", replayed_decision: "deny" }],
    });

    const before = (await chain()).length;
    const bad = await http("POST", `/managed/sessions/${sessionId}/replay`, {
      policy: { rules: [{ id: "r", when: { tool: "x" }, effect: "sometimes" }] },
    });
    expect(bad.status).toBe(422);
    const badBody = (await bad.json()) as { code: string; detail: { loc: unknown[] }[] };
    expect(badBody.code).toBe("VALIDATION_FAILED");
    expect(badBody.detail[0]?.loc).toEqual(["body", "policy", "rules", 0, "effect"]);
    const unknownField = await http("POST", `/managed/sessions/${sessionId}/replay`, { polcy: {} });
    expect(unknownField.status).toBe(422);
    const badLimit = await http("POST", "/managed/replay", { limit: 0 });
    expect(badLimit.status).toBe(422);
    expect(((await badLimit.json()) as { detail: { loc: unknown[] }[] }).detail[0]?.loc).toEqual(["body", "limit"]);
    expect((await chain()).length).toBe(before);
    expect((await governor.policy.get(tenantId)).version).toBe(0);

    const other = await governor.tenants.create({ tenant_id: `${tenantId}-other` });
    const foreign = await http("POST", `/managed/sessions/${sessionId}/replay`, {}, other.api_key);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ code: "SESSION_NOT_FOUND" });

    const tenantWide = await http("POST", "/managed/replay", { policy: denyTransfersOver100, limit: 10 });
    expect(tenantWide.status).toBe(200);
    expect(await tenantWide.json()).toMatchObject({ session_id: null, limit: 10, total_replayed: 1, changed: 1 });
  });
});
