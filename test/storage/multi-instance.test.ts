import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import * as z from "zod";
import type { ApprovalRecord } from "../../src/approvals/types.js";
import type { AuditRecord } from "../../src/audit/types.js";
import { isVargateError } from "../../src/errors.js";
import { VargateGovernor } from "../../src/governor.js";
import type { EvaluationInput } from "../../src/policy/evaluate.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import { entry, openApproval } from "../../src/testing/storage-conformance/fixtures.js";
import { defineTool } from "../../src/tools/define.js";
import { createTestStorage, forEachTestDatabase, type TestStorage } from "../setup/databases.js";

// Two governors, each with its own storage and connections, on one database: what two processes would do.
forEachTestDatabase(
  "two governor instances on one database",
  (database) => {
    let test: TestStorage | undefined;
    afterEach(async () => {
      await test?.cleanup();
    });

    async function twoGovernors(options: Omit<ConstructorParameters<typeof VargateGovernor>[0], "storage"> = {}) {
      test = await createTestStorage(database, { migrate: false });
      const first = new VargateGovernor({ ...options, storage: test.storage });
      const second = new VargateGovernor({ ...options, storage: test.connect() });
      await Promise.all([first.migrate(), second.migrate()]);
      return [first, second] as const;
    }

    it("200 concurrent appends for one tenant leave one linear chain that verifies", async () => {
      const [first, second] = await twoGovernors();
      await first.tenants.create({ tenant_id: "acme" });
      const created = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : second).agents.create("acme", { name: `a${i}` })),
      );
      expect(new Set(created.map((config) => config.id)).size).toBe(200);

      for (const governor of [first, second]) {
        expect(await governor.audit.verify("acme")).toMatchObject({ valid: true, record_count: 201 });
      }
      const seqs: number[] = [];
      for await (const record of first.audit.records("acme")) seqs.push(record.seq);
      expect(seqs).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
      expect(await second.agents.list("acme")).toHaveLength(200);
    });

    it("racing appends through the storage port from both instances never fork the chain", async () => {
      const [first, second] = await twoGovernors();
      const entry = (i: number) => ({
        action_id: `action-${i}`,
        session_id: `vs-${i % 7}`,
        agent_id: null,
        event_id: null,
        actor: null,
        source: "mcp_observed" as const,
        tool: "bash",
        method: "tools/call",
        decision: "observed" as const,
        severity: "none" as const,
        violations: [],
        input: { i },
        policy_version: null,
        requested_at: "2025-01-01T00:00:00.000Z",
      });
      // Batches of different sizes interleave; each must land contiguously. Past the session index's first batch
      // (256 records), which either instance may write.
      const batches = Array.from({ length: 120 }, (_, b) => Array.from({ length: (b % 5) + 1 }, (_, j) => b * 10 + j));
      const results = await Promise.all(
        batches.map((batch, b) => (b % 2 === 0 ? first : second).storage.audit.append("acme", batch.map(entry))),
      );
      for (const records of results) {
        const seqs = records.map((record) => record.seq);
        expect(seqs).toEqual(seqs.map((_, j) => (seqs[0] ?? 0) + j));
      }
      const total = batches.flat().length;
      expect(await second.audit.verify("acme")).toMatchObject({ valid: true, record_count: total });
      // Every record of each session is read back once, by either instance.
      const chain: AuditRecord[] = [];
      for await (const record of first.audit.records("acme")) chain.push(record);
      for (let k = 0; k < 7; k++) {
        const expected = chain.filter((record) => record.session_id === `vs-${k}`);
        for (const governor of [first, second]) {
          expect(await governor.storage.audit.listBySession("acme", `vs-${k}`, { limit: 1000 })).toEqual(expected);
        }
      }
    });

    const session = (i: number): SessionRecord => ({
      id: `vs-${randomBytes(8).toString("hex")}`,
      tenant_id: "acme",
      agent_id: `agent-${i % 3}`,
      agent_version: 1,
      status: "pending",
      anthropic_session_id: null,
      environment_id: null,
      upstream_vault_id: null,
      system_prompt_hash: "0".repeat(64),
      mcp_token_hash: randomBytes(32).toString("hex"),
      metadata: { i: String(i) },
      max_session_hours: 8,
      created_at: "2025-01-01T00:00:00.000Z",
      ended_at: null,
      end_reason: null,
    });
    const limits = { maxConcurrent: 10, maxDaily: 100, agentMaxDaily: 100, windowStart: "2025-01-01T00:00:00.000Z" };

    it("20 concurrent reservations against a limit of 10, from both instances: exactly 10 succeed", async () => {
      const [first, second] = await twoGovernors();
      await first.tenants.create({ tenant_id: "acme" });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? first : second).storage.sessions.reserve(session(i), limits),
        ),
      );
      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(10);
      for (const result of results) {
        if (result.status === "fulfilled") continue;
        expect(isVargateError(result.reason, "SESSION_LIMIT_EXCEEDED")).toBe(true);
        expect((result.reason as Error).message).toBe("Max concurrent sessions exceeded (10/10)");
      }
      const reserved = await second.storage.sessions.list("acme", { limit: 100 });
      expect(reserved).toHaveLength(10);

      // A slot released by one instance is taken by exactly one of the next racers, whichever instance it runs in.
      await first.storage.sessions.release("acme", reserved[0]?.id ?? "");
      const next = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? second : first).storage.sessions.reserve(session(i), limits),
        ),
      );
      expect(next.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      expect(await first.storage.sessions.list("acme", { limit: 100 })).toHaveLength(10);
    });

    it("racing consumers, event appends and settings from both instances each have exactly one winner", async () => {
      const [first, second] = await twoGovernors();
      await first.tenants.create({ tenant_id: "acme" });
      const reserved = session(0);
      await first.storage.sessions.reserve(reserved, limits);
      const instances = [first, second, first, second, first, second];

      const claims = await Promise.all(
        instances.map((governor, i) =>
          governor.storage.consumers.claim("acme", reserved.id, {
            owner: `instance-${i}`,
            now: "2025-01-01T00:00:00.000Z",
            expiresAt: "2025-01-01T00:01:00.000Z",
          }),
        ),
      );
      expect(claims.filter((claim) => claim !== null)).toHaveLength(1);

      const observed = (eventId: string, i: number) => ({
        action_id: `${eventId}-${i}`,
        session_id: reserved.id,
        agent_id: null,
        event_id: eventId,
        actor: null,
        source: "mcp_observed" as const,
        tool: "bash",
        method: "agent.tool_use",
        decision: "observed" as const,
        severity: "none" as const,
        violations: [],
        input: { i },
        policy_version: null,
        requested_at: "2025-01-01T00:00:00.000Z",
      });
      const events = Array.from({ length: 25 }, (_, e) => `sevt_${String(e).padStart(2, "0")}`);
      const appended = await Promise.all(
        instances.map((governor, i) =>
          governor.storage.audit.appendEvents(
            "acme",
            events.slice(i * 2, i * 2 + 15).map((eventId) => observed(eventId, i)),
          ),
        ),
      );
      const stored = await second.storage.audit.listBySession("acme", reserved.id, { limit: 100 });
      expect(stored.map((record) => record.event_id).sort()).toEqual(events);
      expect(appended.flat()).toHaveLength(events.length);
      expect(await first.audit.verify("acme")).toMatchObject({ valid: true, record_count: 1 + events.length });

      const values = await Promise.all(
        instances.map((governor, i) => governor.storage.settings.putIfAbsent("environment", `env_${i}`)),
      );
      expect(new Set(values).size).toBe(1);
    });

    it("racing approval decisions, execution claims and policy puts from both instances each have one winner", async () => {
      const [first, second] = await twoGovernors();
      await first.tenants.create({ tenant_id: "acme" });
      const instances = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? first : second));
      const control = (method: string) => ({
        action_id: randomUUID(),
        session_id: null,
        agent_id: null,
        event_id: null,
        actor: null,
        source: "control_plane" as const,
        tool: "control_plane",
        method,
        decision: "allow" as const,
        severity: "none" as const,
        violations: [],
        input: {},
        policy_version: null,
        requested_at: "2025-01-01T00:00:00.000Z",
      });
      const approval: ApprovalRecord = {
        action_id: randomUUID(),
        tenant_id: "acme",
        session_id: `vs-${randomBytes(8).toString("hex")}`,
        agent_id: "agent-000000000000",
        kind: "governed_call",
        tool: "send_payment",
        input: { amount: 5000 },
        input_digest: "0".repeat(64),
        upstream_event_id: null,
        status: "pending",
        requested_at: "2025-01-01T00:00:00.000Z",
        expires_at: "2025-01-01T01:00:00.000Z",
        decided_at: null,
        decided_by: null,
        note: null,
        execution: "none",
        result: null,
      };
      await openApproval(first.storage, approval);

      const decisions = await Promise.all(
        instances.map((governor, i) =>
          governor.storage.approvals.decide(
            "acme",
            approval.action_id,
            { status: "approved", decided_at: "2025-01-01T00:10:00.000Z", decided_by: `approver-${i}`, note: null },
            control("approve"),
          ),
        ),
      );
      expect(decisions.filter((decided) => decided !== null)).toHaveLength(1);

      const claims = await Promise.all(
        instances.map((governor) =>
          governor.storage.approvals.claimExecution("acme", approval.action_id, "2025-01-01T00:11:00.000Z"),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await second.storage.approvals.get("acme", approval.action_id)).toMatchObject({
        status: "approved",
        execution: "claimed",
      });

      const puts = await Promise.all(
        instances.map((governor, i) =>
          governor.storage.policies.put(
            {
              tenant_id: "acme",
              version: 1,
              document: { racer: i },
              created_at: "2025-01-01T00:00:00.000Z",
              created_by: null,
            },
            control("update_policy"),
          ),
        ),
      );
      expect(puts.filter(Boolean)).toHaveLength(1);
      expect(await first.storage.policies.current("acme")).toMatchObject({
        version: 1,
        document: { racer: puts.indexOf(true) },
      });
      // The tenant's creation, the approval's tool use, one decision and one policy version.
      expect(await first.audit.verify("acme")).toMatchObject({ valid: true, record_count: 4 });
    });

    it("40 racing governed calls from both instances: counter limits hold exactly, each decided on its true count", async () => {
      let runs = 0;
      const sendEmail = defineTool({
        name: "send_email",
        description: "Counts its runs",
        inputSchema: z.looseObject({}),
        execute: async () => ({ run: ++runs }),
      });
      const [first, second] = await twoGovernors({ tools: [sendEmail], governedCalls: { approvalWaitMs: 0 } });
      await first.tenants.create({ tenant_id: "acme" });
      await first.policy.put("acme", {
        rules: [
          {
            id: "four-per-session",
            when: { tool: "send_email", counters: [{ scope: "session", op: "gte", value: 4 }] },
            effect: "deny",
            severity: "medium",
            message: "At most 4 emails per session",
          },
          {
            id: "a-human-after-six",
            when: { counters: [{ scope: "agent_24h", tool: "send_*", op: "gte", value: 6 }] },
            effect: "requires_human",
            severity: "medium",
            message: "Many emails today",
          },
        ],
      });
      const agent = await first.agents.create("acme", { name: "mailer", allowed_tools: ["send_email"] });
      const sessions: SessionRecord[] = [];
      for (let i = 0; i < 4; i++) {
        const pending = { ...session(i), agent_id: agent.id, created_at: new Date().toISOString() };
        await first.storage.sessions.reserve(pending, limits);
        const ids = { anthropic_session_id: `sesn_${i}`, environment_id: "env_1", upstream_vault_id: null };
        const active = await first.storage.sessions.activate(
          "acme",
          pending.id,
          ids,
          entry({ session_id: pending.id, agent_id: agent.id }),
        );
        sessions.push(active as SessionRecord);
      }

      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? first : second).governedCalls.call({
            session: sessions[i % 4] as SessionRecord,
            tool: "send_email",
            input: { i },
          }),
        ),
      );

      // Replayed in chain order, every stored decision saw exactly the calls stored before it.
      const governed: AuditRecord[] = [];
      for await (const record of second.audit.records("acme")) {
        if (record.source === "mcp_governed") governed.push(record);
      }
      expect(governed).toHaveLength(40);
      const perSession = new Map<string, number>();
      governed.forEach((record, before) => {
        const earlier = perSession.get(record.session_id as string) ?? 0;
        perSession.set(record.session_id as string, earlier + 1);
        const counters = (record.input as unknown as EvaluationInput).counters;
        expect(counters.session).toEqual(earlier === 0 ? {} : { send_email: earlier });
        expect(counters.agent_24h).toEqual(before === 0 ? {} : { send_email: before });
        expect(record.decision).toBe(earlier >= 4 ? "deny" : before >= 6 ? "requires_human" : "allow");
      });
      // Four calls per session get past the session limit; of those, the calls decided on an agent count below six
      // run, and the others wait for a human.
      const kinds = new Map(outcomes.map((outcome) => [outcome.action_id, outcome.kind]));
      const expected = { deny: "denied", requires_human: "pending", allow: "allowed" } as const;
      expect(governed.map((record) => kinds.get(record.action_id))).toEqual(
        governed.map((record) => expected[record.decision as keyof typeof expected]),
      );
      expect(governed.filter((record) => record.decision === "deny")).toHaveLength(24);
      expect(runs).toBe(governed.filter((record) => record.decision === "allow").length);
      expect(runs).toBeGreaterThan(0);
      const pending = await first.approvals.list("acme", { status: "pending" });
      expect(pending.map((approval) => approval.action_id).sort()).toEqual(
        governed
          .filter((record) => record.decision === "requires_human")
          .map((record) => record.action_id)
          .sort(),
      );
      expect(await first.audit.verify("acme")).toMatchObject({ valid: true });
    });
  },
  { only: ["sqlite-file", "postgres", "mysql"] },
);
