import { HASHED_FIELDS } from "../audit/chain.js";

/**
 * A timeline item's canonical text from its record's: the text the record's `record_hash` covers, with the item's
 * two extra members put in their sorted places, `inclusion_proof` just before `input` and `record_hash` just before
 * `requested_at`. The exporter writes items this way, and the offline verifier hashes them this way, instead of
 * serializing each item again. `null` if the places are not found.
 *
 * The places are the first `,"input":` and the last `,"requested_at":`. In canonical JSON a quote inside a string
 * always follows a backslash, so neither appears inside a string token. The fields before `input` are strings or
 * null, so the first `,"input":` is the member; the fields after `requested_at` are strings, a number, null and
 * the `violations` array of strings, in which a string is followed by `,` or `]`, never `:`, so the last
 * `,"requested_at":` is the member. (`hasSpliceableFields` checks those types for an item read back.)
 */
export function itemTextOfRecordText(recordText: string, proofJson: string, recordHashJson: string): string | null {
  const atInput = recordText.indexOf(INPUT_MEMBER);
  const atRequested = recordText.lastIndexOf(REQUESTED_AT_MEMBER);
  if (atInput <= 0 || atRequested <= atInput) return null;
  return `${recordText.slice(0, atInput)},"inclusion_proof":${proofJson}${recordText.slice(
    atInput,
    atRequested,
  )},"record_hash":${recordHashJson}${recordText.slice(atRequested)}`;
}

const INPUT_MEMBER = ',"input":';
const REQUESTED_AT_MEMBER = ',"requested_at":';

// The members of an item whose values must be a string or null for `itemTextOfRecordText`'s argument to hold.
const TEXT_FIELDS = [
  "action_id",
  "actor",
  "agent_id",
  "decision",
  "event_id",
  "method",
  "prev_hash",
  "requested_at",
  "session_id",
  "severity",
  "source",
  "tenant_id",
  "tool",
] as const;
/** Every member of a timeline item: the record's hashed fields and the item's two extra ones. */
const ITEM_MEMBER_COUNT = HASHED_FIELDS.length + 2;

/**
 * Whether a parsed timeline item has exactly an item's members, with the types `itemTextOfRecordText` relies on:
 * then its canonical text is its record's canonical text with `inclusion_proof` and `record_hash` spliced in.
 */
export function hasSpliceableFields(item: Record<string, unknown>): boolean {
  if (Object.keys(item).length !== ITEM_MEMBER_COUNT) return false;
  for (const field of TEXT_FIELDS) {
    const value = item[field];
    if (value !== null && typeof value !== "string") return false;
  }
  const { seq, policy_version: version, violations } = item;
  return (
    Number.isFinite(seq) &&
    (version === null || Number.isFinite(version)) &&
    Array.isArray(violations) &&
    violations.every((violation) => typeof violation === "string") &&
    item.input !== undefined &&
    item.inclusion_proof !== undefined &&
    typeof item.record_hash === "string"
  );
}
