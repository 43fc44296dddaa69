import { describe, expect, it } from "vitest";
import { isVargateError } from "../../errors.js";
import type { SessionRecord } from "../../sessions/types.js";
import {
  at,
  entry,
  expectLimit,
  failure,
  limits,
  type SuiteContext,
  sessionRecord,
  UNICODE,
  uid,
  upstreamIds,
  verify,
} from "./fixtures.js";

const ending = (status: "completed" | "interrupted" | "failed" = "completed", second = 100) => ({
  status,
  ended_at: at(second),
  end_reason: status === "completed" ? null : `reason: ${status}`,
});

/** Sessions: reservations under limits (and their races), activation and ending with audit, reads. */
export function describeSessions(ctx: SuiteContext): void {
  const { newTenant } = ctx;

  /** Reserves and activates `session`; returns it active. */
  async function active(session: SessionRecord): Promise<SessionRecord> {
    const storage = ctx.storage();
    await storage.sessions.reserve(session, limits());
    const activated = await storage.sessions.activate(session.tenant_id, session.id, upstreamIds(), entry());
    if (!activated) throw new Error("expected the session to activate");
    return activated;
  }

  describe(`sessions (${ctx.name})`, () => {
    it("reserves a pending session and reads it back exactly; other tenants never see it", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const session = sessionRecord(id, {
        agent_version: 7,
        metadata: { [UNICODE]: UNICODE, empty: "", quote: '"\\' },
        max_session_hours: 0.25,
        created_at: "2025-03-01T10:00:00.123456+01:00",
      });
      await storage.sessions.reserve(session, limits());
      expect(await storage.sessions.get(id, session.id)).toEqual(session);
      const { id: other } = await newTenant();
      expect(await storage.sessions.get(other, session.id)).toBeNull();
      expect(await storage.sessions.get(id, uid("vs"))).toBeNull();
      expect(await storage.sessions.list(other, { limit: 10 })).toEqual([]);
      // Reserving writes no audit record: the creation is audited on activation.
      expect((await storage.audit.head(id)).seq).toBe(1);
    });

    it("refuses a reservation for a tenant that does not exist with TENANT_NOT_FOUND", async () => {
      const error = await ctx
        .storage()
        .sessions.reserve(sessionRecord("t-missing-tenant"), limits({}))
        .catch((e: unknown) => e);
      expect(isVargateError(error, "TENANT_NOT_FOUND")).toBe(true);
    });

    it("refuses over a limit with SESSION_LIMIT_EXCEEDED naming the limit and the count, storing nothing", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      for (let i = 0; i < 10; i += 1) await storage.sessions.reserve(sessionRecord(id), limits({ maxConcurrent: 10 }));
      const refused = sessionRecord(id);
      await expectLimit(
        storage.sessions.reserve(refused, limits({ maxConcurrent: 10 })),
        "Max concurrent sessions exceeded (10/10)",
      );
      await expectLimit(
        storage.sessions.reserve(refused, limits({ maxDaily: 4 })),
        "Max daily sessions exceeded (10/4)",
      );
      await expectLimit(
        storage.sessions.reserve(refused, limits({ agentMaxDaily: 10 })),
        "Agent daily session limit exceeded (10/10)",
      );
      expect(await storage.sessions.get(id, refused.id)).toBeNull();
      expect(await storage.sessions.findByMcpTokenHash(refused.mcp_token_hash)).toBeNull();
      expect(await storage.sessions.list(id, { limit: 100 })).toHaveLength(10);
    });

    it("lets exactly K of 20 racing reservations in, against a free capacity of K", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const tight = limits({ maxConcurrent: 10 });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => storage.sessions.reserve(sessionRecord(id), tight)),
      );
      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(10);
      for (const result of results) {
        if (result.status === "fulfilled") continue;
        expect(isVargateError(result.reason, "SESSION_LIMIT_EXCEEDED")).toBe(true);
        expect((result.reason as Error).message).toBe("Max concurrent sessions exceeded (10/10)");
      }
      expect(await storage.sessions.list(id, { limit: 100 })).toHaveLength(10);

      // With 3 of 10 slots taken by another round (active sessions count too), K is 7.
      const { id: second } = await newTenant();
      for (let i = 0; i < 3; i += 1) await active(sessionRecord(second));
      const more = await Promise.allSettled(
        Array.from({ length: 20 }, () => storage.sessions.reserve(sessionRecord(second), tight)),
      );
      expect(more.filter((result) => result.status === "fulfilled")).toHaveLength(7);
      expect(await storage.sessions.list(second, { limit: 100 })).toHaveLength(10);
    });

    it("lets exactly K racing reservations in against the daily and the agent's daily limit", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const daily = await Promise.allSettled(
        Array.from({ length: 12 }, () => storage.sessions.reserve(sessionRecord(id), limits({ maxDaily: 5 }))),
      );
      expect(daily.filter((result) => result.status === "fulfilled")).toHaveLength(5);
      const { id: second } = await newTenant();
      const agent = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          storage.sessions.reserve(
            sessionRecord(second, { agent_id: i % 2 === 0 ? "agent-even" : "agent-odd" }),
            limits({ agentMaxDaily: 4 }),
          ),
        ),
      );
      expect(agent.filter((result) => result.status === "fulfilled")).toHaveLength(8);
      const agents = (await storage.sessions.list(second, { limit: 100 })).map((session) => session.agent_id);
      expect(agents.filter((agentId) => agentId === "agent-even")).toHaveLength(4);
    });

    it("counts pending and active sessions as concurrent, not ended ones", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const two = limits({ maxConcurrent: 2 });
      const ended = await active(sessionRecord(id));
      await storage.sessions.reserve(sessionRecord(id), two);
      await expectLimit(storage.sessions.reserve(sessionRecord(id), two), "Max concurrent sessions exceeded (2/2)");
      await storage.sessions.end(id, ended.id, ending("interrupted"), entry());
      await storage.sessions.reserve(sessionRecord(id), two);
      await expectLimit(storage.sessions.reserve(sessionRecord(id), two), "Max concurrent sessions exceeded (2/2)");
      // Another tenant's sessions are not counted.
      const { id: other } = await newTenant();
      await storage.sessions.reserve(sessionRecord(other), two);
    });

    it("counts only sessions created at or after windowStart toward the daily limits, ended ones included", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const early = limits({ windowStart: at(0) });
      // Before the window: not counted.
      for (const second of [1, 5, 9])
        await storage.sessions.reserve(sessionRecord(id, { created_at: at(second) }), early);
      const window = limits({ windowStart: at(10), maxDaily: 3 });
      const first = sessionRecord(id, { created_at: at(10) });
      await storage.sessions.reserve(first, window);
      await storage.sessions.reserve(sessionRecord(id, { created_at: at(30) }), window);
      await storage.sessions.reserve(sessionRecord(id, { created_at: at(31) }), window);
      await expectLimit(
        storage.sessions.reserve(sessionRecord(id, { created_at: at(32) }), window),
        "Max daily sessions exceeded (3/3)",
      );
      // Ending a session frees a concurrent slot, not a daily one.
      await storage.sessions.activate(id, first.id, upstreamIds(), entry());
      await storage.sessions.end(id, first.id, ending(), entry());
      await expectLimit(
        storage.sessions.reserve(sessionRecord(id, { created_at: at(32) }), window),
        "Max daily sessions exceeded (3/3)",
      );
      // A later window leaves the session at its start behind (at(10) < at(11)).
      await storage.sessions.reserve(sessionRecord(id), limits({ windowStart: at(11), maxDaily: 3 }));
    });

    it("applies the agent's daily limit to that agent only, after the tenant's limits", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const agentLimit = limits({ agentMaxDaily: 2, windowStart: at(10) });
      await storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-a", created_at: at(5) }), limits());
      await storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-a", created_at: at(10) }), agentLimit);
      await storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-a", created_at: at(20) }), agentLimit);
      await expectLimit(
        storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-a" }), agentLimit),
        "Agent daily session limit exceeded (2/2)",
      );
      await storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-b", created_at: at(30) }), agentLimit);
      // The concurrent limit is checked first, then the daily one.
      await expectLimit(
        storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-a" }), { ...agentLimit, maxConcurrent: 4 }),
        "Max concurrent sessions exceeded (4/4)",
      );
      await expectLimit(
        storage.sessions.reserve(sessionRecord(id, { agent_id: "agent-a" }), { ...agentLimit, maxDaily: 3 }),
        "Max daily sessions exceeded (3/3)",
      );
    });

    it("release deletes a pending session and frees its slot; active and foreign sessions stay", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const one = limits({ maxConcurrent: 1 });
      const pending = sessionRecord(id);
      await storage.sessions.reserve(pending, one);
      await expectLimit(storage.sessions.reserve(sessionRecord(id), one), "Max concurrent sessions exceeded (1/1)");
      const { id: other } = await newTenant();
      await storage.sessions.release(other, pending.id);
      expect(await storage.sessions.get(id, pending.id)).toEqual(pending);
      await storage.sessions.release(id, pending.id);
      expect(await storage.sessions.get(id, pending.id)).toBeNull();
      expect(await storage.sessions.findByMcpTokenHash(pending.mcp_token_hash)).toBeNull();
      await storage.sessions.release(id, pending.id);

      const running = sessionRecord(id);
      await storage.sessions.reserve(running, one);
      await storage.sessions.activate(id, running.id, upstreamIds(), entry());
      await storage.sessions.release(id, running.id);
      expect((await storage.sessions.get(id, running.id))?.status).toBe("active");
      await expectLimit(storage.sessions.reserve(sessionRecord(id), one), "Max concurrent sessions exceeded (1/1)");
    });

    it("activates a pending session with its upstream ids and its audit record, once", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const session = sessionRecord(id);
      await storage.sessions.reserve(session, limits());
      const upstream = upstreamIds();
      const audit = entry({ session_id: session.id, method: "create_session", input: { agent_id: session.agent_id } });
      const activated = await storage.sessions.activate(id, session.id, upstream, audit);
      expect(activated).toEqual({ ...session, ...upstream, status: "active" });
      expect(await storage.sessions.get(id, session.id)).toEqual(activated);
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ ...audit, seq: 2 });

      const again = entry();
      expect(await storage.sessions.activate(id, session.id, upstreamIds(), again)).toBeNull();
      expect(await storage.sessions.activate(id, uid("vs"), upstreamIds(), again)).toBeNull();
      const { id: other } = await newTenant();
      const foreign = sessionRecord(other);
      await storage.sessions.reserve(foreign, limits());
      expect(await storage.sessions.activate(id, foreign.id, upstreamIds(), again)).toBeNull();
      expect((await storage.sessions.get(other, foreign.id))?.status).toBe("pending");
      expect(await storage.audit.get(id, again.action_id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(2);
      expect(await storage.sessions.get(id, session.id)).toEqual(activated);
    });

    it("lets exactly one of racing activations win, with one audit record", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const session = sessionRecord(id);
      await storage.sessions.reserve(session, limits());
      const results = await Promise.all(
        Array.from({ length: 10 }, () => storage.sessions.activate(id, session.id, upstreamIds(), entry())),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect(await storage.sessions.get(id, session.id)).toEqual(winners[0]);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 2 });
    });

    it("ends an active session once, with its audit record; a second end returns null and audits nothing", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const session = await active(sessionRecord(id));
      const audit = entry({ session_id: session.id, method: "interrupt_session" });
      const end = ending("interrupted", 200);
      const ended = await storage.sessions.end(id, session.id, end, audit);
      expect(ended).toEqual({ ...session, ...end });
      expect(await storage.sessions.get(id, session.id)).toEqual(ended);
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 3, method: "interrupt_session" });

      const again = entry();
      expect(await storage.sessions.end(id, session.id, ending("completed", 300), again)).toBeNull();
      expect(await storage.audit.get(id, again.action_id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(3);
      expect(await storage.sessions.get(id, session.id)).toEqual(ended);

      // Only active sessions end: not a pending one, not a missing one, not another tenant's.
      const pending = sessionRecord(id);
      await storage.sessions.reserve(pending, limits());
      expect(await storage.sessions.end(id, pending.id, ending(), again)).toBeNull();
      expect(await storage.sessions.end(id, uid("vs"), ending(), again)).toBeNull();
      const { id: other } = await newTenant();
      expect(await storage.sessions.end(other, session.id, ending(), again)).toBeNull();
      expect((await storage.sessions.get(id, pending.id))?.status).toBe("pending");
      expect((await storage.audit.head(id)).seq).toBe(3);
    });

    it("lets exactly one of racing ends win; the stored session is the winner's", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const session = await active(sessionRecord(id));
      const statuses = ["completed", "interrupted", "failed"] as const;
      const results = await Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          storage.sessions.end(id, session.id, ending(statuses[i % 3], 100 + i), entry()),
        ),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect(await storage.sessions.get(id, session.id)).toEqual(winners[0]);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 3 });
    });

    it("changes no session when its audit record cannot be written", async () => {
      const storage = ctx.storage();
      const { id, audit } = await newTenant();
      const session = sessionRecord(id);
      await storage.sessions.reserve(session, limits());
      await failure(storage.sessions.activate(id, session.id, upstreamIds(), { ...audit }));
      expect(await storage.sessions.get(id, session.id)).toEqual(session);
      const running = await storage.sessions.activate(id, session.id, upstreamIds(), entry());
      await failure(storage.sessions.end(id, session.id, ending(), { ...audit }));
      expect(await storage.sessions.get(id, session.id)).toEqual(running);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 2 });
    });

    it("finds a session by its MCP token hash, in any tenant", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const mine = sessionRecord(id);
      const theirs = sessionRecord(other);
      await storage.sessions.reserve(mine, limits());
      await storage.sessions.reserve(theirs, limits());
      expect(await storage.sessions.findByMcpTokenHash(mine.mcp_token_hash)).toEqual(mine);
      expect(await storage.sessions.findByMcpTokenHash(theirs.mcp_token_hash)).toEqual(theirs);
      const running = await storage.sessions.activate(other, theirs.id, upstreamIds(), entry());
      expect(await storage.sessions.findByMcpTokenHash(theirs.mcp_token_hash)).toEqual(running);
      expect(await storage.sessions.findByMcpTokenHash("0".repeat(64))).toBeNull();
    });

    it("lists a tenant's sessions newest first (ties by id, descending), filtered by status and agent", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const specs = [
        { second: 3, agent_id: "agent-a" },
        { second: 7, agent_id: "agent-b" },
        { second: 7, agent_id: "agent-a" },
        { second: 1, agent_id: "agent-b" },
        { second: 5, agent_id: "agent-a" },
      ];
      const made = specs.map(({ second, agent_id }, i) =>
        sessionRecord(id, { id: `vs-${i}${uid("")}`, agent_id, created_at: at(second) }),
      );
      for (const session of made) await storage.sessions.reserve(session, limits());
      await storage.sessions.reserve(sessionRecord(other, { agent_id: "agent-a", created_at: at(9) }), limits());
      const [s0, s1, s2, s3, s4] = made as [SessionRecord, SessionRecord, SessionRecord, SessionRecord, SessionRecord];
      const a1 = await storage.sessions.activate(id, s1.id, upstreamIds(), entry());
      const a4 = await storage.sessions.activate(id, s4.id, upstreamIds(), entry());
      await storage.sessions.activate(id, s0.id, upstreamIds(), entry());
      const e0 = await storage.sessions.end(id, s0.id, ending("completed"), entry());

      expect(await storage.sessions.list(id, { limit: 100 })).toEqual([s2, a1, a4, e0, s3]);
      expect(await storage.sessions.list(id, { limit: 2 })).toEqual([s2, a1]);
      expect(await storage.sessions.list(id, { status: "active", limit: 100 })).toEqual([a1, a4]);
      expect(await storage.sessions.list(id, { status: "pending", limit: 100 })).toEqual([s2, s3]);
      expect(await storage.sessions.list(id, { status: "completed", limit: 100 })).toEqual([e0]);
      expect(await storage.sessions.list(id, { status: "failed", limit: 100 })).toEqual([]);
      expect(await storage.sessions.list(id, { agent_id: "agent-a", limit: 100 })).toEqual([s2, a4, e0]);
      expect(await storage.sessions.list(id, { agent_id: "agent-a", status: "active", limit: 100 })).toEqual([a4]);
      expect(await storage.sessions.list(id, { agent_id: "agent-none", limit: 100 })).toEqual([]);
    });

    it("lists every active session of every tenant, oldest first (ties by id)", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const specs = [
        { tenant: id, second: 4 },
        { tenant: other, second: 2 },
        { tenant: id, second: 2 },
        { tenant: other, second: 8 },
      ];
      const running: SessionRecord[] = [];
      for (const [i, { tenant, second }] of specs.entries()) {
        running.push(await active(sessionRecord(tenant, { id: `vs-${i}${uid("")}`, created_at: at(second) })));
      }
      await storage.sessions.reserve(sessionRecord(id, { created_at: at(1) }), limits());
      const stopped = await active(sessionRecord(other, { created_at: at(1) }));
      await storage.sessions.end(other, stopped.id, ending("failed"), entry());

      const mine = new Set(running.map((session) => session.id).concat(stopped.id));
      const listed = (await storage.sessions.listActive()).filter((session) => mine.has(session.id));
      const [r0, r1, r2, r3] = running;
      expect(listed).toEqual([r1, r2, r0, r3]);
    });
  });
}
