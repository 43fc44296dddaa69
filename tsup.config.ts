import { defineConfig } from "tsup";

/** The single list of public entry points; package.json#exports must match it (checked in test/package). */
export const ENTRIES = {
  index: "src/index.ts",
  kysely: "src/storage/kysely/index.ts",
  memory: "src/storage/memory-entry.ts",
  anthropic: "src/upstream/index.ts",
  express: "src/adapters/express.ts",
  fastify: "src/adapters/fastify.ts",
  node: "src/adapters/node.ts",
  fetch: "src/adapters/fetch.ts",
  testing: "src/testing/index.ts",
  cli: "src/cli/main.ts",
} as const;

export default defineConfig({
  entry: ENTRIES,
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // Shared chunks keep one copy of errors.ts, so `instanceof VargateError` holds across subpaths.
  splitting: true,
  // `import.meta.url` in the CommonJS build too (the SQLite verify workers resolve their driver from it).
  shims: true,
  external: ["better-sqlite3", "pg", "mysql2", "kysely", "express", "fastify", "vitest", "@anthropic-ai/sdk"],
});
