import { describe, expect, it } from "vitest";
import type { ConsumerState } from "../../sessions/types.js";
import type { VargateStorage } from "../../storage/port.js";
import { at, limits, type SuiteContext, sessionRecord, UNICODE, uid } from "./fixtures.js";

const lease = (owner: string, now: number, expires: number) => ({ owner, now: at(now), expiresAt: at(expires) });

type Progress = Parameters<VargateStorage["consumers"]["advance"]>[2];

/** `advance` arguments for `owner`: connected, nothing processed, unless `fields` say otherwise. */
const progress = (owner: string, fields: Partial<Omit<Progress, "owner">> = {}): Progress => ({
  ...{ owner, cursor: null, processed: 0, status: "connected", connectedSince: null, expiresAt: at(0) },
  ...fields,
});

/** Stream consumers: leases held by one instance at a time, persisted cursors and progress. */
export function describeConsumers(ctx: SuiteContext): void {
  const { newTenant } = ctx;

  async function session(tenantId: string, second = 0): Promise<string> {
    const record = sessionRecord(tenantId, { created_at: at(second) });
    await ctx.storage().sessions.reserve(record, limits());
    return record.id;
  }

  describe(`consumers (${ctx.name})`, () => {
    it("claims a free lease; refuses another owner until it expires; the holder renews and advances", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const s = await session(id);
      expect(await storage.consumers.get(id, s)).toBeNull();
      const claimed = await storage.consumers.claim(id, s, lease("gov-a", 0, 30));
      if (!claimed) throw new Error("expected the lease");
      expect(claimed).toEqual({
        session_id: s,
        tenant_id: id,
        cursor: null,
        events_processed: 0,
        owner: "gov-a",
        lease_expires_at: at(30),
        status: "reconnecting",
        connected_since: null,
      });
      expect(await storage.consumers.get(id, s)).toEqual(claimed);

      // A running lease, even at the instant it expires, is not free.
      expect(await storage.consumers.claim(id, s, lease("gov-b", 10, 40))).toBeNull();
      expect(await storage.consumers.claim(id, s, lease("gov-b", 30, 60))).toBeNull();
      expect(await storage.consumers.get(id, s)).toEqual(claimed);

      const step = { cursor: at(5), processed: 3, connectedSince: at(1), expiresAt: at(35) };
      expect(await storage.consumers.advance(id, s, progress("gov-a", step))).toBe(true);
      expect(await storage.consumers.advance(id, s, progress("gov-a", { ...step, processed: 2, cursor: at(6) }))).toBe(
        true,
      );
      // Progress that changes nothing still reports the lease as held.
      expect(await storage.consumers.advance(id, s, progress("gov-a", { ...step, processed: 0, cursor: at(6) }))).toBe(
        true,
      );
      const advanced: ConsumerState = {
        ...claimed,
        cursor: at(6),
        events_processed: 5,
        status: "connected",
        connected_since: at(1),
        lease_expires_at: at(35),
      };
      expect(await storage.consumers.get(id, s)).toEqual(advanced);
      expect(await storage.consumers.advance(id, s, progress("gov-b", { processed: 9 }))).toBe(false);

      // Renewal by the holder keeps its status and connection time.
      const renewed = await storage.consumers.claim(id, s, lease("gov-a", 20, 50));
      expect(renewed).toEqual({ ...advanced, lease_expires_at: at(50) });
      expect(await storage.consumers.claim(id, s, lease("gov-a", 20, 50))).toEqual(renewed);
      expect(await storage.consumers.list(id)).toEqual([renewed]);
    });

    it("lets another owner take an expired lease over, resuming from the cursor; the old holder must stop", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const s = await session(id);
      await storage.consumers.claim(id, s, lease("gov-a", 0, 30));
      const step = { cursor: at(7), processed: 4, connectedSince: at(2), expiresAt: at(30) };
      await storage.consumers.advance(id, s, progress("gov-a", step));

      const taken = await storage.consumers.claim(id, s, lease("gov-b", 31, 90));
      expect(taken).toEqual({
        session_id: s,
        tenant_id: id,
        cursor: at(7),
        events_processed: 4,
        owner: "gov-b",
        lease_expires_at: at(90),
        status: "reconnecting",
        connected_since: null,
      });
      expect(await storage.consumers.advance(id, s, progress("gov-a", { ...step, processed: 1 }))).toBe(false);
      await storage.consumers.release(id, s, "gov-a");
      expect(await storage.consumers.claim(id, s, lease("gov-a", 60, 99))).toBeNull();
      expect(await storage.consumers.get(id, s)).toEqual(taken);
    });

    it("release stops the consumer for its holder only; a released lease is free at once", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const s = await session(id);
      await storage.consumers.claim(id, s, lease("gov-a", 0, 30));
      await storage.consumers.advance(id, s, progress("gov-a", { cursor: at(3), processed: 2, expiresAt: at(30) }));
      const held = await storage.consumers.get(id, s);
      await storage.consumers.release(id, s, "gov-b");
      expect(await storage.consumers.get(id, s)).toEqual(held);

      await storage.consumers.release(id, s, "gov-a");
      const stopped = {
        session_id: s,
        tenant_id: id,
        cursor: at(3),
        events_processed: 2,
        owner: null,
        lease_expires_at: null,
        status: "stopped",
        connected_since: null,
      };
      expect(await storage.consumers.get(id, s)).toEqual(stopped);
      expect(await storage.consumers.list(id)).toEqual([]);
      expect(await storage.consumers.advance(id, s, progress("gov-a", { processed: 1 }))).toBe(false);

      // Released before it expired, and still free for anyone.
      expect(await storage.consumers.claim(id, s, lease("gov-b", 1, 30))).toEqual({
        ...stopped,
        owner: "gov-b",
        lease_expires_at: at(30),
        status: "reconnecting",
      });
    });

    it("keeps consumers within their tenant", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const s = await session(id);
      const claimed = await storage.consumers.claim(id, s, lease("gov-a", 0, 30));
      expect(await storage.consumers.claim(other, s, lease("gov-b", 99, 120))).toBeNull();
      expect(await storage.consumers.get(other, s)).toBeNull();
      expect(await storage.consumers.advance(other, s, progress("gov-a", { processed: 5 }))).toBe(false);
      await storage.consumers.release(other, s, "gov-a");
      expect(await storage.consumers.list(other)).toEqual([]);
      expect(await storage.consumers.get(id, s)).toEqual(claimed);
    });

    it("lets exactly one of racing claimers take a free lease, and one take an expired lease", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const s = await session(id);
      const owners = Array.from({ length: 10 }, (_, i) => `gov-${i}`);
      const first = await Promise.all(owners.map((owner) => storage.consumers.claim(id, s, lease(owner, 0, 30))));
      const winners = first.filter((state) => state !== null);
      expect(winners).toHaveLength(1);
      expect(await storage.consumers.get(id, s)).toEqual(winners[0]);

      const late = owners.map((owner) => `${owner}-late`);
      const second = await Promise.all(late.map((owner) => storage.consumers.claim(id, s, lease(owner, 31, 60))));
      const takeovers = second.filter((state) => state !== null);
      expect(takeovers).toHaveLength(1);
      expect(late).toContain(takeovers[0]?.owner);
      expect(await storage.consumers.get(id, s)).toEqual(takeovers[0]);
    });

    it("lists the tenant's running consumers, oldest session first", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const sessions = [await session(id, 5), await session(id, 1), await session(id, 3), await session(id, 2)];
      for (const s of sessions) await storage.consumers.claim(id, s, lease("gov-a", 0, 30));
      await storage.consumers.release(id, sessions[3] as string, "gov-a");
      const listed = await storage.consumers.list(id);
      expect(listed.map((consumer) => consumer.session_id)).toEqual([sessions[1], sessions[2], sessions[0]]);
      expect(listed.every((consumer) => consumer.owner === "gov-a" && consumer.tenant_id === id)).toBe(true);
    });
  });
}

/** Governor-wide settings: insert-if-absent. */
export function describeSettings(ctx: SuiteContext): void {
  describe(`settings (${ctx.name})`, () => {
    it("stores a value once; later puts return the stored one", async () => {
      const storage = ctx.storage();
      const key = uid("setting");
      expect(await storage.settings.get(key)).toBeNull();
      const value = `env_${UNICODE} ${"x".repeat(70_000)}`;
      expect(await storage.settings.putIfAbsent(key, value)).toBe(value);
      expect(await storage.settings.putIfAbsent(key, "env_other")).toBe(value);
      expect(await storage.settings.get(key)).toBe(value);
      expect(await storage.settings.get(uid("setting"))).toBeNull();
    });

    it("lets exactly one of racing puts win; every caller gets the winner's value", async () => {
      const storage = ctx.storage();
      const key = uid("setting");
      const values = Array.from({ length: 10 }, (_, i) => `env_${i}`);
      const results = await Promise.all(values.map((value) => storage.settings.putIfAbsent(key, value)));
      const stored = await storage.settings.get(key);
      expect(values).toContain(stored);
      expect(results).toEqual(values.map(() => stored));
    });
  });
}
