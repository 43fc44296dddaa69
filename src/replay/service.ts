import * as z from "zod";
import type { ActorOptions } from "../agents/service.js";
import { canonicalJson, sha256Hex } from "../audit/chain.js";
import { controlPlaneEntry } from "../audit/entries.js";
import { parseStoredJson, parseStoredViolations, readPageRecords, scanStoredRecords } from "../audit/stored.js";
import type { StoredAuditField, StoredAuditRecord } from "../audit/types.js";
import type { GovernorContext } from "../context.js";
import { ValidationError, VargateError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { parseTenantPolicy, type TenantPolicy } from "../policy/document.js";
import { type CompiledPolicy, POLICY_EVALUATOR_VERSION } from "../policy/evaluate.js";
import type { TenantPolicies } from "../policy/service.js";
import { type InputLocation, parseInput } from "../validation.js";
import { type ReplayAgent, type ReplayChange, type ReplayVerdict, replayChange, replayDecision } from "./compare.js";

/** What a session's replay reads of each of its governed records: enough to decide whether it changed. */
const DECISION_FIELDS = ["decision", "violations", "input"] as const satisfies readonly StoredAuditField[];

/** What a session's replay reads again of a changed record, to report it. */
const CHANGE_FIELDS = ["action_id", "tool", "requested_at"] as const satisfies readonly StoredAuditField[];

type StoredDecision = Pick<StoredAuditRecord, (typeof DECISION_FIELDS)[number] | "seq">;

/** What a tenant-wide replay reads of the governed records in a window of the chain, to replay and report them. */
const TENANT_WINDOW_FIELDS = [
  ...DECISION_FIELDS,
  ...CHANGE_FIELDS,
  "session_id",
] as const satisfies readonly StoredAuditField[];

/** Largest `limit` of a tenant-wide replay. */
export const MAX_REPLAY_LIMIT = 100_000;
/** Default `limit` of a tenant-wide replay. */
export const DEFAULT_REPLAY_LIMIT = 1000;

export interface ReplayOptions extends ActorOptions {
  /**
   * A candidate tenant policy document to replay against instead of the current one (impact analysis). It is
   * validated like `PUT /managed/policy` and compiled, but never stored or activated.
   */
  policy?: unknown;
}

export interface TenantReplayOptions extends ReplayOptions {
  /** How many of the tenant's most recent governed decisions to replay. @default 1000 (at most 100000) */
  limit?: number;
}

/** Shared fields of both replay results. */
export interface ReplaySummary {
  total_replayed: number;
  consistent: number;
  changed: number;
  /** Changed decisions, oldest first. */
  changes: ReplayChange[];
  /** Extension: the stored policy version replayed against; `null` for a candidate. */
  policy_version: number | null;
  /** Extension: whether a candidate document (not the stored policy) was replayed against. */
  candidate: boolean;
  /** Extension: SHA-256 of the candidate's canonical JSON (after validation); `null` without a candidate. */
  candidate_sha256: string | null;
  /** Extension: records whose stored input could not be replayed (counted in `changed`, failing closed). */
  unreplayable: number;
  /** Extension: `POLICY_EVALUATOR_VERSION` of the evaluator that replayed. */
  evaluator_version: number;
  /** Extension: action id of the replay's own control-plane audit record. */
  audit_action_id: string;
}

/** `POST /managed/sessions/{id}/replay`: the seed's shape plus extensions. */
export interface SessionReplayResult extends ReplaySummary {
  session_id: string;
}

/** `POST /managed/replay`: the same shape across the tenant's last `limit` governed decisions. */
export interface TenantReplayResult extends ReplaySummary {
  /** Always `null`: each change names its own `session_id`. */
  session_id: null;
  tenant_id: string;
  limit: number;
}

/** Tuning of how records are read. */
export interface ReplayReadOptions {
  /** Records per round trip. @default 1000 */
  pageSize: number;
  /**
   * @deprecated Ignored: a session's replay reads only its governed records, `pageSize` at a time, however large
   * the session is. @default 10000
   */
  sessionReadAtOnce: number;
}

export const DEFAULT_REPLAY_READ_OPTIONS: ReplayReadOptions = { pageSize: 1000, sessionReadAtOnce: 10_000 };

const tenantOptionsSchema = z.object({ limit: z.number().int().min(1).max(MAX_REPLAY_LIMIT).optional() });

/**
 * Validates a candidate policy document, reporting issues under `[location, "policy", ...]` (a 422 naming the
 * field, e.g. `["body", "policy", "rules", 0, "effect"]`).
 */
export function parseCandidatePolicy(value: unknown, location: InputLocation = "options"): TenantPolicy {
  try {
    return parseTenantPolicy(value, location);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      error.issues.map((issue) => ({ ...issue, loc: [location, "policy", ...issue.loc.slice(1)] })),
    );
  }
}

interface Tally {
  total: number;
  changed: number;
  unreplayable: number;
}

interface Target {
  compiled: CompiledPolicy;
  policy_version: number | null;
  candidate: boolean;
  candidate_sha256: string | null;
}

/**
 * Replay of recorded governed decisions: `governor.replay`.
 *
 * Every `mcp_governed` record is re-evaluated from its STORED evaluation input, with the CURRENT agent config's
 * `allowed_tools`, `require_human_approval` and `version` substituted into `input.agent`, against the current
 * tenant policy or a candidate document. Time (`now`) and the per-session and per-agent counters are replayed as
 * they were. The policy is compiled once per replay; records are read page by page.
 *
 * Replay writes exactly one control-plane audit record of its own (`replay_session` / `replay_tenant`) and
 * nothing else; a candidate policy is never stored.
 */
export class Replays {
  readonly #context: GovernorContext;
  readonly #policies: TenantPolicies;
  readonly #read: ReplayReadOptions;

  constructor(deps: { context: GovernorContext; policies: TenantPolicies; read?: Partial<ReplayReadOptions> }) {
    this.#context = deps.context;
    this.#policies = deps.policies;
    this.#read = { ...DEFAULT_REPLAY_READ_OPTIONS, ...deps.read };
  }

  /**
   * Replays every governed decision of one session. `SESSION_NOT_FOUND` (404) when the session is missing or
   * another tenant's; a 422 naming `["options", "policy", ...]` for an invalid candidate (nothing is stored).
   */
  async session(tenantId: string, sessionId: string, options: ReplayOptions = {}): Promise<SessionReplayResult> {
    const target = await this.#target(tenantId, options);
    const { storage } = this.#context;
    const session = await storage.sessions.get(tenantId, sessionId);
    if (!session || session.status === "pending") throw new VargateError("SESSION_NOT_FOUND");

    const tally: Tally = { total: 0, changed: 0, unreplayable: 0 };
    const changes: ReplayChange[] = [];
    const agents = this.#agentCache(tenantId);
    const governed = { sessionId, source: "mcp_governed" } as const;
    for await (const page of this.#sessionGoverned(tenantId, governed)) {
      const verdicts = await this.#replayPage(page, target.compiled, agents, tally);
      // Only changed records are reported: only they are read again, for the fields a change names.
      const reported = await readPageRecords(
        storage.audit,
        tenantId,
        page,
        (i) => verdicts[i]?.changed === true,
        governed,
        CHANGE_FIELDS,
      );
      page.forEach((stored, i) => {
        const verdict = verdicts[i] as ReplayVerdict;
        if (!verdict.changed) return;
        const record = reported.get(stored.seq);
        if (!record) throw new Error(`replay: audit record ${stored.seq} could not be read again`);
        changes.push(replayChange({ ...record, session_id: sessionId, decision: stored.decision }, verdict));
      });
    }
    const audit = await this.#audit(tenantId, "replay_session", target, tally, options, {
      session_id: sessionId,
      agent_id: session.agent_id,
    });
    return { session_id: sessionId, ...this.#summary(tally, changes, target, audit) };
  }

  /**
   * "Which of the last `limit` governed decisions would change under this policy?": replays the tenant's most
   * recent `limit` governed records (across sessions) and reports changes oldest first. Reads the chain backwards
   * from its head a page at a time, so only the changes are held in memory.
   */
  async tenant(tenantId: string, options: TenantReplayOptions = {}): Promise<TenantReplayResult> {
    const limit = parseInput(tenantOptionsSchema, { limit: options.limit }, "options").limit ?? DEFAULT_REPLAY_LIMIT;
    const target = await this.#target(tenantId, options);
    const { storage } = this.#context;
    if (!(await storage.tenants.get(tenantId))) throw new VargateError("TENANT_NOT_FOUND");

    const tally: Tally = { total: 0, changed: 0, unreplayable: 0 };
    const windows: ReplayChange[][] = [];
    const agents = this.#agentCache(tenantId);
    const head = await storage.audit.head(tenantId);
    let high = head.seq;
    let remaining = limit;
    while (high > 0 && remaining > 0) {
      const low = Math.max(0, high - this.#read.pageSize);
      // The window's governed records, as stored text. (A storage that ignores `throughSeq` reads past the
      // window's end: those records are dropped here and replayed with their own window.)
      const page = await scanStoredRecords(storage.audit, tenantId, {
        afterSeq: low,
        throughSeq: high,
        limit: high - low,
        source: "mcp_governed",
        fields: TENANT_WINDOW_FIELDS,
      });
      const governed = page.filter((record) => record.seq <= high);
      const taken = governed.length > remaining ? governed.slice(governed.length - remaining) : governed;
      const verdicts = await this.#replayPage(taken, target.compiled, agents, tally);
      const changes: ReplayChange[] = [];
      taken.forEach((record, i) => {
        const verdict = verdicts[i] as ReplayVerdict;
        if (verdict.changed) changes.push(replayChange(record, verdict));
      });
      if (changes.length > 0) windows.push(changes);
      remaining -= taken.length;
      high = low;
    }
    const changes = windows.reverse().flat();
    const audit = await this.#audit(tenantId, "replay_tenant", target, tally, options, { limit });
    return { session_id: null, tenant_id: tenantId, limit, ...this.#summary(tally, changes, target, audit) };
  }

  async #target(tenantId: string, options: ReplayOptions): Promise<Target> {
    if (options.policy !== undefined) {
      const document = parseCandidatePolicy(options.policy, "options");
      return {
        compiled: this.#policies.compile(document, null).compiled,
        policy_version: null,
        candidate: true,
        candidate_sha256: sha256Hex(canonicalJson(document)),
      };
    }
    const active = await this.#policies.active(tenantId);
    return { compiled: active.compiled, policy_version: active.version ?? 0, candidate: false, candidate_sha256: null };
  }

  /** Replays a page of stored governed records, counting them in `tally`: each one's verdict, in page order. */
  async #replayPage(
    page: readonly StoredDecision[],
    compiled: CompiledPolicy,
    agents: AgentCache,
    tally: Tally,
  ): Promise<ReplayVerdict[]> {
    const inputs = page.map((record) => parseStoredJson(record.input));
    await agents.load(inputs);
    return page.map((record, i) => {
      const verdict = replayDecision(
        {
          decision: record.decision,
          violations: parseStoredViolations(record.violations) as string[],
          input: inputs[i] as JsonValue,
        },
        compiled,
        agents.get,
      );
      tally.total += 1;
      if (verdict.unreplayable) tally.unreplayable += 1;
      if (verdict.changed) tally.changed += 1;
      return verdict;
    });
  }

  /**
   * The session's governed records in chain order, a page at a time, up to the chain head when the replay starts,
   * so calls made while the replay runs are left out consistently. Only the session's governed records are read
   * (`filter`, which the changed ones are read again with), and only the fields replay needs.
   */
  async *#sessionGoverned(
    tenantId: string,
    filter: { sessionId: string; source: "mcp_governed" },
  ): AsyncGenerator<StoredDecision[]> {
    const { storage } = this.#context;
    const throughSeq = (await storage.audit.head(tenantId)).seq;
    // A page at a time, so memory stays bounded by a page (larger pages cost more in garbage collection).
    const limit = this.#read.pageSize;
    let afterSeq = 0;
    for (;;) {
      const page = await scanStoredRecords(storage.audit, tenantId, {
        afterSeq,
        throughSeq,
        limit,
        ...filter,
        fields: DECISION_FIELDS,
      });
      if (page.length > 0) yield page;
      if (page.length < limit) return;
      afterSeq = (page[page.length - 1] as (typeof page)[number]).seq;
    }
  }

  /** Agent configs by id, read once per replay. */
  #agentCache(tenantId: string): AgentCache {
    const configs = new Map<string, ReplayAgent | null>();
    const { storage } = this.#context;
    return {
      get: (agentId) => configs.get(agentId) ?? null,
      load: async (inputs) => {
        for (const input of inputs) {
          const agentId = agentIdOf(input);
          if (agentId === null || configs.has(agentId)) continue;
          configs.set(agentId, await storage.agents.get(tenantId, agentId));
        }
      },
    };
  }

  async #audit(
    tenantId: string,
    method: "replay_session" | "replay_tenant",
    target: Target,
    tally: Tally,
    options: ReplayOptions,
    scope: { session_id?: string; agent_id?: string; limit?: number },
  ): Promise<string> {
    const input: JsonObject = {
      ...(scope.session_id !== undefined && { session_id: scope.session_id }),
      ...(scope.limit !== undefined && { limit: scope.limit }),
      total_replayed: tally.total,
      changed: tally.changed,
      candidate: target.candidate,
      policy_version: target.policy_version,
      ...(target.candidate_sha256 !== null && { candidate_sha256: target.candidate_sha256 }),
    };
    const entry = controlPlaneEntry(this.#context, {
      method,
      actor: options.actor,
      session_id: scope.session_id ?? null,
      agent_id: scope.agent_id ?? null,
      input,
    });
    entry.policy_version = target.policy_version;
    await this.#context.storage.audit.append(tenantId, [entry]);
    return entry.action_id;
  }

  #summary(tally: Tally, changes: ReplayChange[], target: Target, auditActionId: string): ReplaySummary {
    return {
      total_replayed: tally.total,
      consistent: tally.total - tally.changed,
      changed: tally.changed,
      changes,
      policy_version: target.policy_version,
      candidate: target.candidate,
      candidate_sha256: target.candidate_sha256,
      unreplayable: tally.unreplayable,
      evaluator_version: POLICY_EVALUATOR_VERSION,
      audit_action_id: auditActionId,
    };
  }
}

interface AgentCache {
  get(agentId: string): ReplayAgent | null;
  /** Reads the configs of the agents these stored inputs were decided for, those not read yet. */
  load(inputs: readonly unknown[]): Promise<void>;
}

/** The agent a stored input was decided for (`agent.id`); only a replayable input is evaluated, and it has one. */
function agentIdOf(input: unknown): string | null {
  const id = typeof input === "object" && input !== null ? (input as { agent?: { id?: unknown } }).agent?.id : null;
  return typeof id === "string" ? id : null;
}
