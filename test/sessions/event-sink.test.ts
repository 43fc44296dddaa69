import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { SessionEventSink, UNMATCHED_GOVERNED_USE } from "../../src/consumers/event-sink.js";
import type { GovernorContext } from "../../src/context.js";
import { StorageError } from "../../src/errors.js";
import { randomIds } from "../../src/ids.js";
import { silentLogger } from "../../src/logger.js";
import { TenantPolicies } from "../../src/policy/service.js";
import { memoryStorage } from "../../src/storage/memory-entry.js";
import { entry, sessionRecord } from "../../src/testing/storage-conformance/fixtures.js";
import type { UpstreamEvent } from "../../src/upstream/port.js";

// The sink's batching of results: a result that arrives in the batch of its tool use is stored with the record
// (one insert), any other one by `setResult` (an update), and every record ends up with its result either way.

const use = (id: string, command: string): UpstreamEvent => ({
  type: "agent.tool_use",
  id,
  name: "bash",
  input: { command },
});
const result = (id: string, toolUseId: string, text: string): UpstreamEvent => ({
  type: "agent.tool_result",
  id,
  tool_use_id: toolUseId,
  content: [{ type: "text", text }],
});

async function sinkOnMemory() {
  const storage = memoryStorage();
  const setResults: string[] = [];
  const interrupts: string[] = [];
  const setResult = storage.audit.setResult.bind(storage.audit);
  storage.audit.setResult = (tenantId, sessionId, eventId, value) => {
    setResults.push(eventId);
    return setResult(tenantId, sessionId, eventId, value);
  };
  const context: GovernorContext = { storage, clock: systemClock, ids: randomIds, logger: silentLogger };
  const session = sessionRecord("t-sink", { status: "active" });
  const sink = new SessionEventSink(session, {
    context,
    policies: new TenantPolicies(context, { codeRules: [] }),
    approvalTtlMs: 60_000,
    onSessionEnded: async () => {},
    onAnomalyThreshold: async (_session, reason) => {
      interrupts.push(reason);
    },
  });
  const governed = (tool: string) =>
    storage.audit.append("t-sink", [
      entry({ source: "mcp_governed", tool, method: "tools/call", session_id: session.id, agent_id: session.agent_id }),
    ]);
  const flagged = async () =>
    (await storage.audit.listBySession("t-sink", session.id, { limit: 1_000_000 }))
      .filter((record) => record.violations.includes("governed_call_without_decision"))
      .map((record) => record.event_id);
  const observed = async () =>
    (await storage.audit.listBySession("t-sink", session.id, { limit: 100 })).map((record) => [
      record.event_id,
      (record.result as { excerpt?: string } | null)?.excerpt ?? null,
    ]);
  return { sink, storage, session, setResults, interrupts, observed, governed, flagged };
}

describe("the session event sink", () => {
  it("stores a result that arrives with its tool use in the record's insert, and later ones by setResult", async () => {
    const { sink, setResults, observed } = await sinkOnMemory();
    await sink.handleBatch([use("sevt_1", "ls"), result("sevt_2", "sevt_1", "one"), use("sevt_3", "pwd")]);
    expect(setResults).toEqual([]);
    expect(await observed()).toEqual([
      ["sevt_1", "one"],
      ["sevt_3", null],
    ]);

    // sevt_3's result comes in the next batch, after its record was stored; a re-read of sevt_1 with its result
    // stores nothing new and leaves the result in place.
    await sink.handleBatch([
      result("sevt_4", "sevt_3", "three"),
      use("sevt_1", "ls"),
      result("sevt_2", "sevt_1", "one"),
    ]);
    expect(setResults).toEqual(["sevt_3", "sevt_1"]);
    expect(await observed()).toEqual([
      ["sevt_1", "one"],
      ["sevt_3", "three"],
    ]);
  });
});

describe("the anomaly score after a restart", () => {
  const hit = (sessionId: string, rule: string) =>
    entry({ source: "mcp_observed", tool: "bash", session_id: sessionId, violations: [rule], severity: "high" });

  it("is rebuilt from the stored records once, also when a first read fails half way", async () => {
    const { sink, storage, session, interrupts } = await sinkOnMemory();
    // Two high hits (0.3 each), more than one read apart.
    await storage.audit.append("t-sink", [hit(session.id, "destructive_command")]);
    await storage.audit.append(
      "t-sink",
      Array.from({ length: 1000 }, (_, i) =>
        entry({ source: "mcp_observed", tool: "bash", session_id: session.id, event_id: `obs_${i}` }),
      ),
    );
    await storage.audit.append("t-sink", [hit(session.id, "destructive_command")]);
    const scanStored = storage.audit.scanStored?.bind(storage.audit) as NonNullable<typeof storage.audit.scanStored>;
    let reads = 0;
    storage.audit.scanStored = (...args: Parameters<typeof scanStored>) =>
      ++reads === 2
        ? Promise.reject(new StorageError("memory", "Storage operation audit.scanStored failed"))
        : scanStored(...args);

    await expect(sink.handleBatch([use("sevt_1", "ls")])).rejects.toThrow(StorageError);
    // 0.6, plus a medium hit (0.15): below the 0.8 threshold; one more reaches it.
    await sink.handleBatch([use("sevt_1", "sudo ls")]);
    expect(interrupts).toEqual([]);
    await sink.handleBatch([use("sevt_2", "sudo ls")]);
    expect(interrupts).toHaveLength(1);
  });
});

describe("pairing uses of governed tools after a restart", () => {
  const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
  const mcpUse = (id: string, second: number): UpstreamEvent => ({
    type: "agent.mcp_tool_use",
    id,
    name: "crm_lookup",
    mcp_server_name: "vargate",
    input: {},
    processed_at: at(second),
  });
  const mcpResult = (useId: string, second: number): UpstreamEvent => ({
    type: "agent.mcp_tool_result",
    id: `${useId}_result`,
    mcp_tool_use_id: useId,
    content: [],
    processed_at: at(second),
  });
  /** `events` one by one; throws after `failAfter` of them, if given. */
  async function* history(events: UpstreamEvent[], failAfter?: number) {
    for (const [index, event] of events.entries()) {
      if (index === failAfter) throw new Error("upstream dropped the page");
      yield event;
    }
  }

  it("counts each pair before the cursor once, also when a first read fails half way", async () => {
    const { sink, governed, flagged } = await sinkOnMemory();
    await governed("crm_lookup");
    await governed("crm_lookup");
    // Two paired uses before the cursor (second 10), and one whose result comes after it.
    const before = [mcpUse("u1", 1), mcpResult("u1", 2), mcpUse("u2", 3), mcpResult("u2", 4), mcpUse("u3", 5)];
    const events = [...before, mcpResult("u3", 10)];

    await expect(sink.resumePairing(history(events, 4), at(10))).rejects.toThrow("upstream dropped the page");
    await sink.resumePairing(history(events), at(10));

    // u3 pairs with a third governed record; u4 finds none.
    await governed("crm_lookup");
    await sink.handleBatch([mcpResult("u3", 10), mcpUse("u4", 11), mcpResult("u4", 12)]);
    expect(await flagged()).toEqual(["u4"]);
  });

  /** The record the sink stores for a use of a governed tool that has no decision. */
  const withoutDecision = (sessionId: string, useId: string) =>
    entry({
      source: "mcp_observed",
      tool: "crm_lookup",
      method: "mcp_tool_use",
      session_id: sessionId,
      event_id: useId,
      violations: [UNMATCHED_GOVERNED_USE],
      severity: "high",
    });
  // u0 was recorded as having no decision, u1 has the one governed record: after the restart, u2 gets the second.
  const beforeCursor = [mcpUse("u0", 1), mcpResult("u0", 2), mcpUse("u1", 3), mcpResult("u1", 4)];

  it("knows every use recorded without a decision, however long the session", async () => {
    const { sink, storage, session, governed, flagged } = await sinkOnMemory();
    // More observed records than a restart used to read (100,000), then the use without a decision.
    for (let page = 0; page < 101; page++) {
      await storage.audit.append(
        "t-sink",
        Array.from({ length: 1000 }, (_, i) =>
          entry({ source: "mcp_observed", tool: "bash", session_id: session.id, event_id: `obs_${page}_${i}` }),
        ),
      );
    }
    await storage.audit.append("t-sink", [withoutDecision(session.id, "u0")]);
    await governed("crm_lookup");

    await sink.resumePairing(history(beforeCursor), at(10));
    await governed("crm_lookup");
    await sink.handleBatch([mcpUse("u2", 11), mcpResult("u2", 12)]);
    expect(await flagged()).toEqual(["u0"]);
  });

  it("reads its stored state again after a read that failed", async () => {
    const { sink, storage, session, governed, flagged } = await sinkOnMemory();
    await storage.audit.append("t-sink", [withoutDecision(session.id, "u0")]);
    await governed("crm_lookup");
    const scanStored = storage.audit.scanStored?.bind(storage.audit);
    let failures = 1;
    storage.audit.scanStored = (...args: Parameters<NonNullable<typeof scanStored>>) =>
      failures-- > 0
        ? Promise.reject(new StorageError("memory", "Storage operation audit.scanStored failed"))
        : (scanStored as NonNullable<typeof scanStored>)(...args);

    await expect(sink.resumePairing(history(beforeCursor), at(10))).rejects.toThrow(StorageError);
    await sink.resumePairing(history(beforeCursor), at(10));
    await governed("crm_lookup");
    await sink.handleBatch([mcpUse("u2", 11), mcpResult("u2", 12)]);
    expect(await flagged()).toEqual(["u0"]);
  });
});
