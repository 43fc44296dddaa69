import { createHash, randomUUID } from "node:crypto";
import { canonicalize } from "json-canonicalize";
import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  computeRecordHash,
  GENESIS_HASH,
  HASHED_FIELDS,
  plainCanonicalJson,
  recordCanonicalJson,
  sealAuditRecords,
  verifyChain,
} from "../../src/audit/chain.js";
import type { AuditEntry, AuditRecord } from "../../src/audit/types.js";

// vargate's own JCS serializer must write exactly what the reference implementation (json-canonicalize, which
// sealed every existing chain) writes, or stored chains would stop verifying.

/** A deterministic pseudo-random source, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = [
  "",
  "plain",
  'quote " backslash \\ slash /',
  "control \u0000\u0001\u001f\u007f \b\f\n\r\t",
  "Ünïcødé 🚀 ключ 値 עברית e\u0301",
  "\u2028\u2029",
  "lone \ud800 high",
  "lone \udc00 low",
  "pair \ud83d\ude00",
  "€",
  "\uffff\ufffe",
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  1e21,
  1e-7,
  123456789012345680000,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  -1.5e-300,
  333333333.3333333,
  4.35,
  0.000001,
  2 ** 53 + 2,
];

// Keys that sort differently by UTF-16 code units than by code points or locale.
const KEYS = ["b", "a", "A", "_", "aa", "a b", "é", "\u20ac", "\ud83d\ude00", "\ufb33", "10", "9", "", "key\u0000"];

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 8));
  switch (pick) {
    case 0:
      return STRINGS[Math.floor(next() * STRINGS.length)];
    case 1:
      return NUMBERS[Math.floor(next() * NUMBERS.length)];
    case 2:
      return (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
    case 3:
      return next() < 0.5;
    case 4:
      return null;
    case 5:
    case 6: {
      const object: Record<string, unknown> = {};
      const size = Math.floor(next() * 6);
      for (let i = 0; i < size; i++) {
        const key = KEYS[Math.floor(next() * KEYS.length)] as string;
        object[next() < 0.3 ? `${key}${i}` : key] = next() < 0.1 ? undefined : value(next, depth + 1);
      }
      return object;
    }
    default: {
      const size = Math.floor(next() * 5);
      return Array.from({ length: size }, () => (next() < 0.1 ? undefined : value(next, depth + 1)));
    }
  }
}

function entry(next: () => number, i: number): AuditEntry {
  const maybe = (text: string) => (next() < 0.3 ? null : text);
  return {
    action_id: randomUUID(),
    session_id: maybe(`vs-${i.toString(16).padStart(16, "0")}`),
    agent_id: maybe("agent-0123456789ab"),
    event_id: maybe(`sevt_${i}`),
    actor: maybe(STRINGS[i % STRINGS.length] as string),
    source: "mcp_governed",
    tool: STRINGS[(i + 3) % STRINGS.length] || "tool",
    method: "tools/call",
    decision: "allow",
    severity: "none",
    violations: next() < 0.5 ? [] : [STRINGS[i % STRINGS.length] as string, "second"],
    input: value(next, 0) as AuditEntry["input"],
    policy_version: next() < 0.5 ? null : Math.floor(next() * 100),
    requested_at: "2026-04-11T14:30:00.000Z",
  };
}

describe("canonical JSON", () => {
  it("writes exactly what json-canonicalize writes for varied JSON values", () => {
    const next = random(7);
    for (let i = 0; i < 5000; i++) {
      const v = value(next, 0);
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
    for (const v of [...STRINGS, ...NUMBERS, true, false, null, [], {}, [undefined], { a: undefined }]) {
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  it("leaves what is not plain JSON data to json-canonicalize, with its output or its error", () => {
    const date = new Date(Date.UTC(2026, 0, 2));
    const withFunction = { a: 1, f: () => 1 };
    for (const v of [date, { when: date }, [date], withFunction, [() => 1], undefined, Buffer.from("ab")]) {
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, { n: -Infinity }, [Number.NaN]]) {
      expect(() => canonicalJson(v)).toThrow(/Non-finite number/);
    }
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(/Circular reference/);
    expect(() => canonicalJson(10n)).toThrow();
  });

  it("gives the plain form only for values a JSON round trip leaves as they are", () => {
    const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));
    const next = random(11);
    let plain = 0;
    for (let i = 0; i < 5000; i++) {
      const v = value(next, 0);
      const text = plainCanonicalJson(v);
      if (text === undefined) continue;
      plain += 1;
      expect(text).toBe(canonicalJson(v));
      // Exactly what reads back: equal, -0 and undefined included (toStrictEqual tells them apart).
      expect(roundTrip(v)).toStrictEqual(v);
    }
    expect(plain).toBeGreaterThan(1000);
    class Point {
      x = 1;
    }
    const withPrototype = Object.assign([1], {});
    Object.setPrototypeOf(withPrototype, class extends Array {}.prototype);
    for (const v of [
      -0,
      { a: -0 },
      [undefined],
      { a: undefined },
      new Array(3),
      new Point(),
      { p: new Point() },
      new Map([["a", 1]]),
      new String("ab"),
      [new Number(1)],
      new Date(0),
      { when: new Date(0) },
      { toJSON: () => 1 },
      withPrototype,
      Buffer.from("ab"),
      { f: () => 1 },
      undefined,
      10n,
      Number.NaN,
    ]) {
      expect(plainCanonicalJson(v)).toBeUndefined();
    }
    expect(plainCanonicalJson(Object.assign(Object.create(null), { b: 1, a: [true, null, "x"] }))).toBe(
      '{"a":[true,null,"x"],"b":1}',
    );
  });

  it("hashes records to the same record_hash as the reference canonical form, and their chain verifies", async () => {
    const next = random(11);
    const entries = Array.from({ length: 2000 }, (_, i) => entry(next, i));
    const { records, head } = sealAuditRecords("t-canonical", { seq: 0, hash: GENESIS_HASH }, entries);
    for (const record of records) {
      const payload: Record<string, unknown> = {};
      for (const field of HASHED_FIELDS) payload[field] = record[field];
      const reference = canonicalize(payload);
      expect(recordCanonicalJson(record)).toBe(reference);
      expect(record.record_hash).toBe(createHash("sha256").update(reference, "utf8").digest("hex"));
      // Records read back from storage carry `result` and may carry more; they do not change the hash.
      const stored = { ...record, result: { anything: 1 }, extra: "x" } as AuditRecord;
      expect(computeRecordHash(stored)).toBe(record.record_hash);
    }
    await expect(verifyChain("t-canonical", records, head)).resolves.toMatchObject({ valid: true, record_count: 2000 });
  });

  it("seals an entry whose fields are not all JSON scalars by the reference form too", () => {
    // Storage only seals entries of strings, numbers and nulls; a caller of sealAuditRecords may pass anything.
    const odd = {
      ...entry(random(17), 0),
      tool: { name: "crm" } as unknown as string,
      method: ["a"] as unknown as string,
    };
    const [record] = sealAuditRecords("t-odd", { seq: 0, hash: GENESIS_HASH }, [odd]).records;
    const payload: Record<string, unknown> = {};
    for (const field of HASHED_FIELDS) payload[field] = (record as AuditRecord)[field];
    expect(record?.record_hash).toBe(createHash("sha256").update(canonicalize(payload), "utf8").digest("hex"));
    const nonFinite = { ...entry(random(19), 0), policy_version: Number.NaN };
    expect(() => sealAuditRecords("t-odd", { seq: 0, hash: GENESIS_HASH }, [nonFinite])).toThrow(/Non-finite number/);
  });

  it("still finds the first edited record", async () => {
    const next = random(13);
    const entries = Array.from({ length: 50 }, (_, i) => entry(next, i));
    const { records, head } = sealAuditRecords("t-edit", { seq: 0, hash: GENESIS_HASH }, entries);
    const edited = records.map((record) => ({ ...record }));
    (edited[20] as AuditRecord).input = { changed: "é" };
    await expect(verifyChain("t-edit", edited, head)).resolves.toMatchObject({
      valid: false,
      failed_at_seq: 21,
      reason: "record_hash mismatch",
    });
  });
});
