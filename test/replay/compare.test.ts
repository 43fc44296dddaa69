import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/types.js";
import { compilePolicy, type EvaluationInput } from "../../src/policy/evaluate.js";
import {
  compareDecisions,
  newViolations,
  parseStoredInput,
  replayRecord,
  substituteAgent,
} from "../../src/replay/compare.js";

const stored: EvaluationInput = {
  tenant_id: "t-1",
  tool: "send_email",
  input: { to: "a@example.com" },
  agent: { id: "agent-aaaaaaaaaaaa", version: 1, allowed_tools: ["send_email"], require_human_approval: [] },
  session: { id: "vs-0000000000000001" },
  now: "2026-04-11T14:30:00.000Z",
  counters: { session: { send_email: 2 }, agent_24h: { send_email: 7 } },
};

function record(fields: Partial<AuditRecord> = {}) {
  return {
    action_id: "act-1",
    session_id: "vs-0000000000000001",
    tool: "send_email",
    decision: "allow" as const,
    violations: [] as string[],
    input: stored,
    requested_at: "2026-04-11T14:30:00.000Z",
    ...fields,
  };
}

const agentNow = { version: 2, allowed_tools: ["send_email"], require_human_approval: ["send_*"] };

describe("substituteAgent", () => {
  it("replaces only the agent's tools, approvals and version; time and counters stay as recorded", () => {
    const replayed = substituteAgent(stored, agentNow);
    expect(replayed.agent).toEqual({ id: stored.agent.id, ...agentNow });
    expect(replayed.now).toBe(stored.now);
    expect(replayed.counters).toEqual(stored.counters);
    expect(replayed.input).toEqual(stored.input);
    expect(stored.agent.version).toBe(1);
  });

  it("treats a config that no longer exists like a live call would: no allowed tools", () => {
    expect(substituteAgent(stored, null).agent).toMatchObject({
      version: 1,
      allowed_tools: [],
      require_human_approval: [],
    });
  });
});

describe("compareDecisions and newViolations", () => {
  it("reports a change of decision with only the violations the original did not have", () => {
    expect(
      compareDecisions(
        { decision: "deny", violations: ["a"] },
        { decision: "requires_human", violations: ["a", "b", "b"] },
      ),
    ).toEqual({ changed: true, new_violations: ["b"] });
  });

  it("reports the same decision as consistent, even for other reasons", () => {
    expect(compareDecisions({ decision: "deny", violations: ["a"] }, { decision: "deny", violations: ["c"] })).toEqual({
      changed: false,
      new_violations: [],
    });
    expect(newViolations(["x"], ["x", "y"])).toEqual(["y"]);
  });
});

describe("replayRecord", () => {
  const open = compilePolicy(null);

  it("replays an allowed call as requires_human once the agent config requires approval", () => {
    const outcome = replayRecord(record(), open, () => agentNow);
    expect(outcome).toMatchObject({
      changed: true,
      unreplayable: false,
      change: {
        action_id: "act-1",
        tool: "send_email",
        original_decision: "allow",
        replayed_decision: "requires_human",
        session_id: "vs-0000000000000001",
      },
    });
    expect(outcome.change?.new_violations[0]).toContain("requires human approval");
    expect(outcome.change).not.toHaveProperty("replayable");
  });

  it("is consistent when nothing changed", () => {
    const sameAgent = { version: 1, allowed_tools: ["send_email"], require_human_approval: [] };
    expect(replayRecord(record(), open, () => sameAgent)).toEqual({
      changed: false,
      unreplayable: false,
      change: null,
    });
  });

  it("replays the recorded counters: a counter rule sees the count stored with the call", () => {
    const policy = compilePolicy({
      rules: [
        {
          id: "third-email",
          when: { tool: "send_email", counters: [{ scope: "session", op: "gte", value: 2 }] },
          effect: "deny",
          severity: "high",
          message: "At most two emails per session",
        },
      ],
    } as never);
    const sameAgent = { version: 1, allowed_tools: ["send_email"], require_human_approval: [] };
    expect(replayRecord(record(), policy, () => sameAgent).change).toMatchObject({
      replayed_decision: "deny",
      new_violations: ["At most two emails per session"],
    });
    const earlier = { ...stored, counters: { session: { send_email: 1 }, agent_24h: {} } };
    expect(replayRecord(record({ input: earlier }), policy, () => sameAgent).changed).toBe(false);
  });

  it("keeps a deny made because the session was no longer active", () => {
    const outcome = replayRecord(
      record({ decision: "deny", violations: ["Session is not active (status: interrupted)"] }),
      open,
      () => ({ version: 1, allowed_tools: ["send_email"], require_human_approval: [] }),
    );
    expect(outcome.changed).toBe(false);
  });

  it("fails closed on a stored input that is not an evaluation input", () => {
    const outcome = replayRecord(record({ decision: "deny", input: { tool: 42 } }), open, () => agentNow);
    expect(outcome).toMatchObject({
      changed: true,
      unreplayable: true,
      change: { replayed_decision: "deny", replayable: false, original_decision: "deny" },
    });
    expect(outcome.change?.new_violations[0]).toMatch(
      /^Stored evaluation input cannot be replayed \(.+\); failing closed$/,
    );
    expect(parseStoredInput({ ...stored, now: "yesterday" })).toMatchObject({ ok: false });
    expect(parseStoredInput(stored)).toMatchObject({ ok: true });
  });
});
