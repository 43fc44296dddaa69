import * as z from "zod";
import { MAX_REGEX_LENGTH, regexProblem } from "../policy/regex.js";
import { domainSchema, fieldPathSchema, ruleIdSchema, toolPatternSchema } from "../policy/schema-parts.js";
import { DEFAULT_ANOMALY_RULE_IDS } from "./rules.js";

/** The score at which a session is interrupted unless the tenant sets another. */
export const DEFAULT_ANOMALY_THRESHOLD = 0.8;

export const ANOMALY_LIMITS = {
  customRules: 100,
  disabledRules: 200,
  domainAllowlist: 1000,
  toolPatterns: 50,
  fields: 20,
  descriptionLength: 500,
  regexLength: MAX_REGEX_LENGTH,
} as const;

const customRuleSchema = z
  .strictObject({
    id: ruleIdSchema,
    description: z.string().min(1).max(ANOMALY_LIMITS.descriptionLength),
    tools: z.array(toolPatternSchema).min(1).max(ANOMALY_LIMITS.toolPatterns),
    fields: z.array(fieldPathSchema).min(1).max(ANOMALY_LIMITS.fields),
    pattern: z.string().min(1).max(ANOMALY_LIMITS.regexLength),
    flags: z.string().max(4).optional(),
    severity: z.enum(["low", "medium", "high", "critical"]),
  })
  .superRefine((rule, ctx) => {
    const problem = regexProblem(rule.pattern, rule.flags ?? "");
    if (problem) {
      const flagProblem = problem.startsWith("Flags");
      ctx.addIssue({ code: "custom", path: [flagProblem ? "flags" : "pattern"], message: problem });
    }
  });

/**
 * A tenant's anomaly settings, the `anomaly` section of the policy document. Every field is optional:
 * - `threshold`: the score (0 < t ≤ 1) at which a session is interrupted, default 0.8;
 * - `disabled_rules`: ids of default rules to switch off (an unknown id is an error, so typos do not go unnoticed);
 * - `rules`: the tenant's own regex rules, checked after the defaults; ids must not repeat a default id;
 * - `domain_allowlist`: when given, web tools reaching any other domain hit `domain_not_allowlisted`.
 */
export const anomalyConfigSchema = z.strictObject({
  threshold: z.number().gt(0).lte(1).optional(),
  disabled_rules: z
    .array(ruleIdSchema)
    .max(ANOMALY_LIMITS.disabledRules)
    .superRefine((ids, ctx) => {
      ids.forEach((id, index) => {
        if (!DEFAULT_ANOMALY_RULE_IDS.includes(id)) {
          ctx.addIssue({ code: "custom", path: [index], message: `Unknown default anomaly rule '${id}'` });
        }
      });
    })
    .optional(),
  rules: z
    .array(customRuleSchema)
    .max(ANOMALY_LIMITS.customRules)
    .superRefine((rules, ctx) => {
      const seen = new Map<string, number>();
      rules.forEach((rule, index) => {
        if (DEFAULT_ANOMALY_RULE_IDS.includes(rule.id)) {
          ctx.addIssue({
            code: "custom",
            path: [index, "id"],
            message: `'${rule.id}' is a default rule id; choose another id (and disable the default if it should not run)`,
          });
        }
        const first = seen.get(rule.id);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [index, "id"],
            message: `Duplicate anomaly rule id '${rule.id}' (also rules[${first}])`,
          });
        } else seen.set(rule.id, index);
      });
    })
    .optional(),
  domain_allowlist: z.array(domainSchema).max(ANOMALY_LIMITS.domainAllowlist).optional(),
});

export type AnomalyConfig = z.output<typeof anomalyConfigSchema>;
export type AnomalyConfigInput = z.input<typeof anomalyConfigSchema>;
export type CustomAnomalyRuleConfig = NonNullable<AnomalyConfig["rules"]>[number];
