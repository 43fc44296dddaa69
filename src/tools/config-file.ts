import { readFile } from "node:fs/promises";
import { ConfigError } from "../errors.js";
import { loadToolsConfig, ToolsConfigError } from "./http-tool.js";
import type { GovernedTool } from "./types.js";

/**
 * Reads a tools config file (`vargate serve --config tools.json`) and builds its tools. Errors name the file and,
 * for a bad config, every offending path.
 */
export async function readToolsConfigFile(path: string): Promise<GovernedTool[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`Cannot read tools config ${path}${code ? ` (${code})` : ""}`);
  }
  try {
    return loadToolsConfig(text);
  } catch (error) {
    if (error instanceof ToolsConfigError) throw new ToolsConfigError(error.issues, `tools config ${path}`);
    throw error;
  }
}
