import { describe, expect, it } from "vitest";
import { at, credentialRecord, entry, failure, type SuiteContext, uid, verify } from "./fixtures.js";

/** Credential records: ciphertext upserts and deletes, each with its audit record. */
export function describeCredentials(ctx: SuiteContext): void {
  const { newTenant } = ctx;
  describe(`credentials (${ctx.name})`, () => {
    it("stores a credential with its audit record and reads it back exactly", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const record = credentialRecord(id, {
        name: "stripe",
        // Large ciphertexts (a service account's JSON) fit too.
        ciphertext: `v1.${"QUJD".repeat(20_000)}==`,
        created_at: "2025-06-01T12:00:00.123456+02:00",
        updated_at: "2025-06-01T12:00:00.123456+02:00",
      });
      const audit = entry({ method: "put_credential", input: { name: "stripe" } });
      await storage.credentials.put(record, audit);
      expect(await storage.credentials.get(id, "stripe")).toEqual(record);
      expect(await storage.credentials.get(id, "Stripe")).toBeNull();
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ ...audit, seq: 2 });
    });

    it("replaces a credential on a second put, storing exactly what it is given, with one audit record each", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const first = credentialRecord(id, { name: "crm_token", created_at: at(1), updated_at: at(1) });
      await storage.credentials.put(first, entry());
      // The caller keeps the original created_at…
      const rotated = { ...first, ciphertext: "rotated-ciphertext", updated_at: at(2) };
      await storage.credentials.put(rotated, entry());
      expect(await storage.credentials.get(id, "crm_token")).toEqual(rotated);
      // …and storage does not second-guess a different one.
      const replaced = { ...first, ciphertext: "third", created_at: at(3), updated_at: at(3) };
      await storage.credentials.put(replaced, entry());
      expect(await storage.credentials.get(id, "crm_token")).toEqual(replaced);
      expect(await storage.credentials.list(id)).toEqual(["crm_token"]);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
    });

    it("lists the tenant's names sorted (byte order: upper case first), and only the tenant's", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      expect(await storage.credentials.list(id)).toEqual([]);
      for (const name of ["stripe", "beta", "Zeta", "crm_token", "alpha", "crm-token", "a"]) {
        await storage.credentials.put(credentialRecord(id, { name }), entry());
      }
      await storage.credentials.put(credentialRecord(other, { name: "aaa-other" }), entry());
      expect(await storage.credentials.list(id)).toEqual([
        "Zeta",
        "a",
        "alpha",
        "beta",
        "crm-token",
        "crm_token",
        "stripe",
      ]);
      expect(await storage.credentials.list(other)).toEqual(["aaa-other"]);
    });

    it("keeps tenants apart: another tenant's credential is never returned, replaced or deleted", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const mine = credentialRecord(id, { name: "shared-name" });
      await storage.credentials.put(mine, entry());
      expect(await storage.credentials.get(other, "shared-name")).toBeNull();
      const audit = entry();
      expect(await storage.credentials.delete(other, "shared-name", audit)).toBe(false);
      expect(await storage.audit.get(other, audit.action_id)).toBeNull();
      const theirs = credentialRecord(other, { name: "shared-name", ciphertext: "theirs" });
      await storage.credentials.put(theirs, entry());
      expect(await storage.credentials.get(id, "shared-name")).toEqual(mine);
      expect(await storage.credentials.get(other, "shared-name")).toEqual(theirs);
    });

    it("deletes with one audit record; deleting what does not exist returns false and writes nothing", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const record = credentialRecord(id);
      const kept = credentialRecord(id);
      await storage.credentials.put(record, entry());
      await storage.credentials.put(kept, entry());
      const audit = entry({ method: "delete_credential" });
      expect(await storage.credentials.delete(id, record.name, audit)).toBe(true);
      expect(await storage.credentials.get(id, record.name)).toBeNull();
      expect(await storage.credentials.list(id)).toEqual([kept.name]);
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 4, method: "delete_credential" });

      const head = await storage.audit.head(id);
      const again = entry();
      expect(await storage.credentials.delete(id, record.name, again)).toBe(false);
      expect(await storage.credentials.delete(id, uid("never"), again)).toBe(false);
      expect(await storage.audit.get(id, again.action_id)).toBeNull();
      expect(await storage.audit.head(id)).toEqual(head);
      // Nothing at all for a tenant that has nothing: not even a chain head.
      const nobody = uid("t");
      expect(await storage.credentials.delete(nobody, record.name, entry())).toBe(false);
      expect((await storage.audit.head(nobody)).seq).toBe(0);
    });

    it("changes nothing when the audit record cannot be written", async () => {
      const storage = ctx.storage();
      const { id, audit } = await newTenant();
      const record = credentialRecord(id);
      await failure(storage.credentials.put(record, { ...audit }));
      expect(await storage.credentials.get(id, record.name)).toBeNull();
      await storage.credentials.put(record, entry());
      await failure(storage.credentials.put({ ...record, ciphertext: "never" }, { ...audit }));
      await failure(storage.credentials.delete(id, record.name, { ...audit }));
      expect(await storage.credentials.get(id, record.name)).toEqual(record);
      expect((await storage.audit.head(id)).seq).toBe(2);
    });

    it("lets exactly one of racing deletes report true, with one audit record", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const record = credentialRecord(id);
      await storage.credentials.put(record, entry());
      const results = await Promise.all(
        Array.from({ length: 10 }, () => storage.credentials.delete(id, record.name, entry())),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 3 });
    });
  });
}
