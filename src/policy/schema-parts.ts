import * as z from "zod";
import { FIELD_PATH_PATTERN, MAX_FIELD_PATH_LENGTH, MAX_FIELD_PATH_SEGMENTS } from "./field-path.js";
import { isValidToolPattern } from "./tool-patterns.js";

/** Rule ids: 1-64 characters of `a-z`, `0-9`, `_` and `-`. */
export const RULE_ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

export const ruleIdSchema = z
  .string()
  .regex(RULE_ID_PATTERN, { error: "Must be 1-64 characters of a-z, 0-9, _ and -" });

/** A tool-name glob, checked to compile. */
export const toolPatternSchema = z
  .string()
  .min(1)
  .max(256)
  .refine(isValidToolPattern, { error: "Must be a valid glob pattern" });

/** A dot path into a tool input (`amount`, `recipient.email`, `items.0.price`). */
export const fieldPathSchema = z
  .string()
  .min(1)
  .max(MAX_FIELD_PATH_LENGTH)
  .regex(FIELD_PATH_PATTERN, { error: "Must be a dot path such as 'recipient.email'" })
  .refine((path) => path.split(".").length <= MAX_FIELD_PATH_SEGMENTS, {
    error: `Must have at most ${MAX_FIELD_PATH_SEGMENTS} segments`,
  });

const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Whether `value` is a domain name such as `example.com` (any case). */
export function isDomainName(value: string): boolean {
  return DOMAIN.test(value);
}

/** A domain name such as `example.com`; it covers its subdomains too. Case does not matter. */
export const domainSchema = z.string().regex(DOMAIN, {
  error: "Must be a domain name such as 'example.com' (it covers its subdomains; no scheme, port, path or '*.')",
});
