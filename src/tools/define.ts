import * as z from "zod";
import { ConfigError, ValidationError, type ValidationIssue } from "../errors.js";
import type { JsonObject } from "../json.js";
import type { GovernedTool, ToolExecutionContext, ToolOutput } from "./types.js";

/** Tool names MCP clients and the Managed Agents platform accept. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Credential names a tool may ask for; also what `{{credentials.name}}` placeholders accept. */
export const CREDENTIAL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** The built-in tool every session lists; no registered tool may take its name. */
export const APPROVAL_STATUS_TOOL = "vargate_approval_status";

/** What `defineTool()` takes. */
export interface ToolDefinition<TSchema extends z.ZodObject> {
  name: string;
  description: string;
  /** A zod object schema for the arguments, e.g. `z.object({ amount: z.number().positive() })`. */
  inputSchema: TSchema;
  /** Credential names `execute` needs (see `CREDENTIAL_NAME_PATTERN`). @default [] */
  credentials?: readonly string[];
  /**
   * The JSON Schema `tools/list` shows. @default derived from `inputSchema` with `z.toJSONSchema` (input side;
   * parts JSON Schema cannot express, such as refinements, are left out of the listing but still enforced)
   */
  inputJsonSchema?: JsonObject;
  /** Runs the tool: return a string (shown as text) or a JSON-serializable value; throw to fail the call. */
  execute(input: z.output<TSchema>, context: ToolExecutionContext): Promise<ToolOutput>;
}

/**
 * Defines a governed tool in code.
 *
 * ```ts
 * const createCharge = defineTool({
 *   name: "create_charge",
 *   description: "Charge a customer, in cents",
 *   inputSchema: z.object({ customer: z.string(), amount: z.number().int().positive() }),
 *   credentials: ["stripe"],
 *   async execute(input, { credentials, actionId, signal }) {
 *     const response = await fetch("https://api.stripe.com/v1/charges", {
 *       method: "POST",
 *       headers: { authorization: `Bearer ${credentials.stripe}`, "idempotency-key": actionId },
 *       body: new URLSearchParams({ customer: input.customer, amount: String(input.amount), currency: "usd" }),
 *       signal,
 *     });
 *     if (!response.ok) throw new Error(`Stripe answered ${response.status}`);
 *     return response.json();
 *   },
 * });
 * ```
 *
 * Throws `ConfigError` for a bad name, a schema that is not a zod object, or a bad credential name.
 */
export function defineTool<TSchema extends z.ZodObject>(
  definition: ToolDefinition<TSchema>,
): GovernedTool<z.output<TSchema>> {
  if (!definition || typeof definition !== "object") throw new ConfigError("defineTool: expected a definition object");
  if (!isZodObject(definition.inputSchema)) {
    throw new ConfigError(
      `Tool ${JSON.stringify(definition.name)}: inputSchema must be a zod (v4) object schema, e.g. z.object({...})`,
    );
  }
  return createTool({
    ...definition,
    inputSchema: definition.inputSchema as unknown as z.ZodType<z.output<TSchema>>,
    inputJsonSchema: definition.inputJsonSchema ?? toListedSchema(definition.inputSchema),
  });
}

/** Checks and freezes a tool; `defineTool` and `httpTool` both end here. */
export function createTool<TInput>(definition: {
  name: string;
  description: string;
  inputSchema: z.ZodType<TInput>;
  inputJsonSchema: JsonObject;
  credentials?: readonly string[] | undefined;
  execute(input: TInput, context: ToolExecutionContext): Promise<ToolOutput>;
}): GovernedTool<TInput> {
  const name = checkToolName(definition.name);
  if (typeof definition.description !== "string" || definition.description.trim() === "") {
    throw new ConfigError(`Tool "${name}": description must be a non-empty string`);
  }
  if (typeof definition.execute !== "function") throw new ConfigError(`Tool "${name}": execute must be a function`);
  const credentials = checkCredentialNames(name, definition.credentials ?? []);
  const execute = definition.execute;
  return Object.freeze({
    name,
    description: definition.description,
    inputSchema: definition.inputSchema,
    inputJsonSchema: definition.inputJsonSchema,
    credentials,
    execute: (input: TInput, context: ToolExecutionContext) => execute(input, context),
  });
}

/** The result of `validateToolInput`. */
export type ToolInputValidation = { ok: true; input: unknown } | { ok: false; issues: ValidationIssue[] };

/**
 * Checks raw arguments against a tool's schema. `input` is the parsed value (defaults applied, unknown keys of
 * a plain `z.object` dropped); `issues` name each bad field with `loc: ["input", ...path]`.
 */
export async function validateToolInput(tool: GovernedTool, input: unknown): Promise<ToolInputValidation> {
  // Async, so schemas with async refinements work too.
  const result = await tool.inputSchema.safeParseAsync(input ?? {});
  if (result.success) return { ok: true, input: result.data };
  return { ok: false, issues: result.error.issues.map(toIssue) };
}

/** Like `validateToolInput`, but throws a `ValidationError` (HTTP 422) naming the bad fields. */
export async function parseToolInput(tool: GovernedTool, input: unknown): Promise<unknown> {
  const result = await validateToolInput(tool, input);
  if (!result.ok) throw new ValidationError(result.issues);
  return result.input;
}

/** Describes issues in one line: `input.amount: Too small: expected number to be >0; input.currency: ...`. */
export function describeToolInputIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; ");
}

export function checkToolName(name: unknown): string {
  if (typeof name !== "string" || !TOOL_NAME_PATTERN.test(name)) {
    throw new ConfigError(`Tool name ${JSON.stringify(name)} is invalid: use 1-64 characters of a-z, A-Z, 0-9, _ or -`);
  }
  if (name === APPROVAL_STATUS_TOOL) throw new ConfigError(`Tool name "${name}" is reserved for the built-in tool`);
  return name;
}

function checkCredentialNames(tool: string, names: readonly string[]): readonly string[] {
  if (!Array.isArray(names)) throw new ConfigError(`Tool "${tool}": credentials must be an array of names`);
  for (const name of names) {
    if (typeof name !== "string" || !CREDENTIAL_NAME_PATTERN.test(name)) {
      throw new ConfigError(
        `Tool "${tool}": credential name ${JSON.stringify(name)} is invalid: use 1-64 characters of a-z, A-Z, 0-9, _ or -`,
      );
    }
  }
  return Object.freeze([...new Set(names)]);
}

function isZodObject(schema: unknown): schema is z.ZodObject {
  // Checked structurally rather than with instanceof, so a schema from another copy of zod 4 also passes.
  const internals = (schema as { _zod?: { def?: { type?: unknown } } } | null)?._zod;
  return (
    typeof (schema as { safeParse?: unknown } | null)?.safeParse === "function" && internals?.def?.type === "object"
  );
}

function toListedSchema(schema: z.ZodObject): JsonObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonObject;
  return rest;
}

function toIssue(issue: z.core.$ZodIssue): ValidationIssue {
  const loc: (string | number)[] = [
    "input",
    ...issue.path.map((part) => (typeof part === "symbol" ? String(part) : part)),
  ];
  if (issue.code === "unrecognized_keys") {
    return { loc: [...loc, ...issue.keys.slice(0, 1)], msg: issue.message, type: issue.code };
  }
  return { loc, msg: issue.message, type: issue.code };
}
