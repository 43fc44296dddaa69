import type { JsonValue } from "../json.js";

/** What a scrubbed secret is replaced with. */
export const REDACTED = "[redacted]";

const MIN_ENCODED_LENGTH = 8;

/** Replaces secrets in text. */
export type Scrubber = (text: string) => string;

/**
 * A scrubber for the given secret values. Each is removed as written, percent-encoded (as in a URL that echoes
 * it), JSON-escaped (as in JSON text inside a string) and base64-encoded (as in an echoed Basic header), longest
 * first, so a secret containing another is replaced whole. Empty values are ignored; the encoded forms are only
 * checked for values of at least 8 characters.
 */
export function secretScrubber(secrets: Iterable<string>): Scrubber {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== "string" || secret === "") continue;
    forms.add(secret);
    // Encoded forms of a very short value would match ordinary text; real secrets are long.
    if (secret.length < MIN_ENCODED_LENGTH) continue;
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
    const base64 = Buffer.from(secret, "utf8").toString("base64");
    forms.add(base64);
    forms.add(base64.replace(/=+$/, ""));
    forms.add(Buffer.from(secret, "utf8").toString("base64url"));
  }
  forms.delete("");
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}

/** Scrubs every string (and object key) in a JSON value; a number whose digits contain a secret becomes a string. */
export function scrubJson(value: JsonValue, scrub: Scrubber): JsonValue {
  if (typeof value === "string") return scrub(value);
  if (typeof value === "number") {
    const text = String(value);
    const scrubbed = scrub(text);
    return scrubbed === text ? value : scrubbed;
  }
  if (value === null || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map((item) => scrubJson(item, scrub));
  const out: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(value)) out[scrub(key)] = scrubJson(item, scrub);
  return out;
}
