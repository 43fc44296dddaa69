import { describe, expect, it } from "vitest";
import { GENESIS_HASH } from "../../audit/chain.js";
import { isVargateError } from "../../errors.js";
import { at, entry, failure, keyRecord, type SuiteContext, tenantRecord, UNICODE, uid, verify } from "./fixtures.js";

/** Tenants and their API keys. */
export function describeTenants(ctx: SuiteContext): void {
  const { newTenant } = ctx;
  describe(`tenants (${ctx.name})`, () => {
    it("creates the tenant, its first key and the first record of its chain", async () => {
      const storage = ctx.storage();
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
      const storage = ctx.storage();
      const prefix = uid("list");
      for (const suffix of ["b", "a-z", "a", "c"]) await newTenant({ tenant_id: `${prefix}-${suffix}` });
      const ids = (await storage.tenants.list()).map((t) => t.tenant_id).filter((id) => id.startsWith(prefix));
      expect(ids).toEqual(["a", "a-z", "b", "c"].map((suffix) => `${prefix}-${suffix}`));
    });

    it("refuses a taken id with TENANT_EXISTS and stores nothing of the second create", async () => {
      const storage = ctx.storage();
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
      const storage = ctx.storage();
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
      const storage = ctx.storage();
      const tenant = tenantRecord();
      const [taken] = await storage.audit.append(tenant.tenant_id, [entry()]);
      const key = keyRecord(tenant.tenant_id);
      await failure(storage.tenants.create(tenant, key, entry({ action_id: taken?.action_id })));
      expect(await storage.tenants.get(tenant.tenant_id)).toBeNull();
      expect(await storage.apiKeys.findByHash(key.key_hash)).toBeNull();
      expect((await storage.audit.head(tenant.tenant_id)).seq).toBe(1);
    });
  });

  describe(`tenant updates (${ctx.name})`, () => {
    it("round-trips a governance prompt template, a large one included", async () => {
      const storage = ctx.storage();
      // Over 64 KB of UTF-8: more than MySQL's TEXT holds.
      const template = `${UNICODE}\n{{tenant}} "quoted" \\ ${"🚀".repeat(20_000)}`;
      const { tenant } = await newTenant({ governance_prompt_template: template });
      expect(await storage.tenants.get(tenant.tenant_id)).toEqual(tenant);
      const { tenant: plain } = await newTenant();
      expect((await storage.tenants.get(plain.tenant_id))?.governance_prompt_template).toBeNull();
    });

    it("applies the changes with one audit record; fields not given (or undefined) are left alone", async () => {
      const storage = ctx.storage();
      const { tenant } = await newTenant({ max_session_hours: 8 });
      const audit = entry({ method: "update_tenant" });
      const changes = {
        name: UNICODE,
        max_concurrent_sessions: 3,
        max_session_hours: 0.5,
        governance_prompt_template: "Govern {{agent}} carefully.",
        max_daily_sessions: undefined,
      };
      const updated = await storage.tenants.update(tenant.tenant_id, changes, audit);
      const expected = { ...tenant, ...changes, max_daily_sessions: tenant.max_daily_sessions };
      expect(updated).toEqual(expected);
      expect(await storage.tenants.get(tenant.tenant_id)).toEqual(expected);
      expect(await storage.audit.get(tenant.tenant_id, audit.action_id)).toMatchObject({ ...audit, seq: 2 });

      // Back to the default template; an update that changes nothing is still audited.
      const reset = await storage.tenants.update(tenant.tenant_id, { governance_prompt_template: null }, entry());
      expect(reset).toEqual({ ...expected, governance_prompt_template: null });
      expect(await storage.tenants.update(tenant.tenant_id, { name: UNICODE }, entry())).toEqual(reset);
      expect(await storage.tenants.update(tenant.tenant_id, {}, entry())).toEqual(reset);
      expect(await verify(storage, tenant.tenant_id)).toMatchObject({ valid: true, record_count: 5 });
    });

    it("returns null for a missing tenant and writes nothing, not even a chain head", async () => {
      const storage = ctx.storage();
      const missing = uid("t");
      const audit = entry();
      expect(await storage.tenants.update(missing, { name: "ghost" }, audit)).toBeNull();
      expect(await storage.tenants.get(missing)).toBeNull();
      expect(await storage.audit.get(missing, audit.action_id)).toBeNull();
      expect((await storage.audit.head(missing)).seq).toBe(0);
    });

    it("changes nothing when the audit record cannot be written (duplicate action_id)", async () => {
      const storage = ctx.storage();
      const { tenant, audit } = await newTenant();
      await failure(storage.tenants.update(tenant.tenant_id, { name: "never", max_session_hours: 1 }, { ...audit }));
      expect(await storage.tenants.get(tenant.tenant_id)).toEqual(tenant);
      expect((await storage.audit.head(tenant.tenant_id)).seq).toBe(1);
    });

    it("applies racing updates one after another: each is audited, the chain stays linear", async () => {
      const storage = ctx.storage();
      const { tenant } = await newTenant();
      const names = Array.from({ length: 10 }, (_, i) => `name ${i}`);
      const results = await Promise.all(
        names.map((name, i) =>
          storage.tenants.update(tenant.tenant_id, { name, max_concurrent_sessions: i + 1 }, entry()),
        ),
      );
      for (const [i, result] of results.entries()) {
        expect(result).toMatchObject({ name: names[i], max_concurrent_sessions: i + 1 });
      }
      const stored = await storage.tenants.get(tenant.tenant_id);
      // Whole updates, never a mix of two.
      expect(names.indexOf(stored?.name ?? "")).toBe((stored?.max_concurrent_sessions ?? 0) - 1);
      expect(await verify(storage, tenant.tenant_id)).toMatchObject({ valid: true, record_count: 11 });
    });
  });

  describe(`api keys (${ctx.name})`, () => {
    it("finds keys by hash and lists them newest first, ties by key_id descending", async () => {
      const storage = ctx.storage();
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
      const storage = ctx.storage();
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
      const storage = ctx.storage();
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
      const storage = ctx.storage();
      const { id, key } = await newTenant();
      const rotated = keyRecord(id, { created_at: at(8) });
      const audit = entry({ method: "rotate_api_key" });
      await storage.apiKeys.create(rotated, audit, { revokeOthersAt: at(8) });
      expect((await storage.apiKeys.findByHash(key.key_hash))?.revoked_at).toBe(at(8));
      expect(await storage.apiKeys.findByHash(rotated.key_hash)).toEqual(rotated);
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 2, method: "rotate_api_key" });
    });

    it("neither stores the key nor revokes others when the audit record cannot be written", async () => {
      const storage = ctx.storage();
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
}
