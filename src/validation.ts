import * as z from "zod";
import { ConfigError, ValidationError, type ValidationIssue } from "./errors.js";

/** Where a value came from; prefixes each issue's `loc` the way clients expect (`["body", "name"]`). */
export type InputLocation = "body" | "query" | "path" | "options";

/** Parses `value` with `schema`, or throws a ValidationError naming every bad field. */
export function parseInput<TSchema extends z.ZodType>(
  schema: TSchema,
  value: unknown,
  location: InputLocation = "body",
): z.output<TSchema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.map((issue) => toValidationIssue(issue, location)));
}

function toValidationIssue(issue: z.core.$ZodIssue, location: InputLocation): ValidationIssue {
  const loc: (string | number)[] = [
    location,
    ...issue.path.map((part) => (typeof part === "symbol" ? String(part) : part)),
  ];
  // Unknown keys are reported on the object; name them so the message points at the field.
  if (issue.code === "unrecognized_keys") {
    return { loc: [...loc, ...issue.keys.slice(0, 1)], msg: issue.message, type: issue.code };
  }
  return { loc, msg: issue.message, type: issue.code };
}

/** A duration option: a finite number of milliseconds (zod refuses `NaN` and infinities). */
export const milliseconds = z.number({ error: "expected a number of milliseconds" });
export const positiveMilliseconds = milliseconds.positive({ error: "expected a positive number of milliseconds" });

/** A constructor option checked with `schema`, or a ConfigError that names it (`governedCalls.approvalPollMs: ...`). */
export function parseOption<TSchema extends z.ZodType>(
  name: string,
  schema: TSchema,
  value: unknown,
): z.output<TSchema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const unknown = issue.code === "unrecognized_keys";
  const path = [name, ...issue.path.map(String), ...(unknown ? issue.keys.slice(0, 1) : [])].join(".");
  throw new ConfigError(`${path}: ${unknown ? "unknown option" : issue.message}`);
}

/**
 * Constructor options: `given` checked with `schema` (a strict object of optional fields) over `defaults`. A bad
 * or unknown option throws a ConfigError that names it; an option given as `undefined` keeps its default.
 */
export function optionsWithDefaults<T extends object>(name: string, schema: z.ZodType, defaults: T, given: unknown): T {
  const chosen = Object.entries(parseOption(name, schema, given ?? {}) as object).filter(
    ([, value]) => value !== undefined,
  );
  return { ...defaults, ...Object.fromEntries(chosen) };
}
