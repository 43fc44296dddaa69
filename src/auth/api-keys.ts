import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** `vg-` followed by 48 lowercase hex characters (24 random bytes). */
export const API_KEY_PATTERN = /^vg-[0-9a-f]{48}$/;

export function generateApiKey(): string {
  return `vg-${randomBytes(24).toString("hex")}`;
}

/** Keys carry 192 random bits, so a fast hash is enough: there is nothing to brute-force. */
export function hashApiKey(apiKey: string): string {
  return createHash("sha256").update(apiKey, "utf8").digest("hex");
}

/** The displayable start of a key, enough to tell keys apart and nothing more. */
export function apiKeyPrefix(apiKey: string): string {
  return apiKey.slice(0, 11);
}

/** Compares two hex digests in constant time. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
