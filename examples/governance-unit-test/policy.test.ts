// Unit tests of Acme's policy: each decision comes from vargate's real evaluator, in-process, in milliseconds.
import { policyTester } from "vargate/testing";
import { describe, expect, it } from "vitest";
import { acmePolicy, supportAgent } from "./policy.js";

const acme = policyTester(acmePolicy, { agent: supportAgent });

describe("Acme's support policy", () => {
  it("denies rm -rf, and runs harmless commands", () => {
    expect(acme.decide("run_command", { command: "rm -rf /var/data" })).toMatchObject({
      decision: "deny",
      severity: "critical",
      matched_rules: ["no-rm-rf"],
    });
    expect(acme.decide("run_command", { command: "rm -fr build" }).decision).toBe("deny");
    expect(acme.decide("run_command", { command: "ls -la" }).decision).toBe("allow");
  });

  it("interrupts a session whose agent runs rm -rf / in the built-in bash tool", () => {
    const observed = acme.observe("bash", { command: "rm -rf /" });
    expect(observed.interrupts).toBe(true);
    expect(observed.hits.map((hit) => hit.rule)).toContain("destructive_root_delete");
    expect(acme.observe("bash", { command: "git status" }).interrupts).toBe(false);
  });

  it("sends external email to a human, and internal email straight through", () => {
    expect(acme.decide("send_email", { to: "ada@example.com", subject: "Hi", body: "…" })).toMatchObject({
      decision: "requires_human",
      violations: ["Email outside acme.com needs approval"],
    });
    expect(acme.decide("send_email", { to: "ops@eu.acme.com", subject: "Hi", body: "…" }).decision).toBe("allow");
    // Fails closed: a list with one outside address, or something that is not an address, needs a human too.
    expect(acme.decide("send_email", { to: ["ops@acme.com", "eve@rival.com"] }).decision).toBe("requires_human");
    expect(acme.decide("send_email", { to: "Ops <ops@acme.com>" }).decision).toBe("requires_human");
  });

  it("allows CRM lookups", () => {
    expect(acme.decide("crm_lookup", { customer_id: "c-42" })).toEqual({
      decision: "allow",
      violations: [],
      severity: "none",
      matched_rules: [],
    });
  });

  it("denies transfers above 1000, and allows 1000 itself", () => {
    expect(acme.decide("create_transfer", { amount: 1000.01, to: "acct-9" })).toMatchObject({
      decision: "deny",
      violations: ["Transfers over 1000 are denied"],
    });
    expect(acme.decide("create_transfer", { amount: 1000, to: "acct-9" }).decision).toBe("allow");
  });

  it("denies any tool the agent config does not allow", () => {
    expect(acme.decide("delete_customer", { customer_id: "c-42" })).toMatchObject({
      decision: "deny",
      matched_rules: ["builtin:allowed_tools"],
    });
  });
});
