import * as z from "zod";
import { anomalyConfigSchema } from "../anomaly/config.js";
import { type InputLocation, parseInput } from "../validation.js";
import { MAX_REGEX_LENGTH, regexProblem } from "./regex.js";
import { domainSchema, fieldPathSchema, ruleIdSchema, toolPatternSchema } from "./schema-parts.js";
import { SEVERITIES } from "./severity.js";

/** Size limits of a tenant policy document. */
export const POLICY_LIMITS = {
  rules: 500,
  descriptionLength: 1000,
  messageLength: 500,
  toolPatterns: 100,
  inputConditions: 50,
  counterConditions: 20,
  listValues: 1000,
  regexLength: MAX_REGEX_LENGTH,
  counterValue: 1_000_000_000,
} as const;

export const RULE_EFFECTS = ["deny", "requires_human", "allow"] as const;
export type RuleEffect = (typeof RULE_EFFECTS)[number];

export const INPUT_OPERATORS = [
  "equals",
  "not_equals",
  "in",
  "not_in",
  "gt",
  "gte",
  "lt",
  "lte",
  "matches",
  "email_domain_in",
  "email_domain_not_in",
  "exists",
  "not_exists",
] as const;
export type InputOperator = (typeof INPUT_OPERATORS)[number];

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const severitySchema = z.enum(SEVERITIES);

/** One glob or a non-empty list of globs. */
const toolConditionSchema = z.union(
  [toolPatternSchema, z.array(toolPatternSchema).min(1).max(POLICY_LIMITS.toolPatterns)],
  { error: "Must be a tool-name glob or a list of globs" },
);

const primitiveSchema = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: "Must be a string, number, boolean or null",
});

const inputConditionSchema = z.discriminatedUnion("op", [
  z.strictObject({ field: fieldPathSchema, op: z.literal(["equals", "not_equals"]), value: z.json() }),
  z.strictObject({
    field: fieldPathSchema,
    op: z.literal(["in", "not_in"]),
    value: z.array(primitiveSchema).min(1).max(POLICY_LIMITS.listValues),
  }),
  z.strictObject({ field: fieldPathSchema, op: z.literal(["gt", "gte", "lt", "lte"]), value: z.number() }),
  z
    .strictObject({
      field: fieldPathSchema,
      op: z.literal("matches"),
      value: z.string().min(1).max(POLICY_LIMITS.regexLength),
      flags: z.string().max(4).optional(),
    })
    .superRefine((condition, ctx) => {
      const problem = regexProblem(condition.value, condition.flags ?? "");
      if (problem) {
        ctx.addIssue({ code: "custom", path: [problem.startsWith("Flags") ? "flags" : "value"], message: problem });
      }
    }),
  z.strictObject({
    field: fieldPathSchema,
    op: z.literal(["email_domain_in", "email_domain_not_in"]),
    value: z.array(domainSchema).min(1).max(POLICY_LIMITS.listValues),
  }),
  z.strictObject({ field: fieldPathSchema, op: z.literal(["exists", "not_exists"]) }),
]);

const clockTimeSchema = z
  .string()
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, { error: "Must be a time 'HH:MM' (00:00-23:59)" });

/** Whether Intl knows `timeZone` (an IANA name such as `Europe/Berlin`, or `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

const timeConditionSchema = z
  .strictObject({
    after: clockTimeSchema.optional(),
    before: clockTimeSchema.optional(),
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
    timezone: z
      .string()
      .min(1)
      .max(64)
      .refine(isValidTimeZone, { error: "Must be an IANA time zone such as 'Europe/Berlin' or 'UTC'" })
      .optional(),
  })
  .superRefine((time, ctx) => {
    if (time.after === undefined && time.before === undefined && time.days === undefined) {
      ctx.addIssue({ code: "custom", path: [], message: "Give at least one of after, before and days" });
    }
    if (time.after !== undefined && time.after === time.before) {
      ctx.addIssue({ code: "custom", path: ["before"], message: "Must differ from after (the window would be empty)" });
    }
    time.days?.forEach((day, index) => {
      if (time.days?.indexOf(day) !== index) {
        ctx.addIssue({ code: "custom", path: ["days", index], message: `Duplicate day '${day}'` });
      }
    });
  });

const counterConditionSchema = z.strictObject({
  scope: z.enum(["session", "agent_24h"]),
  tool: toolConditionSchema.optional(),
  op: z.enum(["gt", "gte", "lt", "lte", "equals"]),
  value: z.number().int().min(0).max(POLICY_LIMITS.counterValue),
});

const conditionsSchema = z.strictObject({
  tool: toolConditionSchema.optional(),
  input: z.array(inputConditionSchema).max(POLICY_LIMITS.inputConditions).optional(),
  time: timeConditionSchema.optional(),
  counters: z.array(counterConditionSchema).max(POLICY_LIMITS.counterConditions).optional(),
});

const ruleFields = {
  id: ruleIdSchema,
  description: z.string().max(POLICY_LIMITS.descriptionLength).optional(),
  when: conditionsSchema,
};
const messageSchema = z.string().min(1).max(POLICY_LIMITS.messageLength);

const ruleSchema = z.discriminatedUnion("effect", [
  z.strictObject({
    ...ruleFields,
    effect: z.literal(["deny", "requires_human"]),
    severity: severitySchema,
    message: messageSchema,
  }),
  z.strictObject({
    ...ruleFields,
    effect: z.literal("allow"),
    severity: severitySchema.optional(),
    message: messageSchema.optional(),
  }),
]);

/**
 * A tenant's policy document: declarative JSON, validated here and nowhere else. Parsing returns the document
 * as given (no defaults are filled in), so what is stored is exactly what the tenant sent. See docs/policy.md.
 */
export const tenantPolicySchema = z.strictObject({
  description: z.string().max(POLICY_LIMITS.descriptionLength).optional(),
  /** What a call in `allowed_tools` gets when no rule decides. Default `allow`. */
  default_effect: z.enum(["allow", "deny"]).optional(),
  rules: z
    .array(ruleSchema)
    .max(POLICY_LIMITS.rules)
    .superRefine((rules, ctx) => {
      const seen = new Map<string, number>();
      rules.forEach((rule, index) => {
        const first = seen.get(rule.id);
        if (first === undefined) seen.set(rule.id, index);
        else {
          ctx.addIssue({
            code: "custom",
            path: [index, "id"],
            message: `Duplicate rule id '${rule.id}' (also rules[${first}])`,
          });
        }
      });
    }),
  anomaly: anomalyConfigSchema.optional(),
});

/** A parsed, valid policy document. */
export type TenantPolicy = z.output<typeof tenantPolicySchema>;
/** What a tenant sends (the same shape; parsing adds nothing). */
export type TenantPolicyInput = z.input<typeof tenantPolicySchema>;
export type PolicyRule = TenantPolicy["rules"][number];
export type RuleConditions = PolicyRule["when"];
export type InputCondition = NonNullable<RuleConditions["input"]>[number];
export type TimeCondition = NonNullable<RuleConditions["time"]>;
export type CounterCondition = NonNullable<RuleConditions["counters"]>[number];

/**
 * Parses a policy document, or throws a `ValidationError` whose issues name each bad field
 * (`["body", "rules", 2, "when", "input", 0, "op"]`).
 */
export function parseTenantPolicy(value: unknown, location: InputLocation = "body"): TenantPolicy {
  return parseInput(tenantPolicySchema, value, location);
}
