import {
  type AnomalyHit,
  detectAnomalies,
  interruptReason,
  maxHitSeverity,
  nextAnomalyScore,
  shouldInterrupt,
} from "../anomaly/index.js";
import type { ApprovalRecord } from "../approvals/types.js";
import { parseStoredViolations, scanStoredRecords } from "../audit/stored.js";
import type { AuditEntry } from "../audit/types.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { callDigest } from "../governed/digest.js";
import type { JsonValue } from "../json.js";
import type { TenantPolicies } from "../policy/service.js";
import { GOVERNOR_MCP_SERVER_NAME } from "../sessions/attachment.js";
import type { SessionRecord } from "../sessions/types.js";
import type { UpstreamEvent } from "../upstream/port.js";
import { interpretEvent } from "./observe.js";

/** The finding recorded when a governed tool was used on the stream without a governed decision. */
export const UNMATCHED_GOVERNED_USE = "governed_call_without_decision";

/** A use of the governor's own MCP tools seen on the stream. */
type GovernedUse = { tool: string; input: JsonValue };

// Observed records per read when a sink rebuilds its state from storage.
const INITIALISE_PAGE = 1000;

/** What the sink needs from the rest of the governor. */
export interface EventSinkDeps {
  context: GovernorContext;
  policies: TenantPolicies;
  /** How long a built-in tool's approval may wait. */
  approvalTtlMs: number;
  /** The upstream session ended on its own. */
  onSessionEnded(session: SessionRecord, status: "completed" | "failed", reason: string): Promise<void>;
  /** The anomaly score crossed the threshold: interrupt with `auto_triggered`. */
  onAnomalyThreshold(session: SessionRecord, reason: string): Promise<void>;
}

/** Observed tool uses waiting for one `appendEvents`, and the results already seen for them, by event id. */
interface PendingUses {
  list: { entry: AuditEntry; event: UpstreamEvent }[];
  ids: Set<string>;
  results: Map<string, JsonValue>;
}

/**
 * Turns one session's upstream events into governance: observed records (with anomaly findings), approvals for
 * built-in tools held under `always_ask`, a check that every call of the governor's own MCP tools has a governed
 * decision, and the session's end. One sink per consumer; its anomaly score is rebuilt from storage after a restart.
 */
export class SessionEventSink {
  readonly #deps: EventSinkDeps;
  readonly #session: SessionRecord;
  #anomalyScore = 0;
  // Uses of our own MCP tools seen on the stream, waiting for their result to be matched to a governed record.
  readonly #governedUses = new Map<string, GovernedUse>();
  // Per tool, how many of its governed records have been matched to a use seen on the stream.
  readonly #matchedUses = new Map<string, number>();
  // Uses recorded as having no decision (their event ids), read from storage by #initialise.
  readonly #unmatchedUses = new Set<string>();
  // Set once the state is read from storage; a read that fails is tried again by the next batch.
  #initialised: Promise<void> | undefined;

  constructor(session: SessionRecord, deps: EventSinkDeps) {
    this.#session = session;
    this.#deps = deps;
  }

  /**
   * Handles events in stream order, with the same effect as handling them one by one, but with one chain append
   * for a run of observed tool uses instead of one per use. Stops at the first event after which the consumer
   * must stop (the session ended, or the anomaly score crossed the threshold); `handled` counts the events
   * handled up to and including it, so the caller advances its cursor over exactly those.
   */
  async handleBatch(events: readonly UpstreamEvent[]): Promise<{ stop: boolean; handled: number }> {
    await this.#initialise();
    const { clock } = this.#deps.context;
    const tenantId = this.#session.tenant_id;
    // Observed tool uses waiting for one appendEvents, and results waiting for their records to be stored.
    const uses: PendingUses = { list: [], ids: new Set(), results: new Map() };
    const results: { toolUseEventId: string; result: JsonValue }[] = [];
    const batched = new Set<string>();
    let policy: Awaited<ReturnType<TenantPolicies["active"]>> | undefined;

    for (let index = 0; index < events.length; index++) {
      const event = events[index] as UpstreamEvent;
      const handled = index + 1;
      const governedUse = this.#governedUse(event);
      if (governedUse) {
        this.#governedUses.set(event.id, governedUse);
        continue;
      }
      const resulted = takeResultedUse(event, this.#governedUses);
      if (resulted) {
        // Its finding (if any) goes on the chain after the uses before it.
        await this.#flush(uses, results);
        if (await this.#matchGovernedUse(resulted.useId, resulted.use)) return { stop: true, handled };
        continue;
      }

      const meaning = interpretEvent(event, this.#session, timestamp(clock));
      switch (meaning.kind) {
        case "tool_use": {
          // The same event twice in one batch would be two inserts of one event id: the first one counts.
          if (batched.has(event.id)) break;
          batched.add(event.id);
          policy ??= await this.#deps.policies.active(tenantId);
          const hits = detectAnomalies(meaning.entry.tool, meaning.entry.input, policy.anomalies);
          const entry: AuditEntry = {
            ...meaning.entry,
            action_id: this.#deps.context.ids.actionId(),
            severity: maxHitSeverity(hits),
            violations: hits.map((hit) => hit.rule),
          };
          uses.list.push({ entry, event });
          uses.ids.add(event.id);
          // A finding may interrupt the session: nothing after it may be recorded before the score is raised.
          if (hits.length > 0) {
            const stored = await this.#flush(uses, results);
            if (stored.has(entry.event_id as string) && (await this.#raiseScore(hits, policy.anomalyThreshold))) {
              return { stop: true, handled };
            }
          }
          break;
        }
        case "tool_result":
          // The result of a use not yet stored is stored with it: one insert instead of an insert and an update.
          if (uses.ids.has(meaning.toolUseEventId)) {
            uses.results.set(meaning.toolUseEventId, meaning.result);
          } else {
            results.push({ toolUseEventId: meaning.toolUseEventId, result: meaning.result });
          }
          break;
        case "session_ended":
          await this.#flush(uses, results);
          await this.#deps.onSessionEnded(this.#session, meaning.status, meaning.reason);
          return { stop: true, handled };
        default:
          break;
      }
    }
    await this.#flush(uses, results);
    return { stop: false, handled: events.length };
  }

  /**
   * Appends the waiting observed records in one transaction, opens approvals for the newly stored ones held under
   * `always_ask`, then joins the waiting results. Returns the event ids stored now (a re-read stores nothing).
   */
  async #flush(uses: PendingUses, results: { toolUseEventId: string; result: JsonValue }[]): Promise<Set<string>> {
    const { storage } = this.#deps.context;
    const tenantId = this.#session.tenant_id;
    const stored = new Set<string>();
    if (uses.list.length > 0) {
      // Uses held under `always_ask` open an approval, stored with their record. Only the first reading of an event
      // stores it; a re-read after a reconnect is a no-op.
      const approvals = new Map<string, ApprovalRecord>();
      for (const { entry, event } of uses.list) {
        if (event.type === "agent.tool_use" && event.evaluated_permission === "ask") {
          approvals.set(event.id, this.#builtinApproval(entry, event));
        }
      }
      const records = await storage.audit.appendEvents(
        tenantId,
        uses.list.map((use) => use.entry),
        { results: uses.results, approvals },
      );
      for (const record of records) if (record.event_id) stored.add(record.event_id);
      // Results of uses stored before (a re-read) still go to their records.
      for (const [toolUseEventId, result] of uses.results) {
        if (!stored.has(toolUseEventId)) results.push({ toolUseEventId, result });
      }
      uses.list.length = 0;
      uses.ids.clear();
      uses.results.clear();
    }
    // At once, so that the storage can commit them together rather than one commit each.
    await Promise.all(
      results.map(({ toolUseEventId, result }) =>
        storage.audit.setResult(tenantId, this.#session.id, toolUseEventId, result),
      ),
    );
    results.length = 0;
    return stored;
  }

  async #raiseScore(hits: AnomalyHit[], threshold: number): Promise<boolean> {
    this.#anomalyScore = nextAnomalyScore(this.#anomalyScore, hits);
    if (!shouldInterrupt(this.#anomalyScore, threshold)) return false;
    await this.#deps.onAnomalyThreshold(this.#session, interruptReason(hits, { score: this.#anomalyScore, threshold }));
    return true;
  }

  /**
   * Matches a use of a governed tool seen on the stream to the governed record of the MCP call, in order. A use
   * with no decision (the call never reached the governor) is recorded as an observed finding.
   */
  async #matchGovernedUse(eventId: string, use: GovernedUse): Promise<boolean> {
    const { storage, ids, clock } = this.#deps.context;
    // Uses and governed records of a tool pair up in order; the inputs may differ (the governor stores what the
    // tool's schema parsed), so only the count decides: a use beyond the tool's governed records had no decision.
    const governed = await storage.audit.countByTool(this.#session.tenant_id, {
      source: "mcp_governed",
      session_id: this.#session.id,
    });
    const matched = this.#matchedUses.get(use.tool) ?? 0;
    if (matched < (governed[use.tool] ?? 0)) {
      this.#matchedUses.set(use.tool, matched + 1);
      return false;
    }
    await storage.audit.appendEvents(this.#session.tenant_id, [
      {
        action_id: ids.actionId(),
        session_id: this.#session.id,
        agent_id: this.#session.agent_id,
        event_id: eventId,
        actor: null,
        source: "mcp_observed",
        tool: use.tool,
        method: "mcp_call",
        decision: "observed",
        severity: "high",
        violations: [UNMATCHED_GOVERNED_USE],
        input: use.input,
        policy_version: null,
        requested_at: timestamp(clock),
      },
    ]);
    // A call that bypassed the governor counts towards the anomaly score like any other finding.
    const policy = await this.#deps.policies.active(this.#session.tenant_id);
    return this.#raiseScore(
      [{ rule: UNMATCHED_GOVERNED_USE, severity: "high", detail: `${use.tool} was used without a decision` }],
      policy.anomalyThreshold,
    );
  }

  #builtinApproval(entry: AuditEntry, event: UpstreamEvent): ApprovalRecord {
    const requestedAt = this.#deps.context.clock.now();
    return {
      action_id: entry.action_id,
      tenant_id: this.#session.tenant_id,
      session_id: this.#session.id,
      agent_id: this.#session.agent_id,
      kind: "builtin_tool",
      tool: entry.tool,
      input: entry.input,
      input_digest: callDigest(entry.tool, entry.input),
      upstream_event_id: event.id,
      status: "pending",
      requested_at: requestedAt.toISOString(),
      expires_at: new Date(requestedAt.getTime() + this.#deps.approvalTtlMs).toISOString(),
      decided_at: null,
      decided_by: null,
      note: null,
      execution: "none",
      result: null,
    };
  }

  /**
   * After a restart or a takeover, before the first batch: pairs again the uses of governed tools in `history` (the
   * session's events from the start) that came before `cursor`, so that pairing goes on where it stopped instead of
   * from zero. Events at the cursor are read again by the consumer and paired then. A use whose result comes after
   * the cursor waits for it, as it did before the restart.
   */
  async resumePairing(history: AsyncIterable<UpstreamEvent>, cursor: string): Promise<void> {
    await this.#initialise();
    // Counted aside and applied at the end: a read that fails half way is tried again from the start.
    const paired = new Map<string, number>();
    const waiting = new Map<string, GovernedUse>();
    for await (const event of history) {
      if (!event.processed_at) continue;
      if (event.processed_at >= cursor) break;
      const use = this.#governedUse(event);
      if (use) {
        waiting.set(event.id, use);
        continue;
      }
      const resulted = takeResultedUse(event, waiting);
      // A use that was recorded as having no decision took no governed record.
      if (!resulted || this.#unmatchedUses.has(resulted.useId)) continue;
      paired.set(resulted.use.tool, (paired.get(resulted.use.tool) ?? 0) + 1);
    }
    for (const [tool, count] of paired) this.#matchedUses.set(tool, (this.#matchedUses.get(tool) ?? 0) + count);
    for (const [id, use] of waiting) this.#governedUses.set(id, use);
  }

  /** The tool and input of a use of the governor's own MCP tools, or `undefined` for any other event. */
  #governedUse(event: UpstreamEvent): GovernedUse | undefined {
    if (event.type !== "agent.mcp_tool_use" || event.mcp_server_name !== GOVERNOR_MCP_SERVER_NAME) return undefined;
    return { tool: String(event.name), input: (event.input ?? {}) as JsonValue };
  }

  // After a restart the anomaly score is rebuilt from the session's observed records, and so are the uses
  // recorded as having no decision; the consumer then counts the paired uses again (`resumePairing`). Read in
  // pages of the columns needed: a long session does not have to fit in memory, and none of it is left out.
  #initialise(): Promise<void> {
    this.#initialised ??= this.#readStoredState().catch((error: unknown) => {
      this.#initialised = undefined;
      throw error;
    });
    return this.#initialised;
  }

  async #readStoredState(): Promise<void> {
    const { storage } = this.#deps.context;
    // Applied only once every page is read: a read that fails half way leaves nothing half counted.
    let score = 0;
    const unmatched: string[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await scanStoredRecords(storage.audit, this.#session.tenant_id, {
        afterSeq,
        limit: INITIALISE_PAGE,
        sessionId: this.#session.id,
        source: "mcp_observed",
        fields: ["event_id", "violations", "severity"],
      });
      for (const record of page) {
        // Most observed records have none; text that does not parse (edited by hand) names no rule.
        const violations = parseStoredViolations(record.violations);
        if (!Array.isArray(violations) || violations.length === 0) continue;
        const rules = violations.map(String);
        if (record.event_id && rules.includes(UNMATCHED_GOVERNED_USE)) unmatched.push(record.event_id);
        if (record.severity !== "none") {
          const severity = record.severity as AnomalyHit["severity"];
          score = nextAnomalyScore(
            score,
            rules.map((rule) => ({ rule, severity, detail: "" })),
          );
        }
      }
      const last = page.at(-1);
      if (!last || page.length < INITIALISE_PAGE) break;
      afterSeq = last.seq;
    }
    this.#anomalyScore = score;
    for (const eventId of unmatched) this.#unmatchedUses.add(eventId);
  }
}

/**
 * The use in `uses` whose result `event` is, taken out of `uses`; `undefined` when `event` is not the result of one
 * of them.
 */
function takeResultedUse<Use>(event: UpstreamEvent, uses: Map<string, Use>): { useId: string; use: Use } | undefined {
  if (event.type !== "agent.mcp_tool_result" || typeof event.mcp_tool_use_id !== "string") return undefined;
  const useId = event.mcp_tool_use_id;
  const use = uses.get(useId);
  if (use === undefined) return undefined;
  uses.delete(useId);
  return { useId, use };
}
