import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  GENESIS_HASH,
  HASHED_FIELDS,
  recordCanonicalJson,
  sealAuditRecords,
} from "../../src/audit/chain.js";
import type { AuditRecord } from "../../src/audit/types.js";
import { hasSpliceableFields, itemTextOfRecordText } from "../../src/compliance/item-text.js";
import { timelineItem } from "../../src/compliance/timeline-item.js";
import { LeafHashes, leafHash, MerkleTree } from "../../src/merkle/index.js";
import { sessionEntry } from "./helpers.js";

// The offline verifier hashes an item's canonical text as its record's canonical text with two members spliced
// in, whenever the item passes `hasSpliceableFields`. That must give exactly `canonicalJson(item)`, however the
// item's values were chosen to mislead the splice; items that could mislead it must not pass.

type Item = Record<string, unknown>;

function spliced(item: Item): string | null {
  if (!hasSpliceableFields(item)) return null;
  const fields: Item = {};
  for (const field of HASHED_FIELDS) fields[field] = item[field];
  const recordText = recordCanonicalJson(fields as unknown as Omit<AuditRecord, "record_hash" | "result">);
  return itemTextOfRecordText(recordText, canonicalJson(item.inclusion_proof), JSON.stringify(item.record_hash));
}

const items: Item[] = (() => {
  const entries = Array.from({ length: 12 }, (_, i) => ({
    ...sessionEntry("vs-00000000000000ef", "agent-1", i),
    input: [
      { i },
      { note: ',"input":1,"requested_at":"x"', nested: { requested_at: 1, input: [',"input":'] } },
      { "": null, "\u2028": "é😀", a: [1.5, -0, 1e21, true] },
    ][i % 3] as AuditRecord["input"],
    actor: i % 2 === 0 ? null : 'a "quoted", actor',
    policy_version: i % 4 === 0 ? null : i,
  }));
  const { records } = sealAuditRecords("t-1", { seq: 0, hash: GENESIS_HASH }, entries);
  const tree = new MerkleTree(LeafHashes.from(records.map((record) => leafHash(record.record_hash))));
  return records.map((record, i) => timelineItem(record, i === 5 ? null : tree) as unknown as Item);
})();

describe("an item's canonical text from its record's", () => {
  it("is canonicalJson of the item for every item the exporter writes", () => {
    for (const item of items) {
      expect(hasSpliceableFields(item)).toBe(true);
      expect(spliced(item)).toBe(canonicalJson(item));
    }
  });

  it("is canonicalJson of the item, or not attempted, for items with other values", () => {
    const variants: [string, (item: Item) => Item][] = [
      ["an object before input holding an input member", (item) => ({ ...item, action_id: { a: 1, input: 2 } })],
      ["an array before input", (item) => ({ ...item, agent_id: [",", "input", 1] })],
      ["an object after requested_at", (item) => ({ ...item, tool: { b: 1, requested_at: 2 } })],
      ["a number where a string was", (item) => ({ ...item, severity: 3 })],
      ["violations that are not strings", (item) => ({ ...item, violations: [{ a: 1, requested_at: 2 }] })],
      ["a seq that is text", (item) => ({ ...item, seq: ',"requested_at":' })],
      ["an extra member", (item) => ({ ...item, zzz: 1 })],
      ["a missing member", ({ method: _method, ...item }) => item],
      ["a missing member replaced", ({ method: _method, ...item }) => ({ ...item, other: "x" })],
      ["no inclusion proof", (item) => ({ ...item, inclusion_proof: undefined })],
      ["a record_hash that is not text", (item) => ({ ...item, record_hash: 7 })],
      ["an input of null", (item) => ({ ...item, input: null })],
      ["text that looks like members", (item) => ({ ...item, event_id: ',"input":{},"requested_at":"' })],
    ];
    let attempted = 0;
    for (const item of items) {
      for (const [name, vary] of variants) {
        const variant = vary(item);
        const text = spliced(variant);
        if (text !== null) attempted += 1;
        expect(text ?? canonicalJson(variant), name).toBe(canonicalJson(variant));
      }
    }
    // Some variants keep an item's types (null input, text that looks like members) and are spliced.
    expect(attempted).toBeGreaterThanOrEqual(items.length * 2);
  });
});
