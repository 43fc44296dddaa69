// The policy document schema: what it accepts, and errors that name the path of each bad field.
import { describe, expect, it } from "vitest";
import { ValidationError, type ValidationIssue } from "../../src/errors.js";
import { POLICY_LIMITS, parseTenantPolicy, tenantPolicySchema } from "../../src/policy/document.js";
import { regexProblem } from "../../src/policy/regex.js";

const rule = (overrides: Record<string, unknown> = {}) => ({
  id: "r",
  when: {},
  effect: "deny",
  severity: "high",
  message: "m",
  ...overrides,
});

const FULL = {
  description: "Acme's policy",
  default_effect: "allow",
  rules: [
    {
      id: "large-transfer",
      description: "Large transfers",
      when: {
        tool: ["vargate_transfer", "vargate_wire_*"],
        input: [
          { field: "amount", op: "gt", value: 1000 },
          { field: "currency", op: "in", value: ["EUR", "USD"] },
          { field: "memo", op: "matches", value: "^inv-\\d+$", flags: "i" },
          { field: "to", op: "email_domain_not_in", value: ["acme.com"] },
          { field: "meta", op: "equals", value: { a: [1, null] } },
          { field: "cc", op: "not_exists" },
        ],
        time: { after: "18:00", before: "09:00", days: ["mon", "fri"], timezone: "Europe/Berlin" },
        counters: [{ scope: "agent_24h", tool: "vargate_*", op: "gte", value: 10 }],
      },
      effect: "deny",
      severity: "critical",
      message: "No",
    },
    { id: "reads", when: { tool: "vargate_read_*" }, effect: "allow" },
    { id: "reads_2", when: {}, effect: "allow", severity: "none", message: "Explicitly allowed" },
  ],
  anomaly: {
    threshold: 0.6,
    disabled_rules: ["privilege_escalation"],
    rules: [
      {
        id: "kubectl-delete",
        description: "kubectl delete",
        tools: ["bash"],
        fields: ["command"],
        pattern: "\\bkubectl\\s+delete\\b",
        severity: "high",
      },
    ],
    domain_allowlist: ["example.com"],
  },
};

describe("tenantPolicySchema accepts", () => {
  it("a document using every field, and returns it unchanged", () => {
    expect(tenantPolicySchema.parse(FULL)).toEqual(FULL);
  });

  it("the smallest document", () => {
    expect(tenantPolicySchema.parse({ rules: [] })).toEqual({ rules: [] });
  });

  it(`up to ${POLICY_LIMITS.rules} rules`, () => {
    const rules = Array.from({ length: POLICY_LIMITS.rules }, (_, i) => rule({ id: `r${i}` }));
    expect(tenantPolicySchema.safeParse({ rules }).success).toBe(true);
    expect(tenantPolicySchema.safeParse({ rules: [...rules, rule({ id: "one-more" })] }).success).toBe(false);
  });
});

// [description, document, expected first issue: loc (after "body") and a fragment of msg]
const BAD: [string, unknown, (string | number)[], RegExp][] = [
  ["not an object", [], [], /expected object/],
  ["no rules", {}, ["rules"], /expected array/],
  ["an unknown top-level field", { rules: [], policies: [] }, ["policies"], /Unrecognized key/],
  ["an unknown default_effect", { rules: [], default_effect: "maybe" }, ["default_effect"], /"allow"\|"deny"/],
  ["a bad rule id", { rules: [rule({ id: "Large Transfer" })] }, ["rules", 0, "id"], /a-z, 0-9, _ and -/],
  [
    "a duplicate rule id",
    { rules: [rule({ id: "a" }), rule({ id: "b" }), rule({ id: "a" })] },
    ["rules", 2, "id"],
    /Duplicate rule id 'a' \(also rules\[0\]\)/,
  ],
  [
    "an unknown effect",
    { rules: [rule({ effect: "block" })] },
    ["rules", 0, "effect"],
    /'deny' \| 'requires_human' \| 'allow'/,
  ],
  [
    "a deny rule without a message",
    { rules: [rule({ message: undefined })] },
    ["rules", 0, "message"],
    /expected string/,
  ],
  [
    "a deny rule without a severity",
    { rules: [rule({ severity: undefined })] },
    ["rules", 0, "severity"],
    /expected one of/,
  ],
  ["an unknown severity", { rules: [rule({ severity: "severe" })] }, ["rules", 0, "severity"], /expected one of/],
  [
    "an unknown condition",
    { rules: [rule({ when: { amount: 5 } })] },
    ["rules", 0, "when", "amount"],
    /Unrecognized key/,
  ],
  [
    "a tool that is not a glob",
    { rules: [rule({ when: { tool: 5 } })] },
    ["rules", 0, "when", "tool"],
    /glob or a list of globs/,
  ],
  [
    "a broken glob",
    { rules: [rule({ when: { tool: ["ok", "[bad"] } })] },
    ["rules", 0, "when", "tool", 1],
    /valid glob/,
  ],
  [
    "an unknown operator",
    {
      rules: [
        rule(),
        rule({ id: "b" }),
        rule({ id: "c", when: { input: [{ field: "amount", op: "greater", value: 1 }] } }),
      ],
    },
    ["rules", 2, "when", "input", 0, "op"],
    /Invalid discriminator value/,
  ],
  [
    "a numeric comparison with a string",
    { rules: [rule({ when: { input: [{ field: "amount", op: "gt", value: "1000" }] } })] },
    ["rules", 0, "when", "input", 0, "value"],
    /expected number/,
  ],
  [
    "in with an empty list",
    { rules: [rule({ when: { input: [{ field: "a", op: "in", value: [] }] } })] },
    ["rules", 0, "when", "input", 0, "value"],
    />=1 items/,
  ],
  [
    "in with an object",
    { rules: [rule({ when: { input: [{ field: "a", op: "in", value: [{}] }] } })] },
    ["rules", 0, "when", "input", 0, "value", 0],
    /string, number, boolean or null/,
  ],
  [
    "a regex that does not compile",
    { rules: [rule({ when: { input: [{ field: "a", op: "matches", value: "([a-z]+" }] } })] },
    ["rules", 0, "when", "input", 0, "value"],
    /Invalid regular expression/,
  ],
  [
    "a regex with nested quantifiers",
    { rules: [rule({ when: { input: [{ field: "a", op: "matches", value: "^(a+)+$" }] } })] },
    ["rules", 0, "when", "input", 0, "value"],
    /Nested unbounded quantifiers/,
  ],
  [
    "a regex that is too long",
    { rules: [rule({ when: { input: [{ field: "a", op: "matches", value: "a".repeat(513) }] } })] },
    ["rules", 0, "when", "input", 0, "value"],
    /<=512 characters/,
  ],
  [
    "the g flag",
    { rules: [rule({ when: { input: [{ field: "a", op: "matches", value: "a", flags: "g" }] } })] },
    ["rules", 0, "when", "input", 0, "flags"],
    /Flags may only be i, m, s and u/,
  ],
  [
    "exists with a value",
    { rules: [rule({ when: { input: [{ field: "a", op: "exists", value: true }] } })] },
    ["rules", 0, "when", "input", 0, "value"],
    /Unrecognized key/,
  ],
  [
    "a bad field path",
    { rules: [rule({ when: { input: [{ field: "to..email", op: "exists" }] } })] },
    ["rules", 0, "when", "input", 0, "field"],
    /dot path/,
  ],
  [
    "a bad email domain",
    { rules: [rule({ when: { input: [{ field: "to", op: "email_domain_in", value: ["@acme.com"] }] } })] },
    ["rules", 0, "when", "input", 0, "value", 0],
    /domain name/,
  ],
  [
    "a bad clock time",
    { rules: [rule({ when: { time: { after: "9:00" } } })] },
    ["rules", 0, "when", "time", "after"],
    /HH:MM/,
  ],
  [
    "24:00",
    { rules: [rule({ when: { time: { before: "24:00" } } })] },
    ["rules", 0, "when", "time", "before"],
    /HH:MM/,
  ],
  [
    "an empty window",
    { rules: [rule({ when: { time: { after: "09:00", before: "09:00" } } })] },
    ["rules", 0, "when", "time", "before"],
    /Must differ from after/,
  ],
  [
    "an empty time condition",
    { rules: [rule({ when: { time: {} } })] },
    ["rules", 0, "when", "time"],
    /at least one of/,
  ],
  [
    "an unknown day",
    { rules: [rule({ when: { time: { days: ["monday"] } } })] },
    ["rules", 0, "when", "time", "days", 0],
    /expected one of/,
  ],
  [
    "a duplicate day",
    { rules: [rule({ when: { time: { days: ["mon", "mon"] } } })] },
    ["rules", 0, "when", "time", "days", 1],
    /Duplicate day 'mon'/,
  ],
  [
    "an unknown time zone",
    { rules: [rule({ when: { time: { after: "09:00", timezone: "Mars/Olympus" } } })] },
    ["rules", 0, "when", "time", "timezone"],
    /IANA time zone/,
  ],
  [
    "an unknown counter scope",
    { rules: [rule({ when: { counters: [{ scope: "tenant", op: "gt", value: 1 }] } })] },
    ["rules", 0, "when", "counters", 0, "scope"],
    /"session"\|"agent_24h"/,
  ],
  [
    "a fractional counter value",
    { rules: [rule({ when: { counters: [{ scope: "session", op: "gt", value: 1.5 }] } })] },
    ["rules", 0, "when", "counters", 0, "value"],
    /expected int/,
  ],
  [
    "a counter op that is not numeric",
    { rules: [rule({ when: { counters: [{ scope: "session", op: "in", value: 1 }] } })] },
    ["rules", 0, "when", "counters", 0, "op"],
    /expected one of/,
  ],
  ["an anomaly threshold of 0", { rules: [], anomaly: { threshold: 0 } }, ["anomaly", "threshold"], />0/],
  [
    "disabling an unknown anomaly rule",
    { rules: [], anomaly: { disabled_rules: ["rm_rf"] } },
    ["anomaly", "disabled_rules", 0],
    /Unknown default anomaly rule 'rm_rf'/,
  ],
  [
    "a custom anomaly rule with a bad pattern",
    {
      rules: [],
      anomaly: {
        rules: [{ id: "x", description: "x", tools: ["bash"], fields: ["command"], pattern: "(", severity: "high" }],
      },
    },
    ["anomaly", "rules", 0, "pattern"],
    /Invalid regular expression/,
  ],
  [
    "a custom anomaly rule reusing a default id",
    {
      rules: [],
      anomaly: {
        rules: [
          { id: "fork_bomb", description: "x", tools: ["bash"], fields: ["command"], pattern: "x", severity: "high" },
        ],
      },
    },
    ["anomaly", "rules", 0, "id"],
    /is a default rule id/,
  ],
  [
    "a custom anomaly rule of severity none",
    {
      rules: [],
      anomaly: {
        rules: [{ id: "x", description: "x", tools: ["bash"], fields: ["command"], pattern: "x", severity: "none" }],
      },
    },
    ["anomaly", "rules", 0, "severity"],
    /expected one of/,
  ],
  [
    "a URL in the domain allowlist",
    { rules: [], anomaly: { domain_allowlist: ["https://example.com"] } },
    ["anomaly", "domain_allowlist", 0],
    /domain name/,
  ],
];

/** The issues of the ValidationError (422, VALIDATION_FAILED) that `parse` throws. */
function issuesOf(parse: () => unknown): ValidationIssue[] {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.status).toBe(422);
    return error.issues;
  }
  throw new Error("expected a ValidationError");
}

describe("parseTenantPolicy refuses", () => {
  it.each(BAD)("%s", (_, document, loc, message) => {
    const issue = issuesOf(() => parseTenantPolicy(document))[0];
    expect(issue?.loc).toEqual(["body", ...loc]);
    expect(issue?.msg).toMatch(message);
  });

  it("reports every bad field at once", () => {
    const document = {
      rules: [rule({ id: "A" }), rule({ id: "b", when: { input: [{ field: "x", op: "gt", value: "1" }] } })],
      extra: 1,
    };
    expect(issuesOf(() => parseTenantPolicy(document, "options")).map((issue) => issue.loc)).toEqual([
      ["options", "rules", 0, "id"],
      ["options", "rules", 1, "when", "input", 0, "value"],
      ["options", "extra"],
    ]);
  });
});

describe("regexProblem", () => {
  it.each([
    ["^DE\\d{20}$", ""],
    ["\\b(wire|transfer)\\b", "i"],
    ["(ab)+", ""],
    ["(a|b)*c", ""],
    ["[a+]+", ""],
    ["(?:x\\+)+", ""],
    ["(a+)?", ""],
    ["a{2,5}", "u"],
  ])("accepts %s", (source, flags) => {
    expect(regexProblem(source, flags)).toBeNull();
  });

  it.each([
    ["(a+)+", /Nested/],
    ["(\\w*)*", /Nested/],
    ["((ab)+)+", /Nested/],
    ["(a+){2,}", /Nested/],
    ["(x[a-z]+)*y", /Nested/],
    ["(", /Invalid regular expression/],
    ["a", /Flags/, "gi"],
    ["a", /Flags/, "ii"],
    ["a".repeat(600), /at most 512/],
  ])("refuses %s", (source, problem, flags = "") => {
    expect(regexProblem(source as string, flags as string)).toMatch(problem as RegExp);
  });
});
