// The examples in docs/policy.md are real: every policy document parses, and the worked decision is what the
// evaluator returns.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectAnomalies, interruptReason, nextAnomalyScore } from "../../src/anomaly/index.js";
import { tenantPolicySchema } from "../../src/policy/document.js";
import { type EvaluationInput, evaluatePolicy, evaluationInputSchema } from "../../src/policy/evaluate.js";

const markdown = readFileSync(join(import.meta.dirname, "../../docs/policy.md"), "utf8");
const blocks = [...markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((match) => ({
  lang: match[1] as string,
  text: match[2] as string,
}));
const json = blocks.filter((block) => block.lang === "json").map((block) => JSON.parse(block.text) as unknown);
const policies = json.filter((value): value is Record<string, unknown> => isObject(value) && "rules" in value);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

describe("docs/policy.md", () => {
  it("has policy examples, and every one is a valid document", () => {
    expect(policies.length).toBeGreaterThanOrEqual(6);
    for (const policy of policies) expect(tenantPolicySchema.safeParse(policy).error).toBeUndefined();
  });

  it("shows the decision the evaluator gives for its evaluation input and transfer policy", () => {
    const input = json.find((value) => isObject(value) && "tenant_id" in value) as EvaluationInput;
    expect(evaluationInputSchema.safeParse(input).success).toBe(true);
    const transfers = policies.find((policy) => JSON.stringify(policy).includes('"medium-transfer"'));
    const decision = json.find((value) => isObject(value) && "decision" in value);
    expect(evaluatePolicy(input, tenantPolicySchema.parse(transfers))).toEqual(decision);
  });

  it("shows the hits and interrupt reason of rm -rf /", () => {
    const hits = detectAnomalies("bash", { command: "rm -rf /" });
    expect(json).toContainEqual(hits);
    const reason = interruptReason(hits, { score: nextAnomalyScore(0, hits), threshold: 0.8 });
    expect(blocks.some((block) => block.lang === "text" && block.text.trim() === reason)).toBe(true);
  });
});
