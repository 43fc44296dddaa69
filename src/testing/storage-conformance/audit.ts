import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  chainPartsJoin,
  GENESIS_HASH,
  recordCanonicalJson,
  sealAuditRecords,
  sha256Hex,
} from "../../audit/chain.js";
import { storedRecordCanonicalJson } from "../../audit/stored.js";
import type { StoredAuditRecord } from "../../audit/types.js";
import { isVargateError } from "../../errors.js";
import type { JsonValue } from "../../json.js";
import { entry, failure, records, type SuiteContext, UNICODE, uid, verify } from "./fixtures.js";

/** The audit chain: appends, reads, races and round trips. */
export function describeAuditChain(ctx: SuiteContext): void {
  describe(`audit chain (${ctx.name})`, () => {
    it("seals appends onto the head, returns them as stored, and the chain verifies", async () => {
      const storage = ctx.storage();
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
      const storage = ctx.storage();
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

    it("checkChainParts, when it answers, returns parts that join up to the head", async () => {
      const storage = ctx.storage();
      // Optional, and a storage may leave a chain to the walk (the SQL storage does below 50,000 records).
      if (!storage.audit.checkChainParts) return;
      const id = uid("t");
      await storage.audit.append(
        id,
        Array.from({ length: 50 }, () => entry()),
      );
      const head = await storage.audit.head(id);
      const parts = await storage.audit.checkChainParts(id, head.seq);
      if (parts) expect(chainPartsJoin(parts, head)).toBe(true);
    });

    it("scanStored pages records with their JSON fields as stored text, filtered and limited to fields", async () => {
      const storage = ctx.storage();
      const scanStored = storage.audit.scanStored?.bind(storage.audit);
      // Optional: vargate reads a storage without it through scan.
      if (!scanStored) return;
      const id = uid("t");
      const inputs: JsonValue[] = [
        { z: 1, a: [UNICODE, { y: null, b: 1.5 }] },
        "text",
        null,
        { n: 1e-7 },
        [3, 2, 1],
        {},
      ];
      const stored = await storage.audit.append(
        id,
        inputs.map((input, i) =>
          entry({
            input,
            session_id: i % 2 === 0 ? "vs-a" : "vs-b",
            source: i % 3 === 0 ? "mcp_governed" : "mcp_observed",
            violations: i === 0 ? [UNICODE, "b"] : [],
            policy_version: i === 0 ? 7 : null,
          }),
        ),
      );
      await storage.audit.append(uid("t"), [entry({ session_id: "vs-a" })]);
      const page = await scanStored(id, { afterSeq: 0, limit: 10 });
      expect(page.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      for (const [i, record] of stored.entries()) {
        const { result: _result, input, violations, ...rest } = record;
        const text = page[i] as StoredAuditRecord;
        expect(text).toEqual({ ...rest, input: text.input, violations: text.violations });
        // JSON text of the stored values, RFC 8785 canonical as vargate writes it.
        expect(JSON.parse(text.input)).toEqual(input);
        expect(JSON.parse(text.violations)).toEqual(violations);
        expect(text.input).toBe(canonicalJson(input));
        expect(text.violations).toBe(canonicalJson(violations));
        expect(storedRecordCanonicalJson(text)).toBe(recordCanonicalJson(record));
      }
      // Pages, filters (the limit counts matching records) and fields.
      expect((await scanStored(id, { afterSeq: 2, limit: 2 })).map((r) => r.seq)).toEqual([3, 4]);
      expect((await scanStored(id, { afterSeq: 0, limit: 10, sessionId: "vs-a" })).map((r) => r.seq)).toEqual([
        1, 3, 5,
      ]);
      expect((await scanStored(id, { afterSeq: 1, limit: 1, sessionId: "vs-a" })).map((r) => r.seq)).toEqual([3]);
      const governed = await scanStored(id, { afterSeq: 0, limit: 10, source: "mcp_governed" });
      expect(governed.map((r) => r.seq)).toEqual([1, 4]);
      // throughSeq bounds the range above, whatever the limit and filters.
      expect((await scanStored(id, { afterSeq: 1, throughSeq: 4, limit: 10 })).map((r) => r.seq)).toEqual([2, 3, 4]);
      expect((await scanStored(id, { afterSeq: 0, throughSeq: 2, limit: 2 })).map((r) => r.seq)).toEqual([1, 2]);
      expect(
        (await scanStored(id, { afterSeq: 0, throughSeq: 3, limit: 10, source: "mcp_governed" })).map((r) => r.seq),
      ).toEqual([1]);
      expect(await scanStored(id, { afterSeq: 4, throughSeq: 4, limit: 10 })).toEqual([]);
      expect(
        await scanStored(id, {
          afterSeq: 0,
          limit: 10,
          sessionId: "vs-b",
          source: "mcp_governed",
          fields: ["tool", "input", "policy_version"],
        }),
      ).toEqual([{ seq: 4, tool: stored[3]?.tool, input: '{"n":1e-7}', policy_version: null }]);
      // hashed_text: the text record_hash covers, joined by the storage (in the database, or in JavaScript), with
      // every character a JSON string may need escaped in the text columns (but NUL, which PostgreSQL text refuses).
      const escaped = `${UNICODE} "quoted" back\\slash /${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join("")}\u007f`;
      stored.push(
        ...(await storage.audit.append(id, [
          entry({ tool: escaped, actor: escaped, method: escaped, session_id: escaped, agent_id: escaped }),
        ])),
      );
      const hashed = await scanStored(id, { afterSeq: 0, limit: 10, fields: ["record_hash", "hashed_text"] });
      expect(hashed).toEqual(
        stored.map((record) => ({
          seq: record.seq,
          record_hash: record.record_hash,
          hashed_text: recordCanonicalJson(record),
        })),
      );
      for (const record of hashed) expect(sha256Hex(record.hashed_text as string)).toBe(record.record_hash);
      expect(await scanStored(id, { afterSeq: 7, limit: 10 })).toEqual([]);
      expect(await scanStored(uid("t"), { afterSeq: 0, limit: 10 })).toEqual([]);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 7 });
    });

    it("lists a session's records in chain order, at most limit, within the tenant", async () => {
      const storage = ctx.storage();
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

    it("reads every record of a long session, however the appends that stored it were sized", async () => {
      // Long enough for a storage that indexes sessions in batches (the SQL one: every 256 records) to read both
      // indexed records and newer ones.
      const storage = ctx.storage();
      const id = uid("t");
      const sessionOf = (index: number) => [`vs-a`, `vs-b`, `vs-a`, null, `vs-c`][index % 5] ?? null;
      const sourceOf = (index: number) => (index % 3 === 0 ? "mcp_governed" : "mcp_observed");
      let index = 0;
      const batch = (size: number) =>
        Array.from({ length: size }, () => {
          index += 1;
          return entry({ session_id: sessionOf(index), source: sourceOf(index), tool: `tool-${index % 4}` });
        });
      for (const size of [1, 250, 3, 7, 300, 1, 1, 200, 40]) await storage.audit.append(id, batch(size));
      await storage.audit.append(uid("t"), [entry({ session_id: "vs-a" })]);
      const all = (await storage.audit.scan(id, { afterSeq: 0, limit: 2000 })).filter((r) => r.session_id !== null);
      expect(all).toHaveLength(642);
      const scanStored = storage.audit.scanStored?.bind(storage.audit);
      for (const session of ["vs-a", "vs-b", "vs-c"]) {
        const expected = all.filter((record) => record.session_id === session);
        expect(await storage.audit.listBySession(id, session, { limit: 1000 })).toEqual(expected);
        expect(await storage.audit.listBySession(id, session, { limit: 100 })).toEqual(expected.slice(0, 100));
        const observed = expected.filter((record) => record.source === "mcp_observed");
        const tools: Record<string, number> = {};
        for (const record of observed) tools[record.tool] = (tools[record.tool] ?? 0) + 1;
        expect(await storage.audit.countByTool(id, { source: "mcp_observed", session_id: session })).toEqual(tools);
        if (!scanStored) continue;
        // Paged as replay and export page: by seq, filtered by source, through a seq.
        const paged: number[] = [];
        for (let after = 0; ; ) {
          const page = await scanStored(id, { afterSeq: after, limit: 37, sessionId: session, source: "mcp_observed" });
          paged.push(...page.map((record) => record.seq));
          if (page.length < 37) break;
          after = page[page.length - 1]?.seq ?? after;
        }
        expect(paged).toEqual(observed.map((record) => record.seq));
        const through = await scanStored(id, { afterSeq: 100, throughSeq: 600, limit: 1000, sessionId: session });
        expect(through.map((record) => record.seq)).toEqual(
          expected.filter((record) => record.seq > 100 && record.seq <= 600).map((record) => record.seq),
        );
      }
      const counts = await storage.audit.countBySession(id, ["vs-a", "vs-b", "vs-c"]);
      expect(counts.reduce((sum, count) => sum + count.count, 0)).toBe(all.length);
      expect(counts.find((c) => c.session_id === "vs-a" && c.source === "mcp_governed")?.count).toBe(
        all.filter((record) => record.session_id === "vs-a" && record.source === "mcp_governed").length,
      );
    });

    it(`keeps ${ctx.concurrency} concurrent single-entry appends on one linear chain that verifies`, async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const appended = await Promise.all(
        Array.from({ length: ctx.concurrency }, (_, i) => storage.audit.append(id, [entry({ input: { i } })])),
      );
      const seqs = appended.map(([record]) => record?.seq ?? 0).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: ctx.concurrency }, (_, i) => i + 1));
      expect(await storage.audit.head(id)).toMatchObject({ seq: ctx.concurrency });
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: ctx.concurrency });
      const stored = await records(storage, id);
      expect(stored).toEqual(appended.flat().sort((a, b) => a.seq - b.seq));
    });

    it("fails a whole append on a duplicate action_id and leaves the head unchanged", async () => {
      const storage = ctx.storage();
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
      const storage = ctx.storage();
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

    it("stores JSON fields as a JSON round trip gives them, returns what it reads back, and verifies", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      class Point {
        x = 1;
        y = 2;
      }
      // Plain JSON data, then values a round trip changes, each alone (a database stores JSON text).
      const inputs: unknown[] = [
        { a: [1, "x", null, true, { b: 1.5 }], [UNICODE]: "lone \ud800" },
        { zero: -0 },
        [-0],
        { gone: undefined, kept: 1 },
        [undefined, 1],
        { point: new Point() },
        new Map([["a", 1]]),
        { boxed: new String("ab") },
        { when: new Date(Date.UTC(2026, 0, 2)) },
        new Date(Date.UTC(2026, 0, 3)),
        { custom: { toJSON: () => "custom" } },
        { fn: () => 1, kept: true },
      ];
      const appended = await storage.audit.append(
        id,
        inputs.map((input) => entry({ input: input as JsonValue, violations: ["v", "w"] })),
      );
      expect(appended.map((record) => record.input)).toStrictEqual(
        inputs.map((input) => JSON.parse(JSON.stringify(input))),
      );
      expect(await records(storage, id)).toStrictEqual(appended);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: inputs.length });
    });

    it("returns from append what it reads back when text fields hold lone surrogates, and still verifies", async () => {
      // UTF-8 columns cannot hold a lone surrogate: a storage either keeps it (memory) or stores and seals U+FFFD.
      const storage = ctx.storage();
      const id = uid("t");
      const lone = `lone \ud800 high, \udc00 low, pair \ud83d\ude00 ${uid("s")}`;
      const appended = await storage.audit.append(id, [
        entry({ tool: lone, actor: lone, session_id: lone, event_id: lone, requested_at: lone, violations: [lone] }),
      ]);
      const [record] = appended;
      expect([lone, lone.replace("\ud800", "\ufffd").replace("\udc00", "\ufffd")]).toContain(record?.tool);
      expect(record?.tool).toContain("pair \ud83d\ude00");
      expect(await storage.audit.get(id, record?.action_id ?? "")).toEqual(record);
      expect(await records(storage, id)).toEqual(appended);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 1 });
    });
  });
}
