// Decisions: built-in checks, precedence, default effect, code rules, failing closed, determinism.
import { describe, expect, it } from "vitest";
import type { JsonObject, JsonValue } from "../../src/json.js";
import { type TenantPolicy, type TenantPolicyInput, tenantPolicySchema } from "../../src/policy/document.js";
import {
  type CodeRule,
  compilePolicy,
  type EvaluationInput,
  evaluatePolicy,
  evaluationInputSchema,
  POLICY_EVALUATOR_VERSION,
} from "../../src/policy/evaluate.js";
import { decide, makeInput } from "./helpers.js";

const policy = (document: TenantPolicyInput): TenantPolicy => tenantPolicySchema.parse(document);

const TRANSFERS: TenantPolicyInput = {
  rules: [
    {
      id: "large-transfer",
      when: { tool: "vargate_transfer", input: [{ field: "amount", op: "gt", value: 1000 }] },
      effect: "deny",
      severity: "high",
      message: "Transfers over 1000 are not allowed",
    },
    {
      id: "medium-transfer",
      when: { tool: "vargate_transfer", input: [{ field: "amount", op: "gt", value: 100 }] },
      effect: "requires_human",
      severity: "medium",
      message: "Transfers over 100 need approval",
    },
    {
      id: "known-payee",
      when: { tool: "vargate_transfer", input: [{ field: "payee", op: "in", value: ["payroll"] }] },
      effect: "allow",
    },
  ],
};

describe("built-in checks", () => {
  it("allows a call in allowed_tools when nothing else applies", () => {
    expect(evaluatePolicy(makeInput(), null)).toEqual({
      decision: "allow",
      violations: [],
      severity: "none",
      matched_rules: [],
    });
  });

  it("denies a tool that is not in allowed_tools, with severity high", () => {
    expect(evaluatePolicy(makeInput({ allowed_tools: ["vargate_refund"] }), null)).toEqual({
      decision: "deny",
      violations: ["Tool 'vargate_transfer' is not in the agent's allowed_tools"],
      severity: "high",
      matched_rules: ["builtin:allowed_tools"],
    });
  });

  it("matches allowed_tools exactly, not as globs", () => {
    const input = makeInput({ tool: "vargate_transfer", allowed_tools: ["vargate_*"] });
    expect(evaluatePolicy(input, null).decision).toBe("deny");
  });

  it("asks a human for a tool matching require_human_approval, naming the pattern", () => {
    expect(
      evaluatePolicy(
        makeInput({ tool: "vargate_send_email", require_human_approval: ["bash", "vargate_send_*"] }),
        null,
      ),
    ).toEqual({
      decision: "requires_human",
      violations: ["Tool 'vargate_send_email' requires human approval (require_human_approval: 'vargate_send_*')"],
      severity: "medium",
      matched_rules: ["builtin:require_human_approval"],
    });
  });

  it("denies a tool outside allowed_tools even when it also needs approval", () => {
    const input = makeInput({
      tool: "vargate_send_email",
      allowed_tools: [],
      require_human_approval: ["vargate_send_*"],
    });
    expect(evaluatePolicy(input, null)).toMatchObject({
      decision: "deny",
      violations: ["Tool 'vargate_send_email' is not in the agent's allowed_tools"],
      matched_rules: ["builtin:allowed_tools", "builtin:require_human_approval"],
    });
  });
});

describe("precedence: deny > requires_human > allow", () => {
  const cases: [string, JsonObject, string, string[], string, string[]][] = [
    ["a small transfer is allowed", { amount: 50 }, "allow", [], "none", []],
    [
      "a known payee is allowed (an allow rule matched)",
      { amount: 50, payee: "payroll" },
      "allow",
      [],
      "none",
      ["known-payee"],
    ],
    [
      "a medium transfer needs approval",
      { amount: 500 },
      "requires_human",
      ["Transfers over 100 need approval"],
      "medium",
      ["medium-transfer"],
    ],
    [
      "an allow rule cannot override requires_human",
      { amount: 500, payee: "payroll" },
      "requires_human",
      ["Transfers over 100 need approval"],
      "medium",
      ["medium-transfer", "known-payee"],
    ],
    [
      "deny wins over requires_human; violations are only the deciding rules'",
      { amount: 5000 },
      "deny",
      ["Transfers over 1000 are not allowed"],
      "high",
      ["large-transfer", "medium-transfer"],
    ],
    [
      "an allow rule cannot override deny",
      { amount: 5000, payee: "payroll" },
      "deny",
      ["Transfers over 1000 are not allowed"],
      "high",
      ["large-transfer", "medium-transfer", "known-payee"],
    ],
  ];
  it.each(cases)("%s", (_, input, decision, violations, severity, matched) => {
    expect(decide(TRANSFERS, makeInput({ input }))).toEqual({
      decision,
      violations,
      severity,
      matched_rules: matched,
    });
  });

  it("a tenant rule adds to require_human_approval; built-in violations come first", () => {
    const decision = decide(TRANSFERS, makeInput({ input: { amount: 500 }, require_human_approval: ["vargate_*"] }));
    expect(decision.violations).toEqual([
      "Tool 'vargate_transfer' requires human approval (require_human_approval: 'vargate_*')",
      "Transfers over 100 need approval",
    ]);
    expect(decision.matched_rules).toEqual(["builtin:require_human_approval", "medium-transfer"]);
  });

  it("a tenant deny rule overrides require_human_approval", () => {
    const decision = decide(TRANSFERS, makeInput({ input: { amount: 5000 }, require_human_approval: ["vargate_*"] }));
    expect(decision.decision).toBe("deny");
    expect(decision.violations).toEqual(["Transfers over 1000 are not allowed"]);
  });

  it("takes the highest severity among the deciding rules, and lists each message once", () => {
    const rule = (id: string, severity: "low" | "critical" | "medium", message: string) =>
      ({ id, when: {}, effect: "deny", severity, message }) as const;
    const decision = decide(
      { rules: [rule("a", "low", "same"), rule("b", "critical", "other"), rule("c", "medium", "same")] },
      makeInput(),
    );
    expect(decision).toEqual({
      decision: "deny",
      violations: ["same", "other"],
      severity: "critical",
      matched_rules: ["a", "b", "c"],
    });
  });

  it("the built-in allowed_tools deny keeps its severity next to lower tenant severities", () => {
    const decision = decide(
      { rules: [{ id: "x", when: {}, effect: "deny", severity: "low", message: "x" }] },
      makeInput({ allowed_tools: [] }),
    );
    expect(decision.severity).toBe("high");
    expect(decision.violations).toEqual(["Tool 'vargate_transfer' is not in the agent's allowed_tools", "x"]);
  });
});

describe("default_effect", () => {
  const document: TenantPolicyInput = {
    default_effect: "deny",
    rules: [{ id: "reads", when: { tool: "vargate_read_*" }, effect: "allow" }],
  };

  it("deny: a call no allow rule covers is denied", () => {
    expect(decide(document, makeInput({ tool: "vargate_transfer" }))).toEqual({
      decision: "deny",
      violations: ["No policy rule allows tool 'vargate_transfer' (default_effect is deny)"],
      severity: "high",
      matched_rules: ["builtin:default_effect"],
    });
  });

  it("deny: an allow rule lets the call through", () => {
    expect(decide(document, makeInput({ tool: "vargate_read_crm" }))).toEqual({
      decision: "allow",
      violations: [],
      severity: "none",
      matched_rules: ["reads"],
    });
  });

  it("deny: an allow rule does not admit a tool outside allowed_tools", () => {
    expect(decide(document, makeInput({ tool: "vargate_read_crm", allowed_tools: [] })).decision).toBe("deny");
  });

  it("deny: an allow rule does not skip require_human_approval", () => {
    const input = makeInput({ tool: "vargate_read_crm", require_human_approval: ["vargate_read_*"] });
    expect(decide(document, input).decision).toBe("requires_human");
  });

  it("allow (the default) lets uncovered calls through", () => {
    expect(decide({ rules: [] }, makeInput()).decision).toBe("allow");
    expect(decide({ default_effect: "allow", rules: [] }, makeInput()).decision).toBe("allow");
  });
});

describe("code rules", () => {
  const limit: CodeRule = {
    id: "limit",
    evaluate: (input) =>
      typeof input.input.amount === "number" && input.input.amount > 10
        ? { effect: "deny", severity: "critical", message: "Amount over the app limit" }
        : null,
  };

  it("contribute like tenant rules, after them, as code:<id>", () => {
    const compiled = compilePolicy(policy(TRANSFERS), { codeRules: [limit] });
    expect(compiled.evaluate(makeInput({ input: { amount: 500 } }))).toEqual({
      decision: "deny",
      violations: ["Amount over the app limit"],
      severity: "critical",
      matched_rules: ["medium-transfer", "code:limit"],
    });
    expect(compiled.evaluate(makeInput({ input: { amount: 5 } })).decision).toBe("allow");
  });

  it("work without a tenant policy", () => {
    const ask: CodeRule = {
      id: "ask",
      evaluate: () => ({ effect: "requires_human", severity: "low", message: "Ask" }),
    };
    expect(evaluatePolicy(makeInput(), null, { codeRules: [ask] })).toEqual({
      decision: "requires_human",
      violations: ["Ask"],
      severity: "low",
      matched_rules: ["code:ask"],
    });
  });

  it("an allow outcome does not override a deny", () => {
    const allow: CodeRule = { id: "ok", evaluate: () => ({ effect: "allow", severity: "none", message: "fine" }) };
    const decision = evaluatePolicy(makeInput({ input: { amount: 5000 } }), policy(TRANSFERS), { codeRules: [allow] });
    expect(decision.decision).toBe("deny");
    expect(decision.matched_rules).toContain("code:ok");
  });

  it("receive the evaluation input", () => {
    const seen: EvaluationInput[] = [];
    const spy: CodeRule = {
      id: "spy",
      evaluate: (input) => {
        seen.push(input);
        return undefined;
      },
    };
    const input = makeInput();
    evaluatePolicy(input, null, { codeRules: [spy] });
    expect(seen).toEqual([input]);
  });

  it("must have unique ids and an evaluate function", () => {
    expect(() => compilePolicy(null, { codeRules: [limit, limit] })).toThrow(/Duplicate code rule id 'limit'/);
    expect(() => compilePolicy(null, { codeRules: [{ id: "", evaluate: () => null }] })).toThrow(/id must be/);
    expect(() => compilePolicy(null, { codeRules: [{ id: "x" } as unknown as CodeRule] })).toThrow(/evaluate/);
  });
});

describe("failing closed", () => {
  const denied = (reason: RegExp) => ({
    decision: "deny",
    violations: [expect.stringMatching(reason)],
    severity: "high",
    matched_rules: ["builtin:evaluation_error"],
  });

  it("a code rule that throws denies, saying which rule and why, without a stack", () => {
    const boom: CodeRule = {
      id: "boom",
      evaluate: () => {
        throw new Error("database said no");
      },
    };
    const decision = evaluatePolicy(makeInput(), policy(TRANSFERS), { codeRules: [boom] });
    expect(decision).toEqual(denied(/^Policy evaluation failed: code rule 'boom' threw: database said no$/));
    expect(decision.violations[0]).not.toMatch(/\n\s+at /);
  });

  it("a code rule that throws a non-Error still denies", () => {
    const boom: CodeRule = {
      id: "boom",
      evaluate: () => {
        throw "plain string";
      },
    };
    expect(evaluatePolicy(makeInput(), null, { codeRules: [boom] })).toEqual(denied(/threw: plain string$/));
  });

  it.each([
    ["an async rule", () => Promise.resolve({ effect: "allow", severity: "none", message: "x" })],
    ["an unknown effect", () => ({ effect: "permit", severity: "none", message: "x" })],
    ["an unknown severity", () => ({ effect: "deny", severity: "severe", message: "x" })],
    ["no message", () => ({ effect: "deny", severity: "low" })],
    ["a string", () => "deny"],
  ])("a code rule returning %s denies", (_, evaluate) => {
    const rule = { id: "odd", evaluate } as unknown as CodeRule;
    expect(evaluatePolicy(makeInput(), null, { codeRules: [rule] })).toEqual(
      denied(/code rule 'odd' returned an invalid outcome/),
    );
  });

  const malformed: [string, (input: EvaluationInput) => unknown, RegExp][] = [
    ["not an object", () => null, /the evaluation input must be an object/],
    ["no tool", (input) => ({ ...input, tool: undefined }), /tool must be a non-empty string/],
    ["an empty tool", (input) => ({ ...input, tool: "" }), /tool must be a non-empty string/],
    ["input is an array", (input) => ({ ...input, input: [] }), /input must be a JSON object/],
    ["input is null", (input) => ({ ...input, input: null }), /input must be a JSON object/],
    ["no agent", (input) => ({ ...input, agent: undefined }), /agent must be an object/],
    [
      "allowed_tools is not a list",
      (input) => ({ ...input, agent: { ...input.agent, allowed_tools: "vargate_transfer" } }),
      /agent\.allowed_tools must be a list of strings/,
    ],
    [
      "require_human_approval holds a number",
      (input) => ({ ...input, agent: { ...input.agent, require_human_approval: [1] } }),
      /agent\.require_human_approval must be a list of strings/,
    ],
    ["session is a string", (input) => ({ ...input, session: "vs-1" }), /session must be null or an object/],
    ["now is not RFC 3339", (input) => ({ ...input, now: "15 April 2026" }), /now must be an RFC 3339 timestamp/],
    ["counters are missing", (input) => ({ ...input, counters: undefined }), /counters must be an object/],
    [
      "a counter scope is missing",
      (input) => ({ ...input, counters: { session: {} } }),
      /counters must be an object with session and agent_24h/,
    ],
  ];
  it.each(malformed)("a malformed input (%s) denies", (_, mutate, reason) => {
    const input = mutate(makeInput()) as EvaluationInput;
    expect(evaluatePolicy(input, policy(TRANSFERS))).toEqual(denied(reason));
  });

  it("a bad require_human_approval glob denies", () => {
    expect(evaluatePolicy(makeInput({ require_human_approval: ["[unclosed"] }), null).decision).toBe("deny");
  });

  it("an invalid policy document denies when evaluated, and throws when compiled", () => {
    const bad = { rules: [{ id: "x", when: { input: [{ field: "a", op: "matches", value: "(" }] }, effect: "deny" }] };
    expect(evaluatePolicy(makeInput(), bad as unknown as TenantPolicy)).toEqual(
      denied(/the policy could not be compiled: Invalid policy document: rules\.0\./),
    );
    expect(() => compilePolicy(bad as unknown as TenantPolicy)).toThrow(/Invalid policy document/);
  });

  it("a bad regex cannot get past the schema", () => {
    const result = tenantPolicySchema.safeParse({
      rules: [
        {
          id: "x",
          when: { input: [{ field: "a", op: "matches", value: "([a-z]+" }] },
          effect: "deny",
          severity: "low",
          message: "m",
        },
      ],
    });
    expect(result.success).toBe(false);
  });
});

describe("compiled policies", () => {
  it("copy the document, so later changes to the caller's object do not leak in", () => {
    const document = policy(TRANSFERS);
    const compiled = compilePolicy(document);
    (document.rules[0] as { message: string }).message = "changed";
    expect(compiled.evaluate(makeInput({ input: { amount: 5000 } })).violations).toEqual([
      "Transfers over 1000 are not allowed",
    ]);
    expect(compiled.policy).not.toBe(document);
  });

  it("give the same answers for many tool names as for one (the per-tool cache is only a cache)", () => {
    const compiled = compilePolicy(
      policy({ rules: [{ id: "odd", when: { tool: "tool_*1" }, effect: "deny", severity: "low", message: "odd" }] }),
    );
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 1500; i++) {
        const tool = `tool_${i}`;
        const decision = compiled.evaluate(makeInput({ tool }));
        expect(decision.decision).toBe(tool.endsWith("1") ? "deny" : "allow");
      }
    }
  });

  it("say which tools a tenant forbids outright", () => {
    const compiled = compilePolicy(
      policy({
        rules: [
          { id: "no-shell", when: { tool: ["bash", "web_*"] }, effect: "deny", severity: "high", message: "No shell" },
          {
            id: "big-writes",
            when: { tool: "write", input: [{ field: "content", op: "exists" }] },
            effect: "deny",
            severity: "low",
            message: "x",
          },
          { id: "ask-read", when: { tool: "read" }, effect: "requires_human", severity: "low", message: "x" },
        ],
      }),
    );
    expect(["bash", "web_fetch", "write", "read", "grep"].filter((tool) => compiled.forbidsTool(tool))).toEqual([
      "bash",
      "web_fetch",
    ]);
    const everything = compilePolicy(
      policy({ rules: [{ id: "all", when: {}, effect: "deny", severity: "low", message: "x" }] }),
    );
    expect(everything.forbidsTool("grep")).toBe(true);
    expect(compilePolicy(null).forbidsTool("bash")).toBe(false);
  });

  it("carry an evaluator version", () => {
    expect(POLICY_EVALUATOR_VERSION).toBe(1);
  });
});

describe("the evaluation input document", () => {
  it("is plain JSON (assignable to JsonValue) and passes its schema", () => {
    const input = makeInput({ input: { amount: 5 } });
    const json: JsonValue = input;
    expect(evaluationInputSchema.parse(json)).toEqual(input);
  });

  it("schema keeps unknown fields and names bad ones", () => {
    const input = { ...makeInput(), extra: 1 };
    expect(evaluationInputSchema.parse(input)).toEqual(input);
    const bad = evaluationInputSchema.safeParse({ ...makeInput(), now: "2026-02-30T00:00:00Z" });
    expect(bad.error?.issues[0]?.path).toEqual(["now"]);
  });
});

/** A small seeded PRNG (mulberry32), so the property test is reproducible. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("determinism (property-style)", () => {
  const PROPERTY_POLICY: TenantPolicyInput = {
    rules: [
      ...(TRANSFERS.rules ?? []),
      {
        id: "external-email",
        when: { tool: "vargate_send_*", input: [{ field: "to", op: "email_domain_not_in", value: ["acme.com"] }] },
        effect: "requires_human",
        severity: "medium",
        message: "External email requires approval",
      },
      {
        id: "night",
        when: { time: { after: "22:00", before: "06:00", timezone: "Europe/Berlin" } },
        effect: "requires_human",
        severity: "low",
        message: "Night-time calls need approval",
      },
      {
        id: "rate",
        when: { counters: [{ scope: "session", tool: "vargate_*", op: "gte", value: 4 }] },
        effect: "deny",
        severity: "medium",
        message: "Too many calls",
      },
      {
        id: "subject",
        when: { input: [{ field: "subject", op: "matches", value: "wire|urgent", flags: "i" }] },
        effect: "deny",
        severity: "high",
        message: "Suspicious subject",
      },
    ],
  };

  function generate(next: () => number): EvaluationInput {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const tool = pick(["vargate_transfer", "vargate_send_email", "vargate_read_crm", "bash"]);
    const input: JsonObject = {};
    if (next() < 0.7) input.amount = pick([0, 50, 100, 100.5, 999, 1000, 1001, 5000, -1, "5000", null]);
    if (next() < 0.5) input.to = pick(["a@acme.com", "x@rival.com", ["a@acme.com", "b@x.org"], [], "bad", 3]);
    if (next() < 0.3) input.subject = pick(["Hello", "URGENT wire", "nested", ""]);
    if (next() < 0.3) input.payee = pick(["payroll", "someone"]);
    if (next() < 0.2) input.nested = { deep: [1, { x: pick([true, false, null]) }] };
    const hour = String(Math.floor(next() * 24)).padStart(2, "0");
    const minute = String(Math.floor(next() * 60)).padStart(2, "0");
    return makeInput({
      tool,
      input,
      allowed_tools: next() < 0.9 ? [tool] : [],
      require_human_approval: next() < 0.2 ? ["vargate_send_*"] : [],
      now: `2026-0${1 + Math.floor(next() * 9)}-1${Math.floor(next() * 9)}T${hour}:${minute}:00Z`,
      session: { vargate_transfer: Math.floor(next() * 4), vargate_send_email: Math.floor(next() * 3) },
    });
  }

  it("gives the same decision for the same input, from fresh and reused compilations and after a JSON round trip", () => {
    const document = policy(PROPERTY_POLICY);
    const compiled = compilePolicy(document);
    const next = random(20260415);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const input = generate(next);
      const first = compiled.evaluate(input);
      seen.add(first.decision);
      expect(compiled.evaluate(input)).toEqual(first);
      expect(evaluatePolicy(input, document)).toEqual(first);
      const roundTripped = JSON.parse(JSON.stringify(input)) as EvaluationInput;
      expect(compiled.evaluate(roundTripped)).toEqual(first);
      expect(evaluatePolicy(roundTripped, JSON.parse(JSON.stringify(document)))).toEqual(first);
      expect(first.violations.length === 0).toBe(first.decision === "allow");
      expect(first.severity === "none").toBe(first.decision === "allow");
    }
    expect([...seen].sort()).toEqual(["allow", "deny", "requires_human"]);
  });

  it("does not modify its input", () => {
    const next = random(7);
    const compiled = compilePolicy(policy(PROPERTY_POLICY));
    for (let i = 0; i < 100; i++) {
      const input = generate(next);
      const before = JSON.stringify(input);
      compiled.evaluate(input);
      expect(JSON.stringify(input)).toBe(before);
    }
  });
});
