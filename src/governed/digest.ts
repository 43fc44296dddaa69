import { createHash } from "node:crypto";
import { canonicalJson } from "../audit/chain.js";
import type { JsonValue } from "../json.js";

/** SHA-256 hex of the canonical `{tool, input}`: an approval is bound to exactly this call. */
export function callDigest(tool: string, input: JsonValue): string {
  return createHash("sha256").update(canonicalJson({ tool, input })).digest("hex");
}
