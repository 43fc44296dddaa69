// Audit chains in one SQLite file shared by the verify, export and replay scenarios. Each tenant is built on first
// use, once per process, through the real storage (`audit.append` seals with the real chain code), in large
// batches; building is setup and never measured. The file lives in its own temp directory, removed at exit,
// because each scenario's own `tmpDir` is removed when that scenario ends.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEntry } from "../../src/audit/types.js";
import { VargateGovernor } from "../../src/governor.js";
import type { JsonObject } from "../../src/json.js";
import { parseTenantPolicy } from "../../src/policy/document.js";
import { compilePolicy, type EvaluationInput } from "../../src/policy/evaluate.js";
import { type KyselyStorageFromUrlOptions, kyselyStorageFromUrl } from "../../src/storage/kysely/from-url.js";
import { runInChild } from "./child-task.js";
import { seedActiveSession } from "./sessions.js";

/** Entries per `audit.append` call while building: one transaction each. */
const BUILD_BATCH = 10_000;
const NOW = "2026-04-11T14:30:00.000Z";
const FIXTURE_VERSION = 2;

let directory: string | undefined;
let file: string | undefined;
const built = new Map<string, Promise<unknown>>();

/**
 * The shared SQLite file. By default a fresh one per process, removed at exit. With `VARGATE_BENCH_CACHE_DIR` set
 * the file is kept there and reused by later runs: a tenant already built to the requested size is not rebuilt
 * (bump `FIXTURE_VERSION` when the generated records change).
 */
export function fixtureFile(): string {
  if (file) return file;
  // A builder child uses its parent's file.
  const inherited = process.env.VARGATE_BENCH_FIXTURE_FILE;
  if (inherited) {
    file = inherited;
    return file;
  }
  const cache = process.env.VARGATE_BENCH_CACHE_DIR;
  if (cache) {
    mkdirSync(cache, { recursive: true });
    file = join(cache, `audit-fixture-v${FIXTURE_VERSION}.sqlite`);
    return file;
  }
  directory = mkdtempSync(join(tmpdir(), "vargate-bench-audit-"));
  const created = directory;
  process.once("exit", () => rmSync(created, { recursive: true, force: true }));
  file = join(directory, "audit.sqlite");
  return file;
}

/** A governor on the shared file. Close it when done. */
export async function openGovernor(options: KyselyStorageFromUrlOptions = {}): Promise<VargateGovernor> {
  const governor = new VargateGovernor({ storage: kyselyStorageFromUrl(fixtureFile(), options) });
  await governor.migrate();
  return governor;
}

// Builds each fixture once per process; with a cache directory, once across runs (what it built is listed in a
// JSON file next to the database, written only after the build completed).
function once<T>(key: string, build: () => Promise<T>): Promise<T> {
  let pending = built.get(key) as Promise<T> | undefined;
  if (!pending) {
    const index = `${fixtureFile().replace(/\.sqlite$/, "")}.json`;
    const read = (): Record<string, unknown> => (existsSync(index) ? JSON.parse(readFileSync(index, "utf8")) : {});
    const cached = process.env.VARGATE_BENCH_CACHE_DIR ? read()[key] : undefined;
    pending = cached
      ? Promise.resolve(cached as T)
      : (process.env.VARGATE_BENCH_FIXTURE_FILE
          ? build()
          : // Building a million records leaves hundreds of MB of garbage and heap behind, which would otherwise
            // count in the peak RSS of the scenario measured next.
            runInChild<T>(import.meta.url, "buildFixture", [key], { VARGATE_BENCH_FIXTURE_FILE: fixtureFile() })
        ).then((value) => {
          if (process.env.VARGATE_BENCH_CACHE_DIR) writeFileSync(index, JSON.stringify({ ...read(), [key]: value }));
          return value;
        });
    built.set(key, pending);
  }
  return pending;
}

const BUILDERS: Record<string, (size: number) => Promise<unknown>> = {
  chain: (size) => chainFixture(size),
  session: (size) => sessionFixture(size),
  replay: (size) => replayFixture(size),
};

const tenantName = (kind: string, size: number) => `bench-${kind}-${size}-${randomBytes(3).toString("hex")}`;

const actionId = (prefix: number, i: number) =>
  `${prefix.toString(16).padStart(8, "0")}-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

// A little non-ASCII text in some records, so canonicalisation sees what real inputs hold.
const MEMOS = ["invoice 2026-04", "Büromaterial für März", "rent", "Überweisung € 12", "café ☕ refund", "payroll"];
const COMMANDS = ["ls -la /workspace", "cat README.md", "npm test", "git status", "grep -rn TODO src", "python3 x.py"];

/** The evaluation input a governed call of event `i` was decided with (what the pipeline stores). */
export function governedInput(tenantId: string, agentId: string, sessionId: string, i: number): EvaluationInput {
  // Governed events are every 10th: vary the fields by the governed call's own index.
  const k = Math.floor(i / 10);
  const tool = GOVERNED_TOOLS[k % GOVERNED_TOOLS.length] as string;
  return {
    tenant_id: tenantId,
    tool,
    input: {
      amount: (k * 37) % 5000,
      currency: k % 3 === 0 ? "EUR" : "USD",
      to: `user${k % 97}@${k % 20 === 0 ? "partner.example" : "example.com"}`,
      memo: MEMOS[k % MEMOS.length] as string,
      priority: k % 7 === 0,
    },
    agent: { id: agentId, version: 1, allowed_tools: [...GOVERNED_TOOLS], require_human_approval: ["delete_*"] },
    session: { id: sessionId },
    now: NOW,
    counters: { session: { [tool]: k % 50 }, agent_24h: { [tool]: k % 400 } },
  };
}

export const GOVERNED_TOOLS = ["create_transfer", "send_email", "read_customer", "update_invoice"] as const;

/** Event `i` of a session: every 10th a governed call, the rest observed built-in tool uses. */
function sessionEntry(tenantId: string, agentId: string, sessionId: string, prefix: number, i: number): AuditEntry {
  if (i % 10 === 0) {
    const denied = i % 500 === 0;
    const input = governedInput(tenantId, agentId, sessionId, i);
    return {
      action_id: actionId(prefix, i),
      session_id: sessionId,
      agent_id: agentId,
      event_id: null,
      actor: null,
      source: "mcp_governed",
      tool: input.tool,
      method: "tools/call",
      decision: denied ? "deny" : "allow",
      severity: denied ? "high" : "none",
      violations: denied ? ["Transfers over 4000 are denied"] : [],
      input,
      policy_version: null,
      requested_at: NOW,
    };
  }
  return {
    action_id: actionId(prefix, i),
    session_id: sessionId,
    agent_id: agentId,
    event_id: `sevt_${prefix.toString(16)}${i.toString(16).padStart(10, "0")}`,
    actor: null,
    source: "mcp_observed",
    tool: "bash",
    method: "agent.tool_use",
    decision: "observed",
    severity: "none",
    violations: [],
    input: { command: COMMANDS[i % COMMANDS.length] as string, timeout_ms: 120_000 },
    policy_version: null,
    requested_at: NOW,
  };
}

async function createSession(governor: VargateGovernor, tenantId: string, allowedTools: readonly string[]) {
  const agent = await governor.agents.create(tenantId, {
    name: "bench",
    allowed_tools: [...allowedTools],
    require_human_approval: ["delete_*"],
  });
  const { session } = await seedActiveSession(governor.storage, tenantId, agent, NOW);
  return { agentId: agent.id, sessionId: session.id };
}

async function appendAll(
  governor: VargateGovernor,
  tenantId: string,
  count: number,
  entry: (i: number) => AuditEntry,
): Promise<void> {
  for (let start = 0; start < count; start += BUILD_BATCH) {
    const entries: AuditEntry[] = [];
    for (let i = start; i < Math.min(count, start + BUILD_BATCH); i++) entries.push(entry(i));
    await governor.storage.audit.append(tenantId, entries);
  }
}

export interface ChainFixture {
  tenantId: string;
  /** Records in the tenant's chain. */
  records: number;
}

/** A tenant whose chain holds `events` session records (10% governed, 90% observed) after its setup records. */
export function chainFixture(events: number): Promise<ChainFixture> {
  return once(`chain:${events}`, async () => {
    const governor = await openGovernor();
    try {
      const { tenant } = await governor.tenants.create({ tenant_id: tenantName("chain", events) });
      const tenantId = tenant.tenant_id;
      const { agentId, sessionId } = await createSession(governor, tenantId, GOVERNED_TOOLS);
      await appendAll(governor, tenantId, events, (i) => sessionEntry(tenantId, agentId, sessionId, 1, i));
      return { tenantId, records: (await governor.storage.audit.head(tenantId)).seq };
    } finally {
      await governor.close();
    }
  });
}

export interface SessionFixture {
  tenantId: string;
  sessionId: string;
  /** The session's events (governed + observed). */
  events: number;
}

/**
 * A tenant with one session of `events` events (10% governed, 1 in 50 of those denied), with a record of another
 * session every 1000 events, so the export has to skip records that are not the session's.
 */
export function sessionFixture(events: number): Promise<SessionFixture> {
  return once(`session:${events}`, async () => {
    const governor = await openGovernor();
    try {
      const { tenant } = await governor.tenants.create({ tenant_id: tenantName("session", events) });
      const tenantId = tenant.tenant_id;
      const { agentId, sessionId } = await createSession(governor, tenantId, GOVERNED_TOOLS);
      const other = `vs-${randomBytes(8).toString("hex")}`;
      for (let start = 0; start < events; start += BUILD_BATCH) {
        const entries: AuditEntry[] = [];
        for (let i = start; i < Math.min(events, start + BUILD_BATCH); i++) {
          entries.push(sessionEntry(tenantId, agentId, sessionId, 2, i));
          if (i % 1000 === 999) {
            entries.push({ ...sessionEntry(tenantId, agentId, other, 3, i), event_id: null });
          }
        }
        await governor.storage.audit.append(tenantId, entries);
      }
      return { tenantId, sessionId, events };
    } finally {
      await governor.close();
    }
  });
}

/**
 * A tenant policy of 100 rules: 25 apply to the replayed tools (amount limits, email domains, memo regexes,
 * counters, business hours), 75 to other tools, so rule selection by tool name matters as it does in practice.
 */
export function benchPolicy(): JsonObject {
  const rules: JsonObject[] = [];
  for (let k = 0; k < 75; k++) {
    rules.push({
      id: `other-${k}`,
      when: { tool: `svc${k}_*`, input: [{ field: "size", op: "gt", value: k * 10 }] },
      effect: k % 3 === 0 ? "requires_human" : "deny",
      severity: "medium",
      message: `svc${k} calls over ${k * 10} are limited`,
    });
  }
  for (let k = 0; k < 25; k++) {
    const tool = GOVERNED_TOOLS[k % GOVERNED_TOOLS.length] as string;
    const variant = k % 5;
    const when: JsonObject =
      variant === 0
        ? { tool, input: [{ field: "amount", op: "gt", value: 4000 + k * 10 }] }
        : variant === 1
          ? { tool: [tool, "create_*"], input: [{ field: "to", op: "email_domain_not_in", value: ["example.com"] }] }
          : variant === 2
            ? { tool, input: [{ field: "memo", op: "matches", value: `^(?:wire|crypto)-${k}`, flags: "i" }] }
            : variant === 3
              ? { tool, counters: [{ scope: "session", tool, op: "gte", value: 45 }] }
              : { tool: "*_invoice", time: { after: "22:00", before: "06:00", timezone: "Europe/Berlin" } };
    rules.push({
      id: `governed-${k}`,
      when,
      effect: variant === 1 ? "requires_human" : "deny",
      severity: variant === 0 ? "high" : "medium",
      message: `Rule ${k} (${tool}) matched`,
    });
  }
  return { rules };
}

export interface ReplayFixture {
  tenantId: string;
  sessionId: string;
  /** Governed records of the session. */
  governed: number;
  policy: JsonObject;
}

/** A tenant with the 100-rule policy stored and one session of `governed` governed records (nothing else). */
export function replayFixture(governed: number): Promise<ReplayFixture> {
  return once(`replay:${governed}`, async () => {
    const governor = await openGovernor();
    try {
      const { tenant } = await governor.tenants.create({ tenant_id: tenantName("replay", governed) });
      const tenantId = tenant.tenant_id;
      const policy = benchPolicy();
      await governor.policy.put(tenantId, policy);
      const { agentId, sessionId } = await createSession(governor, tenantId, GOVERNED_TOOLS);
      // Recorded with the decisions this policy gives, as the pipeline would have: a replay finds them consistent.
      const compiled = compilePolicy(parseTenantPolicy(policy));
      await appendAll(governor, tenantId, governed, (i) => {
        const entry = sessionEntry(tenantId, agentId, sessionId, 4, i * 10);
        const { decision, violations, severity } = compiled.evaluate(entry.input as EvaluationInput);
        return { ...entry, decision, violations, severity, policy_version: 1 };
      });
      return { tenantId, sessionId, governed, policy };
    } finally {
      await governor.close();
    }
  });
}

/** Runs `work` and returns the process CPU seconds (user + system) it took: steadier than wall time on a shared box. */
export async function cpuSeconds(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / 1000) / 1000;
}

/** Builds fixture `key` (`kind:size`) on the file named by VARGATE_BENCH_FIXTURE_FILE: a child's task. */
export async function buildFixture(key: string): Promise<unknown> {
  const [kind, size] = key.split(":");
  const builder = BUILDERS[kind ?? ""];
  if (!builder) throw new Error(`unknown fixture ${key}`);
  return builder(Number(size));
}
