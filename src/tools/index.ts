export { readToolsConfigFile } from "./config-file.js";
export {
  APPROVAL_STATUS_TOOL,
  CREDENTIAL_NAME_PATTERN,
  defineTool,
  describeToolInputIssues,
  parseToolInput,
  TOOL_NAME_PATTERN,
  type ToolDefinition,
  type ToolInputValidation,
  validateToolInput,
} from "./define.js";
export { DEFAULT_MAX_RESULT_BYTES, executeTool, serializeOutput } from "./execute.js";
export {
  type HttpToolDefinition,
  type HttpToolRequest,
  httpTool,
  httpToolSchema,
  loadToolsConfig,
  ToolsConfigError,
  toolsConfigSchema,
} from "./http-tool.js";
export { type ConfigIssue, SUPPORTED_JSON_SCHEMA_KEYWORDS } from "./json-schema.js";
export { ToolRegistry } from "./registry.js";
export { REDACTED, secretScrubber } from "./scrub.js";
export type {
  ExecuteToolOptions,
  GovernedTool,
  ToolExecutionContext,
  ToolExecutionResult,
  ToolOutput,
} from "./types.js";
