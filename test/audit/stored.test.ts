import { describe, expect, it } from "vitest";
import {
  canonicalFields,
  canonicalJson,
  GENESIS_HASH,
  recordCanonicalJson,
  sealAuditRecords,
} from "../../src/audit/chain.js";
import { checkStoredRecordHash, storedRecordCanonicalJson } from "../../src/audit/stored.js";
import type { AuditEntry, AuditRecord, StoredAuditRecord } from "../../src/audit/types.js";
import {
  TIMELINE_SHAPE,
  timelineItem,
  timelineItemJson,
  timelineItemOfText,
} from "../../src/compliance/timeline-item.js";
import type { JsonValue } from "../../src/json.js";
import { LeafHashes, MerkleTree } from "../../src/merkle/index.js";

const TRICKY = [
  "plain",
  'quote " and backslash \\ and ,"input": inside',
  ',"requested_at":"2020-01-01T00:00:00Z","seq":1',
  "Ünïcødé 🚀 \u2028\u2029 \u0000\u001f",
];

function entry(i: number): AuditEntry {
  const text = TRICKY[i % TRICKY.length] as string;
  const inputs: JsonValue[] = [
    { z: i, a: text, nested: { [text]: [1, 2.5, -0, 1e21, null, true] } },
    text,
    null,
    [text, { b: 1, a: 2 }],
    12.75,
  ];
  return {
    action_id: `action-${i}`,
    session_id: i % 3 === 0 ? null : `vs-${text}`,
    agent_id: i % 2 === 0 ? null : "agent-1",
    event_id: i % 4 === 0 ? null : `sevt_${i}`,
    actor: i % 5 === 0 ? text : null,
    source: i % 2 === 0 ? "mcp_governed" : "mcp_observed",
    tool: i % 3 === 0 ? text : "bash",
    method: "tools/call",
    decision: i % 2 === 0 ? "deny" : "observed",
    severity: i % 2 === 0 ? "high" : "none",
    violations: i % 2 === 0 ? [text, "b"] : [],
    input: inputs[i % inputs.length] as JsonValue,
    policy_version: i % 2 === 0 ? i : null,
    requested_at: "2026-04-11T14:30:00.000Z",
  };
}

const records = sealAuditRecords(
  "tenant-ü",
  { seq: 0, hash: GENESIS_HASH },
  Array.from({ length: 40 }, (_, i) => entry(i)),
).records;

/** A record as a storage holds it: its JSON fields as the given text. */
function stored(record: AuditRecord, text: (value: JsonValue) => string = canonicalJson): StoredAuditRecord {
  const { result: _result, input, violations, ...rest } = record;
  return { ...rest, input: text(input), violations: text(violations) };
}

describe("stored records", () => {
  it("joins the canonical text of a record from its stored canonical JSON texts, keys in RFC 8785 order", () => {
    for (const record of records) {
      expect(storedRecordCanonicalJson(stored(record))).toBe(recordCanonicalJson(record));
      expect(checkStoredRecordHash(stored(record))).toBe("canonical");
    }
  });

  it("falls back to parsing for other JSON text, and reports edited records", () => {
    for (const record of records) {
      // Older rows: JSON.stringify's text, with whitespace around it (still JSON, the same values).
      const legacy = stored(record, (value) => ` ${JSON.stringify(value)}\n`);
      expect(checkStoredRecordHash(legacy)).toBe("parsed");
      expect(checkStoredRecordHash({ ...stored(record), tool: `${record.tool}!` })).toBe("mismatch");
      expect(checkStoredRecordHash({ ...stored(record), input: `${canonicalJson(record.input)} ` })).toBe("parsed");
      expect(checkStoredRecordHash({ ...stored(record), input: "{" })).toBe("mismatch");
      expect(checkStoredRecordHash({ ...stored(record), violations: "[]" })).toBe(
        record.violations.length === 0 ? "canonical" : "mismatch",
      );
    }
    // A string input whose text is not JSON reads as that string (as `scan` reads it): still verifiable.
    const [text] = sealAuditRecords("t", { seq: 0, hash: GENESIS_HASH }, [{ ...entry(1), input: "not json" }]).records;
    expect(checkStoredRecordHash({ ...stored(text as AuditRecord), input: "not json" })).toBe("parsed");
    expect(storedRecordCanonicalJson({ ...stored(text as AuditRecord), input: "not json" })).toBeNull();
  });

  it("writes timeline items as the canonical form of the item, spliced or parsed", () => {
    const leaves = new LeafHashes(records.length);
    for (const record of records) leaves.appendLeaf(record.record_hash);
    const tree = new MerkleTree(leaves.prefix(30));
    for (const treeOrNone of [tree, null]) {
      for (const record of records) {
        const expected = canonicalFields(timelineItem(record, treeOrNone), TIMELINE_SHAPE);
        expect(timelineItemJson(stored(record), treeOrNone)).toBe(expected);
        // Found canonical by the export's scan: from the text its hash covers, without checking it again.
        expect(timelineItemOfText(recordCanonicalJson(record), record.seq, record.record_hash, treeOrNone)).toBe(
          expected,
        );
        expect(timelineItemJson(stored(record, JSON.stringify), treeOrNone)).toBe(expected);
      }
    }
  });
});
