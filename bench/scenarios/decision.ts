// decision: pure policy evaluation of a 100-rule tenant policy, against the same rules as a Cedar policy set
// evaluated by @cedar-policy/cedar-wasm (pre-parsed, stateful API).
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import type { JsonObject } from "../../src/json.js";
import type { TenantPolicy } from "../../src/policy/document.js";
import { type CompiledPolicy, compilePolicy, type EvaluationInput } from "../../src/policy/evaluate.js";
import { localTimeReader } from "../../src/policy/time.js";
import { measureLatencies } from "../lib/measure.js";
import type { Measurement, Scenario } from "../lib/scenario.js";

/** The governed tools of the bench tenant. */
export const BENCH_TOOLS = [
  "crm_lookup",
  "crm_update",
  "create_transfer",
  "refund_payment",
  "send_email",
  "send_sms",
  "db_query",
  "db_write",
  "file_read",
  "file_write",
  "http_get",
  "http_post",
  "calendar_create",
  "ticket_create",
  "ticket_close",
  "search_docs",
  "payments_charge",
  "payments_refund",
  "payments_payout",
  "delete_records",
] as const;

/** The agent config of the bench: what the governed-call pipeline puts into `agent`. */
export const BENCH_AGENT = {
  allowed_tools: [
    "crm_lookup",
    "crm_update",
    "create_transfer",
    "send_email",
    "db_query",
    "search_docs",
    "ticket_create",
    "payments_charge",
    "payments_refund",
    "payments_payout",
    "http_get",
  ],
  require_human_approval: ["payments_payout", "delete_*"],
};

type Effect = "deny" | "requires_human" | "allow";
interface Condition {
  /** The vargate input condition. */
  ours: JsonObject;
  /** The same test as a Cedar boolean expression over `context`. */
  cedar: string;
}
interface RuleSpec {
  id: string;
  effect: Effect;
  /** An exact tool name (Cedar: the resource scope) or a glob (Cedar: `like`); none for any tool. */
  tool?: { exact: string } | { glob: string };
  input?: Condition[];
  counters?: Condition[];
  time?: Condition;
}

const field = (name: string) => `context.input.${name}`;
const has = (name: string) => `context.input has ${name}`;
const cedarString = (value: string) => JSON.stringify(value);
const cedarList = (values: readonly (string | number)[]) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;

const gt = (name: string, value: number): Condition => ({
  ours: { field: name, op: "gt", value },
  cedar: `(${has(name)} && ${field(name)} > ${value})`,
});
const gte = (name: string, value: number): Condition => ({
  ours: { field: name, op: "gte", value },
  cedar: `(${has(name)} && ${field(name)} >= ${value})`,
});
const isIn = (name: string, values: string[]): Condition => ({
  ours: { field: name, op: "in", value: values },
  cedar: `(${has(name)} && ${cedarList(values)}.contains(${field(name)}))`,
});
const notIn = (name: string, values: string[]): Condition => ({
  ours: { field: name, op: "not_in", value: values },
  cedar: `(!(${has(name)}) || !${cedarList(values)}.contains(${field(name)}))`,
});
const equals = (name: string, value: string | boolean): Condition => ({
  ours: { field: name, op: "equals", value },
  cedar: `(${has(name)} && ${field(name)} == ${JSON.stringify(value)})`,
});
const exists = (name: string): Condition => ({ ours: { field: name, op: "exists" }, cedar: `(${has(name)})` });
const notExists = (name: string): Condition => ({ ours: { field: name, op: "not_exists" }, cedar: `!(${has(name)})` });
/** A prefix test: regex `^prefix` here, `like "prefix*"` in Cedar (the prefixes have no regex metacharacters). */
const startsWith = (name: string, prefix: string): Condition => ({
  ours: { field: name, op: "matches", value: `^${prefix.replace(/[.+]/g, "\\$&")}` },
  cedar: `(${has(name)} && ${field(name)} like ${cedarString(`${prefix}*`)})`,
});
/** A single address in `domains` (or a subdomain): the probe inputs use valid addresses only. */
const domainLike = (name: string, domains: string[]) =>
  domains.map((d) => `${field(name)} like "*@${d}" || ${field(name)} like "*.${d}"`).join(" || ");
const emailIn = (name: string, domains: string[]): Condition => ({
  ours: { field: name, op: "email_domain_in", value: domains },
  cedar: `(!(${has(name)}) || ${domainLike(name, domains)})`,
});
const emailNotIn = (name: string, domains: string[]): Condition => ({
  ours: { field: name, op: "email_domain_not_in", value: domains },
  cedar: `(!(${has(name)}) || !(${domainLike(name, domains)}))`,
});
/** Earlier calls of `tools` (summed) in `scope`, compared with `value`. */
const counter = (
  scope: "session" | "agent_24h",
  tools: string[],
  op: "gt" | "gte" | "lt",
  value: number,
): Condition => {
  const count = tools
    .map((t) => `(if context.counters.${scope} has ${t} then context.counters.${scope}.${t} else 0)`)
    .join(" + ");
  const cedarOp = op === "gt" ? ">" : op === "gte" ? ">=" : "<";
  return { ours: { scope, tool: tools, op, value }, cedar: `((${count}) ${cedarOp} ${value})` };
};
/** Outside office hours in UTC: 18:00-08:00 (wrapping midnight). */
const offHoursUtc: Condition = {
  ours: { after: "18:00", before: "08:00" },
  cedar: "(context.utc_minutes >= 1080 || context.utc_minutes < 480)",
};
const weekendUtc: Condition = { ours: { days: ["sat", "sun"] }, cedar: "[0, 6].contains(context.utc_weekday)" };
const berlinNight: Condition = {
  ours: { after: "22:00", before: "06:00", timezone: "Europe/Berlin" },
  cedar: "(context.berlin_minutes >= 1320 || context.berlin_minutes < 360)",
};

/** The bench tenant's 100 rules: tool allows and globs, input conditions of every operator, counters, time windows. */
export function ruleSpecs(): RuleSpec[] {
  const rules: RuleSpec[] = [];
  const add = (rule: RuleSpec) => rules.push(rule);
  // 16 plain allows and 4 conditional ones (default_effect is deny).
  for (const tool of BENCH_TOOLS.filter(
    (t) => !["create_transfer", "send_email", "db_write", "http_post"].includes(t),
  )) {
    add({ id: `allow-${tool.replace(/_/g, "-")}`, effect: "allow", tool: { exact: tool } });
  }
  add({
    id: "allow-transfer-currencies",
    effect: "allow",
    tool: { exact: "create_transfer" },
    input: [isIn("currency", ["EUR", "USD", "GBP", "CHF"])],
  });
  add({
    id: "allow-email-internal",
    effect: "allow",
    tool: { exact: "send_email" },
    input: [emailIn("to", ["example.com", "example.org"])],
  });
  add({ id: "allow-email-partner", effect: "allow", tool: { exact: "send_email" }, input: [exists("subject")] });
  add({
    id: "allow-db-write-tickets",
    effect: "allow",
    tool: { exact: "db_write" },
    input: [equals("table", "tickets")],
  });
  // 10 tool-glob denies.
  for (const glob of ["admin_*", "shell_*", "*_drop", "internal_*", "debug_*", "root_*", "legacy_*", "beta_*"]) {
    add({ id: `deny-${glob.replace(/[*_]/g, "")}`, effect: "deny", tool: { glob } });
  }
  add({ id: "deny-http-post", effect: "deny", tool: { exact: "http_post" } });
  add({ id: "deny-exp-tools", effect: "deny", tool: { glob: "exp_*" } });
  // 20 amount thresholds over five money tools.
  const moneyTools = ["create_transfer", "refund_payment", "payments_charge", "payments_refund", "payments_payout"];
  for (const tool of moneyTools) {
    const short = tool.replace(/_/g, "-");
    add({ id: `${short}-over-50k`, effect: "deny", tool: { exact: tool }, input: [gt("amount", 50_000)] });
    add({ id: `${short}-over-10k`, effect: "requires_human", tool: { exact: tool }, input: [gt("amount", 10_000)] });
    add({
      id: `${short}-exotic-currency`,
      effect: "requires_human",
      tool: { exact: tool },
      input: [gte("amount", 5_000), notIn("currency", ["EUR", "USD"])],
    });
    add({
      id: `${short}-burst`,
      effect: "requires_human",
      tool: { exact: tool },
      input: [gt("amount", 1_000)],
      counters: [counter("session", [tool], "gte", 5)],
    });
  }
  // 8 email and messaging rules.
  add({
    id: "email-external",
    effect: "requires_human",
    tool: { exact: "send_email" },
    input: [emailNotIn("to", ["example.com", "example.org", "partner.net"])],
  });
  add({ id: "email-competitor", effect: "deny", tool: { exact: "send_email" }, input: [emailIn("to", ["rival.io"])] });
  add({ id: "email-bcc", effect: "requires_human", tool: { exact: "send_email" }, input: [exists("bcc")] });
  add({ id: "email-no-subject", effect: "deny", tool: { exact: "send_email" }, input: [notExists("subject")] });
  add({
    id: "sms-country",
    effect: "requires_human",
    tool: { exact: "send_sms" },
    input: [notIn("country", ["DE", "FR", "US"])],
  });
  add({ id: "sms-premium", effect: "deny", tool: { exact: "send_sms" }, input: [startsWith("number", "+1900")] });
  add({
    id: "email-volume",
    effect: "requires_human",
    tool: { exact: "send_email" },
    counters: [counter("session", ["send_email"], "gte", 50)],
  });
  add({
    id: "email-daily-cap",
    effect: "deny",
    tool: { exact: "send_email" },
    counters: [counter("agent_24h", ["send_email"], "gte", 500)],
  });
  // 10 prefix (regex) rules on queries, paths and URLs.
  const prefixes: [string, Effect, string, string, string][] = [
    ["db-drop", "deny", "db_query", "query", "DROP "],
    ["db-truncate", "deny", "db_query", "query", "TRUNCATE "],
    ["db-delete", "requires_human", "db_query", "query", "DELETE FROM "],
    ["db-update", "requires_human", "db_query", "query", "UPDATE "],
    ["db-grant", "deny", "db_query", "query", "GRANT "],
    ["db-write-audit", "deny", "db_write", "table", "audit_"],
    ["file-etc", "deny", "file_write", "path", "/etc/"],
    ["file-secrets", "deny", "file_read", "path", "/secrets/"],
    ["http-plain", "deny", "http_get", "url", "http://"],
    ["http-internal", "deny", "http_get", "url", "https://internal."],
  ];
  for (const [id, effect, tool, name, prefix] of prefixes) {
    add({ id, effect, tool: { exact: tool }, input: [startsWith(name, prefix)] });
  }
  // 12 list, equality and presence rules.
  add({
    id: "crm-sensitive-field",
    effect: "deny",
    tool: { exact: "crm_update" },
    input: [isIn("field", ["ssn", "tax_id", "iban"])],
  });
  add({ id: "crm-force", effect: "deny", tool: { exact: "crm_update" }, input: [equals("force", true)] });
  add({ id: "crm-bulk", effect: "requires_human", tool: { exact: "crm_update" }, input: [gt("records", 100)] });
  add({
    id: "crm-lookup-vip",
    effect: "requires_human",
    tool: { exact: "crm_lookup" },
    input: [isIn("segment", ["vip", "board"])],
  });
  add({
    id: "ticket-priority",
    effect: "requires_human",
    tool: { exact: "ticket_create" },
    input: [isIn("priority", ["p0", "p1"])],
  });
  add({ id: "ticket-close-no-note", effect: "deny", tool: { exact: "ticket_close" }, input: [notExists("note")] });
  add({
    id: "calendar-external",
    effect: "requires_human",
    tool: { exact: "calendar_create" },
    input: [emailNotIn("organizer", ["example.com"])],
  });
  add({
    id: "search-restricted",
    effect: "deny",
    tool: { exact: "search_docs" },
    input: [isIn("collection", ["hr", "legal", "m-and-a"])],
  });
  add({
    id: "search-export",
    effect: "requires_human",
    tool: { exact: "search_docs" },
    input: [equals("format", "export")],
  });
  add({ id: "refund-no-order", effect: "deny", tool: { exact: "refund_payment" }, input: [notExists("order_id")] });
  add({
    id: "transfer-self",
    effect: "deny",
    tool: { exact: "create_transfer" },
    input: [equals("to", "acct-treasury")],
  });
  add({
    id: "transfer-memo",
    effect: "requires_human",
    tool: { exact: "create_transfer" },
    input: [startsWith("memo", "URGENT")],
  });
  // 12 counter rules.
  for (const tool of ["crm_lookup", "crm_update", "db_query", "search_docs", "ticket_create", "http_get"]) {
    const short = tool.replace(/_/g, "-");
    add({
      id: `${short}-session-cap`,
      effect: "deny",
      tool: { exact: tool },
      counters: [counter("session", [tool], "gte", 10_000)],
    });
    add({
      id: `${short}-daily-cap`,
      effect: "requires_human",
      tool: { exact: tool },
      counters: [counter("agent_24h", [tool], "gt", 100_000)],
    });
  }
  // 8 time windows and mixed rules.
  add({ id: "payout-off-hours", effect: "deny", tool: { exact: "payments_payout" }, time: offHoursUtc });
  add({ id: "payout-weekend", effect: "deny", tool: { exact: "payments_payout" }, time: weekendUtc });
  add({
    id: "transfer-night-berlin",
    effect: "requires_human",
    tool: { exact: "create_transfer" },
    input: [gt("amount", 2_000)],
    time: berlinNight,
  });
  add({
    id: "charge-off-hours",
    effect: "requires_human",
    tool: { exact: "payments_charge" },
    input: [gt("amount", 2_500)],
    time: offHoursUtc,
  });
  add({ id: "db-write-weekend", effect: "requires_human", tool: { exact: "db_write" }, time: weekendUtc });
  add({
    id: "money-daily-volume",
    effect: "requires_human",
    tool: { glob: "payments_*" },
    counters: [counter("agent_24h", ["payments_charge", "payments_refund", "payments_payout"], "gt", 200)],
  });
  add({
    id: "transfer-first-of-session",
    effect: "requires_human",
    tool: { exact: "create_transfer" },
    input: [gt("amount", 500)],
    counters: [counter("session", ["create_transfer"], "lt", 1)],
  });
  add({ id: "any-debug-flag", effect: "deny", input: [equals("debug", true)] });
  if (rules.length !== 100) throw new Error(`decision bench: expected 100 rules, built ${rules.length}`);
  return rules;
}

const SEVERITY: Record<Effect, "high" | "medium" | undefined> = {
  deny: "high",
  requires_human: "medium",
  allow: undefined,
};

/** The 100 rules as a vargate policy document. */
export function benchPolicy(): TenantPolicy {
  return policyFrom(ruleSpecs());
}

function policyFrom(specs: RuleSpec[]): TenantPolicy {
  return {
    description: "Bench tenant: 100 rules",
    default_effect: "deny",
    rules: specs.map((spec) => {
      const when: Record<string, unknown> = {};
      if (spec.tool) when.tool = "exact" in spec.tool ? spec.tool.exact : spec.tool.glob;
      if (spec.input) when.input = spec.input.map((c) => c.ours);
      if (spec.counters) when.counters = spec.counters.map((c) => c.ours);
      if (spec.time) when.time = spec.time.ours;
      const severity = SEVERITY[spec.effect];
      return {
        id: spec.id,
        effect: spec.effect,
        when,
        ...(severity && { severity, message: `Rule ${spec.id}` }),
      };
    }) as TenantPolicy["rules"],
  };
}

/** The same rules (and the agent's built-in checks) as Cedar policies, keyed by the same ids. */
export function cedarPolicies(specs: RuleSpec[]): Record<string, string> {
  const policies: Record<string, string> = {
    "builtin:allowed_tools":
      "forbid (principal, action, resource) unless { context.allowed_tools.contains(context.tool) };",
    "builtin:require_human_approval": `forbid (principal, action, resource) when { ${BENCH_AGENT.require_human_approval
      .map((glob) => `context.tool like ${cedarString(glob)}`)
      .join(" || ")} };`,
  };
  for (const spec of specs) {
    const head = spec.effect === "allow" ? "permit" : "forbid";
    const resource =
      spec.tool && "exact" in spec.tool ? `resource == Tool::${cedarString(spec.tool.exact)}` : "resource";
    const clauses: string[] = [];
    if (spec.tool && "glob" in spec.tool) clauses.push(`context.tool like ${cedarString(spec.tool.glob)}`);
    for (const c of [...(spec.input ?? []), ...(spec.counters ?? []), ...(spec.time ? [spec.time] : [])]) {
      clauses.push(c.cedar);
    }
    const when = clauses.length > 0 ? ` when { ${clauses.join(" && ")} }` : "";
    policies[spec.id] = `${head} (principal, action == Action::"call", ${resource})${when};`;
  }
  return policies;
}

const BERLIN = localTimeReader("Europe/Berlin");
const UTC = localTimeReader("UTC");

/** What Cedar gets for one evaluation input: the same facts, time pre-split (Cedar has no time zones). */
export function cedarRequest(input: EvaluationInput): cedar.StatefulAuthorizationCall {
  const ms = Date.parse(input.now);
  const utc = UTC(ms);
  const berlin = BERLIN(ms);
  return {
    principal: { type: "Agent", id: input.agent.id },
    action: { type: "Action", id: "call" },
    resource: { type: "Tool", id: input.tool },
    context: {
      tool: input.tool,
      input: input.input as cedar.Context,
      allowed_tools: input.agent.allowed_tools,
      counters: input.counters,
      utc_minutes: utc.minutes,
      utc_weekday: utc.weekday,
      berlin_minutes: berlin.minutes,
    },
    preparsedPolicySetId: "vargate-bench",
    entities: [],
  };
}

/** An evaluation input as the governed-call pipeline builds it. */
export function evaluationInput(
  tool: string,
  input: JsonObject,
  options: { now?: string; session?: Record<string, number>; agent24h?: Record<string, number> } = {},
): EvaluationInput {
  return {
    tenant_id: "bench-tenant",
    tool,
    input,
    agent: { id: "agent-0123456789ab", version: 3, ...BENCH_AGENT },
    session: { id: "vs-0123456789abcdef" },
    now: options.now ?? "2026-04-14T10:35:12.345Z",
    counters: {
      session: options.session ?? { crm_lookup: 3, create_transfer: 1, send_email: 2 },
      agent_24h: options.agent24h ?? { crm_lookup: 41, create_transfer: 12, send_email: 30, payments_charge: 7 },
    },
  };
}

/** Typical calls of a working session: mostly allowed, some needing a human, one denied. */
export function typicalInputs(): EvaluationInput[] {
  return [
    evaluationInput("create_transfer", { amount: 250, currency: "EUR", to: "acct-4821", memo: "Invoice 2026-118" }),
    evaluationInput("crm_lookup", { customer_id: "cus_8fa2c1", segment: "smb" }),
    evaluationInput("send_email", { to: "ops@example.com", subject: "Daily report", body: "All green." }),
    evaluationInput("db_query", { query: "SELECT id, status FROM orders WHERE id = 42" }),
    evaluationInput("search_docs", { query: "refund policy", collection: "support" }),
    evaluationInput("payments_charge", { amount: 1200, currency: "USD", customer_id: "cus_8fa2c1" }),
    evaluationInput("ticket_create", { title: "Card declined", priority: "p2" }),
    evaluationInput("create_transfer", { amount: 12_500, currency: "EUR", to: "acct-9912" }),
  ];
}

/** Varied inputs for the equivalence check: every rule family, matching and not. */
function probeInputs(count: number): EvaluationInput[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const tools = [...BENCH_TOOLS, "admin_reset", "shell_exec", "table_drop", "exp_feature", "delete_everything"];
  const inputs: EvaluationInput[] = [...typicalInputs()];
  for (let i = 0; i < count; i++) {
    const tool = pick(tools);
    const input: JsonObject = {};
    if (random() < 0.8) input.amount = pick([0, 100, 999, 1_001, 2_500, 5_000, 9_999, 10_001, 60_000]);
    if (random() < 0.7) input.currency = pick(["EUR", "USD", "GBP", "JPY", "CHF"]);
    // Email rules read `to` of send_email only, and Cedar cannot tell an invalid address: probe valid ones there.
    const emails = ["a@example.com", "b@sub.example.org", "c@rival.io", "d@partner.net", "e@gmail.com"];
    if (random() < 0.6) input.to = pick(tool === "send_email" ? emails : ["acct-treasury", "acct-1"]);
    if (random() < 0.5) input.subject = "Hello";
    if (random() < 0.2) input.bcc = "x@example.com";
    if (random() < 0.5)
      input.query = pick(["SELECT 1", "DROP TABLE x", "DELETE FROM y", "UPDATE z SET a=1", "GRANT ALL", "TRUNCATE t"]);
    if (random() < 0.4) input.table = pick(["tickets", "audit_log", "orders"]);
    if (random() < 0.4) input.path = pick(["/etc/passwd", "/secrets/key", "/home/a.txt"]);
    if (random() < 0.4) input.url = pick(["http://a.com", "https://internal.corp", "https://example.com"]);
    if (random() < 0.3) input.field = pick(["ssn", "name", "iban"]);
    if (random() < 0.2) input.force = pick([true, false]);
    if (random() < 0.3) input.records = pick([1, 101, 5_000]);
    if (random() < 0.3) input.segment = pick(["vip", "smb"]);
    if (random() < 0.3) input.priority = pick(["p0", "p2"]);
    if (random() < 0.3) input.note = "done";
    if (random() < 0.3) input.organizer = pick(["a@example.com", "b@other.com"]);
    if (random() < 0.3) input.collection = pick(["hr", "support"]);
    if (random() < 0.2) input.format = pick(["export", "inline"]);
    if (random() < 0.4) input.order_id = "ord_1";
    if (random() < 0.3) input.memo = pick(["URGENT pay now", "monthly"]);
    if (random() < 0.3) input.country = pick(["DE", "BR"]);
    if (random() < 0.3) input.number = pick(["+1900555", "+4930123"]);
    if (random() < 0.05) input.debug = true;
    const count = () => Math.floor(random() * 12_000);
    const counters: Record<string, number> = {};
    for (const t of BENCH_TOOLS) if (random() < 0.3) counters[t] = count();
    const daily: Record<string, number> = {};
    for (const t of BENCH_TOOLS) if (random() < 0.3) daily[t] = count() * 10;
    const hour = Math.floor(random() * 24);
    const day = 12 + Math.floor(random() * 7);
    const now = `2026-04-${day}T${String(hour).padStart(2, "0")}:${String(Math.floor(random() * 60)).padStart(2, "0")}:00Z`;
    inputs.push(evaluationInput(tool, input, { now, session: counters, agent24h: daily }));
  }
  return inputs;
}

/** Throws (a bug, not a timing) unless both engines decide every probe alike, for the same reasons. */
function assertSameDecisions(compiled: CompiledPolicy, specs: RuleSpec[], inputs: EvaluationInput[]): void {
  const effects = new Map(specs.map((spec) => [spec.id, spec.effect]));
  for (const input of inputs) {
    const ours = compiled.evaluate(input);
    const answer = cedar.statefulIsAuthorized(cedarRequest(input));
    if (answer.type !== "success") throw new Error(`Cedar failed: ${JSON.stringify(answer.errors)}`);
    const cedarDecision = answer.response.decision;
    const oursDecision = ours.decision === "allow" ? "allow" : "deny";
    // Cedar names the satisfied permits for an allow and the satisfied forbids for a deny.
    const oursReasons = ours.matched_rules
      .filter((id) => id !== "builtin:default_effect")
      .filter((id) => (oursDecision === "allow" ? effects.get(id) === "allow" : effects.get(id) !== "allow"))
      .sort();
    const cedarReasons = [...answer.response.diagnostics.reason].sort();
    const errors = answer.response.diagnostics.errors;
    if (
      cedarDecision !== oursDecision ||
      JSON.stringify(oursReasons) !== JSON.stringify(cedarReasons) ||
      errors.length > 0
    ) {
      throw new Error(
        `decision bench: engines disagree on ${JSON.stringify(input)}: vargate ${oursDecision} ${JSON.stringify(oursReasons)}, cedar ${cedarDecision} ${JSON.stringify(cedarReasons)} ${JSON.stringify(errors)}`,
      );
    }
  }
}

const TARGET_P99_MS = 0.02;

export const decision: Scenario = {
  name: "decision",
  description:
    "Pure policy evaluation: compilePolicy(100-rule tenant policy).evaluate(typical input), single-threaded; baseline: the same rules as a pre-parsed Cedar policy set (cedar-wasm statefulIsAuthorized)",
  async run(context) {
    const specs = ruleSpecs();
    const compiled = compilePolicy(policyFrom(specs));
    const parsed = cedar.preparsePolicySet("vargate-bench", { staticPolicies: cedarPolicies(specs) });
    if (parsed.type !== "success") throw new Error(`Cedar policy set: ${JSON.stringify(parsed.errors)}`);
    const probes = probeInputs(context.quick ? 500 : 3_000);
    assertSameDecisions(compiled, specs, probes);
    context.log(`${probes.length} inputs decided alike by both engines`);

    const inputs = typicalInputs();
    const requests = inputs.map(cedarRequest);
    const operations = context.quick ? 200_000 : 2_000_000;
    const cedarOperations = context.quick ? 2_000 : 20_000;
    const decisions: Record<string, number> = {};
    for (const input of inputs) {
      const value = compiled.evaluate(input).decision;
      decisions[value] = (decisions[value] ?? 0) + 1;
    }

    const measured: Measurement = await measureLatencies({
      label: "vargate compilePolicy(100 rules).evaluate",
      operations,
      warmup: 50_000,
      operation: (i) => compiled.evaluate(inputs[i % inputs.length] as EvaluationInput),
      extra: { rules: specs.length, inputs: inputs.length, decisions: JSON.stringify(decisions) },
    });
    global.gc?.();
    const baseline: Measurement = await measureLatencies({
      label: "cedar-wasm statefulIsAuthorized (pre-parsed policy set)",
      operations: cedarOperations,
      warmup: context.quick ? 2_000 : 10_000,
      operation: (i) => cedar.statefulIsAuthorized(requests[i % requests.length] as cedar.StatefulAuthorizationCall),
      extra: { policies: Object.keys(cedarPolicies(specs)).length, cedar: cedar.getCedarVersion() },
    });
    const p99 = measured.p99Ms ?? Number.POSITIVE_INFINITY;
    return {
      measured,
      baseline,
      target: "p99 ≤ 20 µs and throughput ≥ Cedar's",
      targetMet: p99 <= TARGET_P99_MS && measured.throughput >= baseline.throughput,
      notes: `${probes.length} probe inputs (every rule family) decided identically by both engines, reasons included; timed over ${inputs.length} typical inputs cycled. Cedar gets time of day pre-split in its context (it has no time zones); vargate parses 'now' itself.`,
    };
  },
};
