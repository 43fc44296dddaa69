// Per-tenant anomaly settings: disabling default rules, custom rules, the threshold and validation.
import { describe, expect, it } from "vitest";
import {
  type AnomalyConfigInput,
  anomalyConfigSchema,
  compileAnomalyRules,
  DEFAULT_ANOMALY_RULE_IDS,
  DEFAULT_ANOMALY_THRESHOLD,
  detectAnomalies,
} from "../../src/anomaly/index.js";
import { ValidationError } from "../../src/errors.js";

const custom = (overrides: Record<string, unknown> = {}) => ({
  id: "kubectl-delete",
  description: "Deleting Kubernetes resources",
  tools: ["bash"],
  fields: ["command"],
  pattern: "\\bkubectl\\s+delete\\b",
  severity: "high",
  ...overrides,
});

describe("compileAnomalyRules", () => {
  it("without config: every default rule, threshold 0.8, no allowlist", () => {
    const rules = compileAnomalyRules();
    expect(rules.rules.map((rule) => rule.id)).toEqual(DEFAULT_ANOMALY_RULE_IDS);
    expect(rules.threshold).toBe(DEFAULT_ANOMALY_THRESHOLD);
    expect(rules.threshold).toBe(0.8);
    expect(rules.domainAllowlist).toBeNull();
    expect(compileAnomalyRules(null).rules).toHaveLength(DEFAULT_ANOMALY_RULE_IDS.length);
  });

  it("disables the rules a tenant names, and only those", () => {
    const rules = compileAnomalyRules({ disabled_rules: ["privilege_escalation", "network_tool_usage"] });
    expect(rules.rules.map((rule) => rule.id)).not.toContain("privilege_escalation");
    expect(detectAnomalies("bash", { command: "sudo nc -l 80" }, rules)).toEqual([]);
    expect(detectAnomalies("bash", { command: "sudo nmap x" }, rules).map((hit) => hit.rule)).toEqual([
      "network_scanning",
    ]);
    expect(detectAnomalies("bash", { command: "sudo nmap x" }).map((hit) => hit.rule)).toEqual([
      "privilege_escalation",
      "network_scanning",
    ]);
  });

  it("adds custom rules after the defaults", () => {
    const rules = compileAnomalyRules({
      rules: [
        custom(),
        custom({
          id: "prod-db",
          tools: ["bash", "mcp__*"],
          fields: ["command", "args.target"],
          pattern: "prod-db",
          flags: "i",
          severity: "critical",
        }),
      ] as AnomalyConfigInput["rules"],
    });
    expect(rules.rules.slice(-2).map((rule) => rule.id)).toEqual(["kubectl-delete", "prod-db"]);
    expect(detectAnomalies("bash", { command: "sudo kubectl delete ns prod" }, rules)).toEqual([
      { rule: "privilege_escalation", severity: "medium", detail: 'command: "sudo kubectl delete ns prod"' },
      { rule: "kubectl-delete", severity: "high", detail: 'command: "sudo kubectl delete ns prod"' },
    ]);
    expect(detectAnomalies("mcp__ops__run", { args: { target: "PROD-DB-1" } }, rules)).toEqual([
      { rule: "prod-db", severity: "critical", detail: 'args.target: "PROD-DB-1"' },
    ]);
    expect(detectAnomalies("bash", { command: "kubectl get pods" }, rules)).toEqual([]);
  });

  it("sets the threshold and allowlist", () => {
    const rules = compileAnomalyRules({ threshold: 0.5, domain_allowlist: ["Example.COM"] });
    expect(rules.threshold).toBe(0.5);
    expect(rules.domainAllowlist).toEqual(["example.com"]);
  });

  it("is deterministic and reusable: the same rule set gives the same hits every time", () => {
    const rules = compileAnomalyRules({ rules: [custom()] as AnomalyConfigInput["rules"] });
    const first = detectAnomalies("bash", { command: "kubectl delete x; kubectl delete y" }, rules);
    for (let i = 0; i < 5; i++) {
      expect(detectAnomalies("bash", { command: "kubectl delete x; kubectl delete y" }, rules)).toEqual(first);
    }
  });

  it("refuses an invalid config with a ValidationError naming the field", () => {
    expect(() => compileAnomalyRules({ threshold: 2 })).toThrow(ValidationError);
    try {
      compileAnomalyRules({ rules: [custom({ pattern: "(a+)+" })] } as AnomalyConfigInput);
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).issues[0]?.loc).toEqual(["options", "rules", 0, "pattern"]);
    }
  });
});

describe("anomalyConfigSchema", () => {
  const bad: [string, unknown, (string | number)[], RegExp][] = [
    ["an unknown field", { thresold: 0.5 }, [], /Unrecognized key/],
    ["a threshold above 1", { threshold: 1.5 }, ["threshold"], /<=1/],
    ["a threshold of 0", { threshold: 0 }, ["threshold"], />0/],
    [
      "an unknown disabled rule",
      { disabled_rules: ["fork_bomb", "rm_rf"] },
      ["disabled_rules", 1],
      /Unknown default anomaly rule 'rm_rf'/,
    ],
    ["a custom rule without tools", { rules: [custom({ tools: [] })] }, ["rules", 0, "tools"], />=1 items/],
    ["a custom rule with a bad glob", { rules: [custom({ tools: ["[x"] })] }, ["rules", 0, "tools", 0], /valid glob/],
    [
      "a custom rule with a bad field",
      { rules: [custom({ fields: ["a..b"] })] },
      ["rules", 0, "fields", 0],
      /dot path/,
    ],
    ["a custom rule with a bad flag", { rules: [custom({ flags: "g" })] }, ["rules", 0, "flags"], /Flags/],
    ["a custom rule with a bad id", { rules: [custom({ id: "Kubectl Delete" })] }, ["rules", 0, "id"], /a-z/],
    [
      "duplicate custom ids",
      { rules: [custom(), custom()] },
      ["rules", 1, "id"],
      /Duplicate anomaly rule id 'kubectl-delete'/,
    ],
    ["a custom rule with an unknown field", { rules: [custom({ regex: "x" })] }, ["rules", 0], /Unrecognized key/],
    [
      "an allowlist entry with a wildcard",
      { domain_allowlist: ["*.example.com"] },
      ["domain_allowlist", 0],
      /domain name/,
    ],
  ];
  it.each(bad)("refuses %s", (_, config, path, message) => {
    const result = anomalyConfigSchema.safeParse(config);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
    expect(result.error?.issues[0]?.message).toMatch(message);
  });

  it("accepts an empty config", () => {
    expect(anomalyConfigSchema.parse({})).toEqual({});
  });
});
