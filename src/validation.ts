import type * as z from "zod";
import { ValidationError, type ValidationIssue } from "./errors.js";

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
