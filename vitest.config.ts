import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    exclude: ["test/package/**", "node_modules/**"],
    // In CI every test is listed, so the log shows which tests ran on SQLite, PostgreSQL and MariaDB.
    reporters: process.env.CI ? ["verbose"] : ["default"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
