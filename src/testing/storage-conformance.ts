import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentConfigRecord } from "../agents/types.js";
import { GENESIS_HASH, sealAuditRecords, verifyChain } from "../audit/chain.js";
import type { AuditEntry, AuditRecord } from "../audit/types.js";
import { isVargateError } from "../errors.js";
import type { VargateStorage } from "../storage/port.js";
import type { ApiKeyRecord, TenantRecord } from "../tenants/types.js";

export interface StorageConformanceOptions {
  /** The implementation or database under test; it appears in every describe title. */
  name: string;
  /**
   * Returns a storage for one test. The suite calls `migrate()` on it, then `close()` and `cleanup()` after the
   * test. It may be fresh or shared: the suite uses its own random tenant ids in every test.
   */
  create: () => Promise<{ storage: VargateStorage; cleanup?: () => Promise<void> }>;
  /** Concurrent appends in the chain-linearity test. @default 200 */
  concurrency?: number;
}

const uid = (prefix: string) => `${prefix}-${randomBytes(5).toString("hex")}`;
const at = (second: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, second)).toISOString();
const UNICODE = "Ünïcødé 🚀 \u2028\u2029 ключ 値 עברית e\u0301";

// Record factories: each field can be overridden; ids are random so tests never collide on a shared storage.
const entry = (fields: Partial<AuditEntry> = {}): AuditEntry => ({
  ...{ action_id: randomUUID(), session_id: null, agent_id: null, event_id: null, actor: null },
  ...{ source: "control_plane", tool: "control_plane", method: "test", decision: "allow", severity: "none" },
  ...{ violations: [], input: {}, policy_version: null, requested_at: at(0) },
  ...fields,
});
const tenantRecord = (fields: Partial<TenantRecord> = {}): TenantRecord => ({
  ...{ tenant_id: uid("t"), name: "Tenant", created_at: at(0) },
  ...{ max_concurrent_sessions: 10, max_daily_sessions: 50, max_session_hours: 8 },
  ...fields,
});
const keyRecord = (tenantId: string, fields: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  ...{ key_id: uid("key"), tenant_id: tenantId, key_hash: randomBytes(32).toString("hex") },
  ...{ prefix: `vg-${randomBytes(4).toString("hex")}`, created_at: at(0), revoked_at: null },
  ...fields,
});
const agentRecord = (tenantId: string, fields: Partial<AgentConfigRecord> = {}): AgentConfigRecord => ({
  ...{ id: uid("agent"), tenant_id: tenantId, name: "Agent", anthropic_model: "claude-sonnet-4-6" },
  ...{ system_prompt: null, allowed_tools: [], require_human_approval: [], governance_profile: {} },
  ...{ max_session_hours: 8, max_daily_sessions: 50, max_delegation_depth: 1, parent_agent_id: null },
  ...{ version: 1, created_at: at(0), updated_at: at(0) },
  ...fields,
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the operation to fail");
}

async function records(storage: VargateStorage, tenantId: string): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for (;;) {
    const page = await storage.audit.scan(tenantId, { afterSeq: all.at(-1)?.seq ?? 0, limit: 100 });
    all.push(...page);
    if (page.length < 100) return all;
  }
}

async function verify(storage: VargateStorage, tenantId: string) {
  return verifyChain(tenantId, await records(storage, tenantId), await storage.audit.head(tenantId));
}

/**
 * Registers the storage conformance suite with vitest: every `VargateStorage` method and the atomicity its doc
 * comment promises (races included). Call it at the top level of a test file, once per implementation.
 */
export function describeStorageConformance(options: StorageConformanceOptions): void {
  const concurrency = options.concurrency ?? 200;

  describe(`storage conformance: ${options.name}`, () => {
    let storage: VargateStorage;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      ({ storage, cleanup } = await options.create());
      await storage.migrate();
    });
    afterEach(async () => {
      await storage.close();
      await cleanup?.();
    });

    async function newTenant(fields: Partial<TenantRecord> = {}) {
      const tenant = tenantRecord(fields);
      const key = keyRecord(tenant.tenant_id);
      const audit = entry({ method: "create_tenant", input: { tenant_id: tenant.tenant_id } });
      await storage.tenants.create(tenant, key, audit);
      return { tenant, key, audit, id: tenant.tenant_id };
    }

    describe(`tenants (${options.name})`, () => {
      it("creates the tenant, its first key and the first record of its chain", async () => {
        const { tenant, key, audit } = await newTenant({
          name: UNICODE,
          max_session_hours: 7.25,
          created_at: "2025-06-01T12:00:00.123456+02:00",
        });
        expect(await storage.tenants.get(tenant.tenant_id)).toEqual(tenant);
        expect(await storage.apiKeys.findByHash(key.key_hash)).toEqual(key);
        expect(await storage.audit.get(tenant.tenant_id, audit.action_id)).toMatchObject({
          ...audit,
          seq: 1,
          prev_hash: GENESIS_HASH,
        });
        expect(await verify(storage, tenant.tenant_id)).toMatchObject({ valid: true, record_count: 1 });
        expect(await storage.tenants.get(uid("missing"))).toBeNull();
      });

      it("lists tenants ordered by tenant_id", async () => {
        const prefix = uid("list");
        for (const suffix of ["b", "a-z", "a", "c"]) await newTenant({ tenant_id: `${prefix}-${suffix}` });
        const ids = (await storage.tenants.list()).map((t) => t.tenant_id).filter((id) => id.startsWith(prefix));
        expect(ids).toEqual(["a", "a-z", "b", "c"].map((suffix) => `${prefix}-${suffix}`));
      });

      it("refuses a taken id with TENANT_EXISTS and stores nothing of the second create", async () => {
        const { tenant } = await newTenant();
        const key = keyRecord(tenant.tenant_id);
        const audit = entry();
        const error = await failure(storage.tenants.create({ ...tenant, name: "Other" }, key, audit));
        expect(isVargateError(error, "TENANT_EXISTS")).toBe(true);
        expect(await storage.tenants.get(tenant.tenant_id)).toEqual(tenant);
        expect(await storage.apiKeys.findByHash(key.key_hash)).toBeNull();
        expect(await storage.audit.get(tenant.tenant_id, audit.action_id)).toBeNull();
        expect((await storage.audit.head(tenant.tenant_id)).seq).toBe(1);
      });

      it("lets exactly one of two racing creates win", async () => {
        const tenant = tenantRecord();
        const keys = [keyRecord(tenant.tenant_id), keyRecord(tenant.tenant_id)];
        const results = await Promise.allSettled(
          keys.map((key, i) => storage.tenants.create({ ...tenant, name: `racer ${i}` }, key, entry())),
        );
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const rejected = results.find((r) => r.status === "rejected");
        expect(isVargateError(rejected?.reason, "TENANT_EXISTS")).toBe(true);
        const stored = await Promise.all(keys.map((key) => storage.apiKeys.findByHash(key.key_hash)));
        expect(stored.filter(Boolean)).toHaveLength(1);
        expect(await verify(storage, tenant.tenant_id)).toMatchObject({ valid: true, record_count: 1 });
      });

      it("creates nothing when the audit record cannot be written (duplicate action_id)", async () => {
        const tenant = tenantRecord();
        const [taken] = await storage.audit.append(tenant.tenant_id, [entry()]);
        const key = keyRecord(tenant.tenant_id);
        await failure(storage.tenants.create(tenant, key, entry({ action_id: taken?.action_id })));
        expect(await storage.tenants.get(tenant.tenant_id)).toBeNull();
        expect(await storage.apiKeys.findByHash(key.key_hash)).toBeNull();
        expect((await storage.audit.head(tenant.tenant_id)).seq).toBe(1);
      });
    });

    describe(`api keys (${options.name})`, () => {
      it("finds keys by hash and lists them newest first, ties by key_id descending", async () => {
        const { id, key: first } = await newTenant();
        const made = [at(3), at(1), at(4), at(4), at(2)].map((created_at, i) =>
          keyRecord(id, { created_at, key_id: `key-${i}-${uid("k")}` }),
        );
        for (const key of made) await storage.apiKeys.create(key, entry());
        const [k0, k1, k2, k3, k4] = made;
        expect(await storage.apiKeys.list(id)).toEqual([k3, k2, k0, k4, k1, first]);
        expect(await storage.apiKeys.findByHash(made[2]?.key_hash ?? "")).toEqual(made[2]);
        expect(await storage.apiKeys.findByHash("0".repeat(64))).toBeNull();
        expect(await storage.apiKeys.list(uid("other"))).toEqual([]);
        expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 1 + made.length });
      });

      it("revokes one key with one audit record; revoking it again changes nothing and audits nothing", async () => {
        const { id, key } = await newTenant();
        const other = keyRecord(id);
        await storage.apiKeys.create(other, entry());
        const audit = entry({ method: "revoke_api_key" });
        expect(await storage.apiKeys.revoke(id, at(9), audit, key.key_id)).toBe(1);
        expect(await storage.apiKeys.findByHash(key.key_hash)).toEqual({ ...key, revoked_at: at(9) });
        expect((await storage.apiKeys.findByHash(other.key_hash))?.revoked_at).toBeNull();
        expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 3 });
        const again = entry();
        expect(await storage.apiKeys.revoke(id, at(10), again, key.key_id)).toBe(0);
        expect(await storage.apiKeys.revoke(id, at(10), entry(), uid("key-missing"))).toBe(0);
        expect(await storage.apiKeys.revoke(uid("t"), at(10), entry(), other.key_id)).toBe(0);
        expect((await storage.apiKeys.findByHash(other.key_hash))?.revoked_at).toBeNull();
        expect(await storage.audit.get(id, again.action_id)).toBeNull();
        expect((await storage.audit.head(id)).seq).toBe(3);
        expect((await storage.apiKeys.findByHash(key.key_hash))?.revoked_at).toBe(at(9));
      });

      it("revokes every active key of the tenant only, keeping earlier revocation times", async () => {
        const { id, key } = await newTenant();
        const { key: foreign } = await newTenant();
        const second = keyRecord(id);
        await storage.apiKeys.create(second, entry());
        await storage.apiKeys.revoke(id, at(5), entry(), key.key_id);
        expect(await storage.apiKeys.revoke(id, at(6), entry())).toBe(1);
        const revoked = Object.fromEntries((await storage.apiKeys.list(id)).map((k) => [k.key_id, k.revoked_at]));
        expect(revoked).toEqual({ [key.key_id]: at(5), [second.key_id]: at(6) });
        expect((await storage.apiKeys.findByHash(foreign.key_hash))?.revoked_at).toBeNull();
        expect(await storage.apiKeys.revoke(id, at(7), entry())).toBe(0);
        expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
      });

      it("rotates: the new key stays active and every other active key is revoked in the same step", async () => {
        const { id, key } = await newTenant();
        const rotated = keyRecord(id, { created_at: at(8) });
        const audit = entry({ method: "rotate_api_key" });
        await storage.apiKeys.create(rotated, audit, { revokeOthersAt: at(8) });
        expect((await storage.apiKeys.findByHash(key.key_hash))?.revoked_at).toBe(at(8));
        expect(await storage.apiKeys.findByHash(rotated.key_hash)).toEqual(rotated);
        expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 2, method: "rotate_api_key" });
      });

      it("neither stores the key nor revokes others when the audit record cannot be written", async () => {
        const { id, key, audit } = await newTenant();
        const rotated = keyRecord(id);
        await failure(storage.apiKeys.create(rotated, { ...audit }, { revokeOthersAt: at(8) }));
        expect(await storage.apiKeys.findByHash(rotated.key_hash)).toBeNull();
        expect((await storage.apiKeys.findByHash(key.key_hash))?.revoked_at).toBeNull();
        await failure(storage.apiKeys.revoke(id, at(9), { ...audit }));
        expect((await storage.apiKeys.findByHash(key.key_hash))?.revoked_at).toBeNull();
        expect((await storage.audit.head(id)).seq).toBe(1);
      });
    });

    describe(`agent configs (${options.name})`, () => {
      it("round-trips every field exactly, JSON included", async () => {
        const { id } = await newTenant();
        const parent = agentRecord(id);
        const config = agentRecord(id, {
          name: UNICODE,
          system_prompt: `Line 1\nLine 2 ${UNICODE}\t"quoted" \\ backslash`,
          allowed_tools: ["read_file", "🔧-tool"],
          require_human_approval: ["bash*", "write_*"],
          max_session_hours: 0.1,
          max_daily_sessions: 1000,
          max_delegation_depth: 5,
          governance_profile: { nested: { list: [1, 2.5, -0.125, 1e21, null, true, UNICODE] }, ключ: "値", e: {} },
          parent_agent_id: parent.id,
          created_at: "2025-01-01T00:00:00.123456789Z",
          updated_at: "2025-01-01T00:00:00Z",
        });
        await storage.agents.create(parent, entry());
        await storage.agents.create(config, entry());
        expect(await storage.agents.get(id, parent.id)).toEqual(parent);
        expect(await storage.agents.get(id, config.id)).toEqual(config);
      });

      it("lists newest first, ties by id descending, and keeps tenants apart", async () => {
        const { id } = await newTenant();
        const { id: otherTenant } = await newTenant();
        const configs = [at(2), at(5), at(5), at(1)].map((created_at, i) =>
          agentRecord(id, { created_at, id: `agent-${i}${uid("")}` }),
        );
        for (const config of configs) await storage.agents.create(config, entry());
        const foreign = agentRecord(otherTenant);
        await storage.agents.create(foreign, entry());
        const [c0, c1, c2, c3] = configs;
        expect(await storage.agents.list(id)).toEqual([c2, c1, c0, c3]);
        expect(await storage.agents.get(id, foreign.id)).toBeNull();
        expect(await storage.agents.get(otherTenant, configs[0]?.id ?? "")).toBeNull();
        expect(await storage.agents.list(uid("nobody"))).toEqual([]);
      });

      it("updates by compare-and-set: changes applied, version bumped, one audit record", async () => {
        const { id } = await newTenant();
        const config = agentRecord(id, { system_prompt: "old" });
        await storage.agents.create(config, entry());
        const audit = entry({ method: "update_agent" });
        const changes = { name: "renamed", system_prompt: null, governance_profile: { level: UNICODE } };
        const updated = await storage.agents.update(id, config.id, changes, {
          expectedVersion: 1,
          updatedAt: at(30),
          audit,
        });
        expect(updated).toEqual({ ...config, ...changes, version: 2, updated_at: at(30) });
        expect(await storage.agents.get(id, config.id)).toEqual(updated);
        expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 3 });

        const stale = entry();
        const options = { expectedVersion: 1, updatedAt: at(31), audit: stale };
        expect(await storage.agents.update(id, config.id, { name: "stale" }, options)).toBeNull();
        expect(await storage.agents.update(id, uid("agent"), { name: "missing" }, options)).toBeNull();
        expect(await storage.agents.update(uid("t"), config.id, { name: "foreign" }, options)).toBeNull();
        expect(await storage.agents.get(id, config.id)).toEqual(updated);
        expect(await storage.audit.get(id, stale.action_id)).toBeNull();
        expect((await storage.audit.head(id)).seq).toBe(3);
      });

      it("lets exactly one of two racing updates from the same version win, with one audit record", async () => {
        const { id } = await newTenant();
        const config = agentRecord(id);
        await storage.agents.create(config, entry());
        const results = await Promise.all(
          ["a", "b"].map((name) =>
            storage.agents.update(id, config.id, { name }, { expectedVersion: 1, updatedAt: at(40), audit: entry() }),
          ),
        );
        const winners = results.filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect(await storage.agents.get(id, config.id)).toEqual(winners[0]);
        expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 3 });
      });

      it("stores no config and no change when the audit record cannot be written", async () => {
        const { id, audit } = await newTenant();
        const config = agentRecord(id);
        await failure(storage.agents.create(config, { ...audit }));
        expect(await storage.agents.get(id, config.id)).toBeNull();
        await storage.agents.create(config, entry());
        const options = { expectedVersion: 1, updatedAt: at(50), audit: { ...audit } };
        await failure(storage.agents.update(id, config.id, { name: "never" }, options));
        expect(await storage.agents.get(id, config.id)).toEqual(config);
        expect((await storage.audit.head(id)).seq).toBe(2);
      });
    });

    describe(`audit chain (${options.name})`, () => {
      it("seals appends onto the head, returns them as stored, and the chain verifies", async () => {
        const id = uid("t");
        expect(await storage.audit.head(id)).toEqual({ seq: 0, hash: GENESIS_HASH });
        expect(await storage.audit.append(id, [])).toEqual([]);
        const first = [entry({ session_id: "vs-1", violations: ["a", "b"], policy_version: 3 }), entry()];
        const sealed = sealAuditRecords(id, { seq: 0, hash: GENESIS_HASH }, first);
        expect(await storage.audit.append(id, first)).toEqual(sealed.records);
        expect(await storage.audit.head(id)).toEqual(sealed.head);
        const next = entry({ decision: "deny", severity: "high", source: "mcp_governed", input: { n: 1 } });
        const [third] = await storage.audit.append(id, [next]);
        expect(third).toEqual(sealAuditRecords(id, sealed.head, [next]).records[0]);
        expect(await records(storage, id)).toEqual([...sealed.records, third]);
        expect(await storage.audit.get(id, next.action_id)).toEqual(third);
        expect(await storage.audit.get(uid("t"), next.action_id)).toBeNull();
        expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 3 });
        expect((await storage.audit.append(uid("t"), [entry()]))[0]?.seq).toBe(1);
      });

      it("scans in seq order, page by page", async () => {
        const id = uid("t");
        await storage.audit.append(
          id,
          Array.from({ length: 10 }, () => entry()),
        );
        for (let i = 0; i < 15; i += 1) await storage.audit.append(id, [entry()]);
        const seqs = async (afterSeq: number) =>
          (await storage.audit.scan(id, { afterSeq, limit: 10 })).map((record) => record.seq);
        expect(await seqs(0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(await seqs(10)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
        expect(await seqs(20)).toEqual([21, 22, 23, 24, 25]);
        expect(await seqs(25)).toEqual([]);
      });

      it("lists a session's records in chain order, at most limit, within the tenant", async () => {
        const id = uid("t");
        const sessions = ["vs-a", "vs-b", "vs-a", null, "vs-a", "vs-a"];
        const stored = await storage.audit.append(
          id,
          sessions.map((session_id) => entry({ session_id })),
        );
        await storage.audit.append(uid("t"), [entry({ session_id: "vs-a" })]);
        const listed = await storage.audit.listBySession(id, "vs-a", { limit: 3 });
        expect(listed).toEqual(stored.filter((record) => record.session_id === "vs-a").slice(0, 3));
        expect(await storage.audit.listBySession(id, "vs-a", { limit: 100 })).toHaveLength(4);
        expect(await storage.audit.listBySession(id, "vs-none", { limit: 10 })).toEqual([]);
      });

      it(`keeps ${concurrency} concurrent single-entry appends on one linear chain that verifies`, async () => {
        const id = uid("t");
        const appended = await Promise.all(
          Array.from({ length: concurrency }, (_, i) => storage.audit.append(id, [entry({ input: { i } })])),
        );
        const seqs = appended.map(([record]) => record?.seq ?? 0).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: concurrency }, (_, i) => i + 1));
        expect(await storage.audit.head(id)).toMatchObject({ seq: concurrency });
        expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: concurrency });
        const stored = await records(storage, id);
        expect(stored).toEqual(appended.flat().sort((a, b) => a.seq - b.seq));
      });

      it("fails a whole append on a duplicate action_id and leaves the head unchanged", async () => {
        const id = uid("t");
        const [kept] = await storage.audit.append(id, [entry()]);
        const head = await storage.audit.head(id);
        const batch = [entry(), entry({ action_id: kept?.action_id, method: "other" }), entry()];
        const error = await failure(storage.audit.append(id, batch));
        expect(isVargateError(error, "STORAGE_ERROR")).toBe(true);
        const twice = entry();
        await failure(storage.audit.append(id, [twice, { ...twice }]));
        expect(await storage.audit.head(id)).toEqual(head);
        expect(await records(storage, id)).toEqual([kept]);
        expect(await storage.audit.get(id, batch[0]?.action_id ?? "")).toBeNull();
        expect(await storage.audit.get(id, twice.action_id)).toBeNull();
      });

      it("round-trips large and unicode inputs and still verifies", async () => {
        const id = uid("t");
        const large = { text: "x".repeat(600_000), list: Array.from({ length: 2_000 }, (_, i) => ({ i, v: i / 7 })) };
        const strange = {
          [UNICODE]: UNICODE,
          escapes: "\u0000 \u001f \\ \" ' \ud83d \ude00 \ufeff",
          numbers: [0, 1e-7, 123456789.123, Number.MAX_SAFE_INTEGER, -1.5e300],
          nested: [[[]], {}, [null, false]],
        };
        const entries = [
          entry({ input: large }),
          entry({ input: strange, tool: `🔧 ${UNICODE}`, session_id: "vs-ü🚀", actor: UNICODE, violations: [UNICODE] }),
          entry({ input: "just a string", requested_at: "2025-01-01T00:00:00.000001+05:30" }),
          entry({ input: null, event_id: "sevt_01" }),
        ];
        const appended = await storage.audit.append(id, entries);
        expect(appended.map(({ action_id, input }) => ({ action_id, input }))).toEqual(
          entries.map(({ action_id, input }) => ({ action_id, input })),
        );
        expect(await records(storage, id)).toEqual(appended);
        expect(await storage.audit.listBySession(id, "vs-ü🚀", { limit: 5 })).toEqual([appended[1]]);
        expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
      });
    });
  });
}
