import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { isVargateError } from "../../src/errors.js";
import { VargateGovernor, type VargateGovernorOptions } from "../../src/governor.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import { entry, sessionRecord } from "../../src/testing/storage-conformance/fixtures.js";
import { defineTool } from "../../src/tools/define.js";

/** The message of the ConfigError that constructing a governor with `options` throws. */
function configError(options: Partial<VargateGovernorOptions>): string {
  try {
    new VargateGovernor({ storage: memoryStorage(), ...options });
  } catch (error) {
    if (isVargateError(error, "INVALID_CONFIG")) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("governor options", () => {
  it.each([
    [
      { governedCalls: { approvalTtlMs: 0 } },
      "governedCalls.approvalTtlMs: expected a positive number of milliseconds",
    ],
    [
      { governedCalls: { approvalPollMs: -5 } },
      "governedCalls.approvalPollMs: expected a positive number of milliseconds",
    ],
    [{ governedCalls: { approvalWaitMs: -1 } }, "governedCalls.approvalWaitMs: expected 0 or more milliseconds"],
    [
      { governedCalls: { approvedRunLeaseMs: Number.NaN } },
      "governedCalls.approvedRunLeaseMs: expected a number of milliseconds",
    ],
    [
      { governedCalls: { approvalTtlMs: Number.POSITIVE_INFINITY } },
      "governedCalls.approvalTtlMs: expected a number of milliseconds",
    ],
    [{ governedCalls: { maxResultBytes: 1.5 } }, "governedCalls.maxResultBytes: expected a whole number of bytes"],
    [{ governedCalls: { maxResultBytes: 0 } }, "governedCalls.maxResultBytes: expected 1 or more bytes"],
    [{ governedCalls: { approvalPollMs: "250" } }, "governedCalls.approvalPollMs: expected a number of milliseconds"],
    [{ governedCalls: { approvalTTLMs: 1000 } }, "governedCalls.approvalTTLMs: unknown option"],
    [{ consumers: { leaseMs: 0 } }, "consumers.leaseMs: expected a positive number of milliseconds"],
    [{ consumers: { maxBackoff: 10 } }, "consumers.maxBackoff: unknown option"],
    [{ durationCheckIntervalMs: 0 }, "durationCheckIntervalMs: expected a positive number of milliseconds"],
  ] as [Partial<VargateGovernorOptions>, string][])("refuses %j, naming the option", (options, message) => {
    expect(configError(options)).toBe(message);
  });

  it("accepts the documented values, and 0 for approvalWaitMs", () => {
    const governor = new VargateGovernor({
      storage: memoryStorage(),
      governedCalls: {
        approvalTtlMs: 1,
        approvalWaitMs: 0,
        approvalPollMs: 1,
        maxResultBytes: 1,
        approvedRunLeaseMs: 1,
      },
      consumers: { leaseMs: 1, initialBackoffMs: 1, maxBackoffMs: 1 },
      durationCheckIntervalMs: 1,
    });
    expect(governor).toBeInstanceOf(VargateGovernor);
  });

  it("keeps the default of an option given as undefined", async () => {
    const storage = memoryStorage();
    const now = Date.parse("2026-01-01T00:00:00.000Z");
    const governor = new VargateGovernor({
      storage,
      clock: { now: () => new Date(now) },
      tools: [
        defineTool({ name: "pay", description: "Pays", inputSchema: z.looseObject({}), execute: async () => "paid" }),
      ],
      governedCalls: { approvalTtlMs: undefined, approvalWaitMs: 0 },
    });
    await governor.tenants.create({ tenant_id: "acme" });
    const agent = await governor.agents.create("acme", {
      name: "payer",
      allowed_tools: ["pay"],
      require_human_approval: ["pay"],
    });
    const pending = sessionRecord("acme", { agent_id: agent.id, agent_version: agent.version });
    const limits = { maxConcurrent: 10, maxDaily: 10, agentMaxDaily: 10, windowStart: new Date(0).toISOString() };
    await storage.sessions.reserve(pending, limits);
    const session = (await storage.sessions.activate(
      "acme",
      pending.id,
      {
        anthropic_session_id: `sesn_${randomBytes(4).toString("hex")}`,
        environment_id: "env_1",
        upstream_vault_id: null,
      },
      entry({ session_id: pending.id, agent_id: agent.id }),
    )) as SessionRecord;

    const outcome = await governor.governedCalls.call({ session, tool: "pay", input: {} });
    // The default approvalTtlMs: one hour.
    expect(outcome).toMatchObject({ kind: "pending", expires_at: new Date(now + 60 * 60 * 1000).toISOString() });
  });
});
