import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { SessionEventSink } from "../../src/consumers/event-sink.js";
import type { GovernorContext } from "../../src/context.js";
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
    onAnomalyThreshold: async () => {},
  });
  const governed = (tool: string) =>
    storage.audit.append("t-sink", [
      entry({ source: "mcp_governed", tool, method: "tools/call", session_id: session.id, agent_id: session.agent_id }),
    ]);
  const flagged = async () =>
    (await storage.audit.listBySession("t-sink", session.id, { limit: 100 }))
      .filter((record) => record.violations.includes("governed_call_without_decision"))
      .map((record) => record.event_id);
  const observed = async () =>
    (await storage.audit.listBySession("t-sink", session.id, { limit: 100 })).map((record) => [
      record.event_id,
      (record.result as { excerpt?: string } | null)?.excerpt ?? null,
    ]);
  return { sink, setResults, observed, governed, flagged };
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
});
