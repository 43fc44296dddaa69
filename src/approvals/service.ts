import type { ActorOptions } from "../agents/service.js";
import { controlPlaneEntry } from "../audit/entries.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { VargateError } from "../errors.js";
import type { JsonValue } from "../json.js";
import type { ManagedAgentsUpstream } from "../upstream/port.js";
import { parseInput } from "../validation.js";
import {
  type DecideApprovalInput,
  decideApprovalSchema,
  type ListApprovalsQuery,
  listApprovalsQuerySchema,
} from "./schema.js";
import type { ApprovalRecord, ApprovalStatus } from "./types.js";

/** What happens once a governed call is approved: it runs (exactly once) and its result is stored. */
export type ApprovedCallRunner = (approval: ApprovalRecord) => Promise<JsonValue>;

/** An approval as the API returns it: the record plus, once it ran, the outcome. */
export type ApprovalView = ApprovalRecord;

const DENY_MESSAGE = "A reviewer rejected this tool call.";

/**
 * The approval queue: `governor.approvals`. Governed calls whose decision is `requires_human`, and built-in tools
 * the platform holds under `always_ask`, wait here for a human.
 *
 * Deciding is a compare-and-set on `pending`, so of racing approve/reject calls (from any instance) exactly one
 * wins. An approved governed call then runs exactly once: the winner of `claimExecution` runs it. An approval not
 * decided before it expires is a deny.
 */
export class Approvals {
  readonly #context: GovernorContext;
  readonly #upstream: ManagedAgentsUpstream | undefined;
  readonly #runLeaseMs: number;
  #runApproved: ApprovedCallRunner | undefined;

  constructor(
    context: GovernorContext,
    upstream: ManagedAgentsUpstream | undefined,
    options: { approvedRunLeaseMs: number },
  ) {
    this.#context = context;
    this.#upstream = upstream;
    this.#runLeaseMs = options.approvedRunLeaseMs;
  }

  /** Wired by the governor: how approved governed calls run. */
  setRunner(runner: ApprovedCallRunner): void {
    this.#runApproved = runner;
  }

  /** The tenant's approvals, newest first. Expired ones are marked before they are listed. */
  async list(tenantId: string, query: ListApprovalsQuery = {}): Promise<ApprovalView[]> {
    const filter = parseInput(listApprovalsQuerySchema, query, "query");
    await this.expireDue();
    return this.#context.storage.approvals.list(tenantId, {
      limit: filter.limit,
      ...(filter.status && { status: filter.status }),
      ...(filter.session_id && { session_id: filter.session_id }),
    });
  }

  async get(tenantId: string, actionId: string): Promise<ApprovalView> {
    const approval = await this.#context.storage.approvals.get(tenantId, actionId);
    if (!approval) throw new VargateError("APPROVAL_NOT_FOUND");
    return approval;
  }

  /**
   * Approves a pending call. A governed call then runs at once (exactly once, whoever approves concurrently) and
   * its result is returned with the approval; a built-in tool is confirmed upstream with `user.tool_confirmation`.
   */
  async approve(
    tenantId: string,
    actionId: string,
    input: DecideApprovalInput = {},
    options: ActorOptions = {},
  ): Promise<ApprovalView> {
    const body = parseInput(decideApprovalSchema, input);
    const decided = await this.#decide(tenantId, actionId, "approved", body.note ?? null, options.actor ?? "unknown");
    if (decided.kind === "builtin_tool") {
      await this.#confirmUpstream(decided, "allow");
      return decided;
    }
    return (await this.runIfApproved(decided)) ?? decided;
  }

  /** Rejects a pending call; a built-in tool is denied upstream with the note as `deny_message`. */
  async reject(
    tenantId: string,
    actionId: string,
    input: DecideApprovalInput = {},
    options: ActorOptions = {},
  ): Promise<ApprovalView> {
    const body = parseInput(decideApprovalSchema, input);
    const decided = await this.#decide(tenantId, actionId, "rejected", body.note ?? null, options.actor ?? "unknown");
    if (decided.kind === "builtin_tool") await this.#confirmUpstream(decided, "deny", body.note ?? DENY_MESSAGE);
    return decided;
  }

  /**
   * Expires every pending approval past its `expires_at` (a deny), and settles approved calls whose run was
   * claimed longer than `approvedRunLeaseMs` ago and never finished (see `#settleStaleRuns`). Returns how many
   * approvals expired.
   */
  async expireDue(): Promise<number> {
    const now = timestamp(this.#context.clock);
    const due = await this.#context.storage.approvals.listExpired(now);
    let expired = 0;
    for (const approval of due) {
      const decided = await this.#store(approval, "expired", null, "expiry").catch(() => null);
      if (!decided) continue;
      expired += 1;
      if (decided.kind === "builtin_tool")
        await this.#confirmUpstream(decided, "deny", "The approval request expired.");
    }
    await this.#settleStaleRuns();
    return expired;
  }

  /**
   * A run claimed longer ago than the lease and not done: the instance running it stopped (or the tool outran the
   * lease). Whether the call took effect is unknown, and running it again could do it twice, so it is completed
   * with that as its result, which the approval and the call's audit record then show, instead of staying
   * `claimed` for ever. A run that does finish later still sets its audit record's result.
   */
  async #settleStaleRuns(): Promise<void> {
    const { storage, clock } = this.#context;
    const claimedBefore = new Date(clock.now().getTime() - this.#runLeaseMs).toISOString();
    for (const approval of await storage.approvals.listStaleExecutions(claimedBefore)) {
      const result = {
        ok: false,
        error: `The approved call's outcome is unknown: its run did not finish within ${this.#runLeaseMs} ms (the instance running it may have stopped). It is not run again.`,
      };
      await storage.approvals.completeExecution(approval.tenant_id, approval.action_id, result);
      await storage.audit.setActionResult(approval.tenant_id, approval.action_id, result);
    }
  }

  /** Rejects every pending approval of a session (it was interrupted or ended). */
  async rejectPendingOfSession(tenantId: string, sessionId: string, reason: string): Promise<void> {
    const pending = await this.#context.storage.approvals.list(tenantId, {
      status: "pending",
      session_id: sessionId,
      limit: 1000,
    });
    for (const approval of pending) await this.#store(approval, "rejected", reason, "session_ended").catch(() => null);
  }

  /**
   * Runs an approved governed call if nobody has yet: the `claimExecution` winner runs it and stores the result.
   * Returns the approval as it stands afterwards, or `null` if it is not an approved governed call.
   */
  async runIfApproved(approval: ApprovalRecord): Promise<ApprovalRecord | null> {
    if (approval.status !== "approved" || approval.kind !== "governed_call") return null;
    const { storage } = this.#context;
    if (
      approval.execution === "none" &&
      (await storage.approvals.claimExecution(approval.tenant_id, approval.action_id, timestamp(this.#context.clock)))
    ) {
      const run = this.#runApproved;
      let result: JsonValue;
      try {
        if (!run) throw new VargateError("INTERNAL_ERROR", "No runner for approved calls");
        result = await run(approval);
      } catch (error) {
        // The claim is ours alone: leaving it unfinished would leave the call `claimed` until the lease ends.
        const failed = { ok: false, error: error instanceof Error ? error.message : String(error) };
        await storage.approvals.completeExecution(approval.tenant_id, approval.action_id, failed).catch(() => {});
        throw error;
      }
      await storage.approvals.completeExecution(approval.tenant_id, approval.action_id, result);
    }
    return storage.approvals.get(approval.tenant_id, approval.action_id);
  }

  async #decide(
    tenantId: string,
    actionId: string,
    status: "approved" | "rejected",
    note: string | null,
    actor: string,
  ): Promise<ApprovalRecord> {
    await this.expireDue();
    const approval = await this.get(tenantId, actionId);
    if (approval.status !== "pending") {
      throw new VargateError("APPROVAL_NOT_PENDING", `Approval already ${approval.status}`);
    }
    const decided = await this.#store(approval, status, note, actor);
    if (!decided) {
      const current = await this.get(tenantId, actionId);
      throw new VargateError("APPROVAL_NOT_PENDING", `Approval already ${current.status}`);
    }
    return decided;
  }

  async #store(
    approval: ApprovalRecord,
    status: Exclude<ApprovalStatus, "pending">,
    note: string | null,
    actor: string,
  ): Promise<ApprovalRecord | null> {
    const methods = { approved: "approve_action", rejected: "reject_action", expired: "expire_action" } as const;
    const audit = controlPlaneEntry(this.#context, {
      method: methods[status],
      actor,
      agent_id: approval.agent_id,
      session_id: approval.session_id,
      decision: status === "approved" ? "allow" : "deny",
      input: { action_id: approval.action_id, tool: approval.tool, input_digest: approval.input_digest, note },
    });
    audit.tool = "approval_queue";
    return this.#context.storage.approvals.decide(
      approval.tenant_id,
      approval.action_id,
      { status, decided_at: timestamp(this.#context.clock), decided_by: actor, note },
      audit,
    );
  }

  async #confirmUpstream(approval: ApprovalRecord, result: "allow" | "deny", denyMessage?: string): Promise<void> {
    const session = await this.#context.storage.sessions.get(approval.tenant_id, approval.session_id);
    if (!this.#upstream || !session?.anthropic_session_id || !approval.upstream_event_id) return;
    await this.#upstream.sendEvents(session.anthropic_session_id, [
      {
        type: "user.tool_confirmation",
        tool_use_id: approval.upstream_event_id,
        result,
        ...(result === "deny" && { deny_message: denyMessage ?? DENY_MESSAGE }),
      },
    ]);
  }
}
