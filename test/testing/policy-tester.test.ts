// policyTester decides like the live pipeline: same evaluator, same anomaly rules, a fixed clock by default.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { type CodeRule, evaluatePolicy } from "../../src/policy/evaluate.js";
import { POLICY_TESTER_NOW, policyTester } from "../../src/testing/policy-tester.js";

const policy = {
  rules: [
    {
      id: "large-transfer",
      when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: 1000 }] },
      effect: "deny",
      severity: "high",
      message: "Transfers over 1000 are not allowed",
    },
    {
      id: "night-transfers",
      when: { tool: "create_transfer", time: { after: "22:00", before: "06:00" } },
      effect: "requires_human",
      severity: "medium",
      message: "Night transfers need approval",
    },
    {
      id: "email-limit",
      when: { tool: "send_email", counters: [{ scope: "session", op: "gte", value: 3 }] },
      effect: "deny",
      severity: "medium",
      message: "At most 3 emails per session",
    },
  ],
  anomaly: { threshold: 0.9, disabled_rules: ["privilege_escalation"] },
};
const agent = { allowed_tools: ["create_transfer", "send_email"], require_human_approval: ["send_*"] };

describe("policyTester", () => {
  it("applies the agent's tool lists, then the tenant rules, with deny over requires_human", () => {
    const tester = policyTester(policy, { agent });
    expect(tester.decide("create_transfer", { amount: 50 })).toEqual({
      decision: "allow",
      violations: [],
      severity: "none",
      matched_rules: [],
    });
    expect(tester.decide("create_transfer", { amount: 5000 })).toMatchObject({
      decision: "deny",
      violations: ["Transfers over 1000 are not allowed"],
      matched_rules: ["large-transfer"],
    });
    expect(tester.decide("send_email", {}).decision).toBe("requires_human");
    expect(tester.decide("delete_records", {})).toMatchObject({
      decision: "deny",
      matched_rules: ["builtin:allowed_tools"],
    });
  });

  it("decides at a fixed time unless the tester or the call sets one", () => {
    expect(policyTester(policy, { agent }).evaluationInput("create_transfer").now).toBe(POLICY_TESTER_NOW);
    const night = policyTester(policy, { agent, now: new Date("2026-01-07T23:30:00Z") });
    expect(night.decide("create_transfer", { amount: 50 }).decision).toBe("requires_human");
    expect(night.decide("create_transfer", { amount: 50 }, { now: "2026-01-07T10:00:00Z" }).decision).toBe("allow");
  });

  it("takes counters per call, counting earlier calls only", () => {
    const tester = policyTester(policy, { agent: { allowed_tools: ["send_email"] } });
    expect(tester.decide("send_email", {}, { counters: { session: { send_email: 2 } } }).decision).toBe("allow");
    expect(tester.decide("send_email", {}, { counters: { session: { send_email: 3 } } })).toMatchObject({
      decision: "deny",
      matched_rules: ["email-limit"],
    });
  });

  it("runs code rules, and builds the evaluation input the live pipeline stores", () => {
    const noEur: CodeRule = {
      id: "no-eur",
      evaluate: (input) =>
        input.input.currency === "EUR" ? { effect: "deny", severity: "low", message: "No EUR" } : null,
    };
    const tester = policyTester(null, {
      agent: { allowed_tools: ["create_transfer"] },
      tenantId: "acme",
      codeRules: [noEur],
    });
    expect(tester.policy).toBeNull();
    const input = tester.evaluationInput("create_transfer", { currency: "EUR" }, { sessionId: null });
    expect(input).toEqual({
      tenant_id: "acme",
      tool: "create_transfer",
      input: { currency: "EUR" },
      agent: { id: "agent-000000000000", version: 1, allowed_tools: ["create_transfer"], require_human_approval: [] },
      session: null,
      now: POLICY_TESTER_NOW,
      counters: { session: {}, agent_24h: {} },
    });
    const decision = tester.decide("create_transfer", { currency: "EUR" }, { sessionId: null });
    expect(decision).toMatchObject({ decision: "deny", matched_rules: ["code:no-eur"] });
    // The stored document, evaluated the one-off way (as replay does), decides the same.
    expect(evaluatePolicy(input, null, { codeRules: [noEur] })).toEqual(decision);
  });

  it("throws the 422 ValidationError of PUT /managed/policy for an invalid document", () => {
    const broken = { rules: [{ id: "x", when: { tool: "a", input: [{ field: "n", op: "greater", value: 1 }] } }] };
    expect(() => policyTester(broken, { agent })).toThrow(ValidationError);
    expect(() => policyTester(broken, { agent })).toThrow(expect.objectContaining({ status: 422 }));
  });

  it("checks observed tool uses against the document's anomaly settings", () => {
    const tester = policyTester(policy, { agent });
    const wipe = tester.observe("bash", { command: "rm -rf /" });
    expect(wipe.hits.map((hit) => hit.rule)).toEqual(["destructive_root_delete", "destructive_recursive_delete"]);
    expect(wipe).toMatchObject({ severity: "critical", score: 1, interrupts: true });

    // threshold 0.9: one high hit is not enough, and the score carries over between uses.
    const cleanup = tester.observe("bash", { command: "rm -r build" });
    expect(cleanup).toMatchObject({ severity: "high", score: 0.3, interrupts: false });
    expect(tester.observe("bash", { command: "rm -r dist" }, { previousScore: 0.6 }).interrupts).toBe(true);

    expect(tester.observe("bash", { command: "sudo ls" })).toEqual({
      hits: [],
      severity: "none",
      score: 0,
      interrupts: false,
    }); // privilege_escalation is disabled by the document
  });
});
