import { defineConfig } from "vitest/config";

/** The package check: runs against the built `dist/` (run `npm run build` first), never against `src/`. */
export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
