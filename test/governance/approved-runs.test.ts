import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import * as z from "zod";
import { VargateGovernor } from "../../src/governor.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { entry, sessionRecord } from "../../src/testing/storage-conformance/fixtures.js";
import { defineTool } from "../../src/tools/define.js";

const LEASE_MS = 60_000;

/** A governor on a clock the test moves, with a `pay` tool that needs approval and finishes when told to. */
async function setup(storage: VargateStorage = memoryStorage()) {
  let now = Date.parse("2026-01-01T00:00:00.000Z");
  const runs: { finish: () => void }[] = [];
  const pay = defineTool({
    name: "pay",
    description: "Pays, when the test says so",
    inputSchema: z.looseObject({}),
    execute: () => new Promise((resolve) => runs.push({ finish: () => resolve({ paid: true }) })),
  });
  const governor = new VargateGovernor({
    storage,
    clock: { now: () => new Date(now) },
    tools: [pay],
    governedCalls: { approvalWaitMs: 0, approvedRunLeaseMs: LEASE_MS },
  });
  await governor.migrate();
  await governor.tenants.create({ tenant_id: "acme" });
  const agent = await governor.agents.create("acme", {
    name: "payer",
    allowed_tools: ["pay"],
    require_human_approval: ["pay"],
  });
  const pending = sessionRecord("acme", {
    agent_id: agent.id,
    agent_version: agent.version,
    created_at: new Date(now).toISOString(),
  });
  const limits = { maxConcurrent: 10, maxDaily: 10, agentMaxDaily: 10, windowStart: new Date(0).toISOString() };
  await storage.sessions.reserve(pending, limits);
  const ids = { anthropic_session_id: `sesn_${randomBytes(4).toString("hex")}`, environment_id: "env_1" };
  const session = (await storage.sessions.activate(
    "acme",
    pending.id,
    { ...ids, upstream_vault_id: null },
    entry({ session_id: pending.id, agent_id: agent.id }),
  )) as SessionRecord;
  const queued = await governor.governedCalls.call({ session, tool: "pay", input: { amount: 5 } });
  expect(queued.kind).toBe("pending");
  const advance = (ms: number) => {
    now += ms;
  };
  return { governor, storage, runs, advance, actionId: queued.action_id };
}

it("settles an approved run that outlives its lease as an unknown outcome, and never runs it again", async () => {
  const { governor, runs, advance, actionId } = await setup();
  const approving = governor.approvals.approve("acme", actionId, {}, { actor: "alice" });
  await expect.poll(() => runs.length).toBe(1);

  advance(LEASE_MS - 1);
  expect((await governor.approvals.list("acme"))[0]).toMatchObject({ execution: "claimed", result: null });

  advance(1);
  const [settled] = await governor.approvals.list("acme");
  const unknown = { ok: false, error: expect.stringContaining("outcome is unknown") };
  expect(settled).toMatchObject({ action_id: actionId, execution: "done", result: unknown });
  expect((await governor.storage.audit.get("acme", actionId))?.result).toEqual(unknown);
  expect(await governor.storage.approvals.listStaleExecutions(new Date(8.64e15).toISOString())).toEqual([]);

  // The stalled run finishing after all does not reopen the approval; its record keeps what really happened.
  runs[0]?.finish();
  await approving;
  expect(await governor.approvals.get("acme", actionId)).toMatchObject({ execution: "done", result: unknown });
  expect((await governor.storage.audit.get("acme", actionId))?.result).toMatchObject({ ok: true });
  expect(runs).toHaveLength(1);
});

it("completes a run whose runner fails, instead of leaving it claimed", async () => {
  const storage = memoryStorage();
  const { governor, runs, actionId } = await setup(storage);
  const setActionResult = storage.audit.setActionResult;
  storage.audit.setActionResult = async () => {
    throw new Error("the database is down");
  };
  const approving = governor.approvals.approve("acme", actionId, {}, { actor: "alice" });
  await expect.poll(() => runs.length).toBe(1);
  runs[0]?.finish();

  await expect(approving).rejects.toThrow("the database is down");
  storage.audit.setActionResult = setActionResult;
  expect(await governor.approvals.get("acme", actionId)).toMatchObject({
    execution: "done",
    result: { ok: false, error: "the database is down" },
  });
});
