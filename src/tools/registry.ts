import { ConfigError } from "../errors.js";
import { checkToolName } from "./define.js";
import type { GovernedTool } from "./types.js";

/**
 * The governed tools one governor serves. Names are unique; `tools/list` shows the ones in the session's
 * `allowed_tools`. Registering is meant for start-up: the registry is per governor, never global.
 */
export class ToolRegistry {
  readonly #tools = new Map<string, GovernedTool>();

  /**
   * Adds tools. Throws `ConfigError` for an invalid or reserved name, a name already registered (or repeated in
   * this call), or something that is not a tool; then none of the given tools is added.
   */
  register(...tools: GovernedTool[]): this {
    const seen = new Set<string>();
    for (const tool of tools) {
      if (!tool || typeof tool !== "object" || typeof tool.execute !== "function") {
        throw new ConfigError("register: expected tools made with defineTool() or httpTool()");
      }
      const name = checkToolName(tool.name);
      if (this.#tools.has(name) || seen.has(name)) throw new ConfigError(`Tool "${name}" is already registered`);
      seen.add(name);
    }
    for (const tool of tools) this.#tools.set(tool.name, tool);
    return this;
  }

  get(name: string): GovernedTool | undefined {
    return this.#tools.get(name);
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  /** Every registered tool, in registration order. */
  list(): GovernedTool[] {
    return [...this.#tools.values()];
  }

  get size(): number {
    return this.#tools.size;
  }
}
