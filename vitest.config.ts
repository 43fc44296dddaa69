import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { ENTRIES } from "./tsup.config.js";

// `vargate` and `vargate/<entry>` resolve to the source, so examples/ import the package exactly as a user would.
// Exact matches only: `vargate` must not swallow `vargate/express`. The CLI entry is a bin, not a subpath.
const vargateAliases = Object.entries(ENTRIES)
  .filter(([entry]) => entry !== "cli")
  .map(([entry, file]) => ({
    find: new RegExp(`^vargate${entry === "index" ? "" : `/${entry}`}$`),
    replacement: fileURLToPath(new URL(file, import.meta.url)),
  }));

export default defineConfig({
  resolve: { alias: vargateAliases },
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts", "examples/**/*.test.ts"],
    exclude: ["test/package/**", "node_modules/**"],
    // In CI every test is listed, so the log shows which tests ran on SQLite, PostgreSQL and MariaDB.
    reporters: process.env.CI ? ["verbose"] : ["default"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
