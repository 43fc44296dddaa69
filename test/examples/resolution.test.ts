// Examples import `vargate/...` exactly like a user. tsconfig `paths` (tsc, tsx) and the vitest alias point those
// specifiers at the source; the alias is built from ENTRIES, and tsconfig (JSON) is checked against it here.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ENTRIES } from "../../tsup.config.js";

const ROOT = join(import.meta.dirname, "../..");

/** The public specifier of every entry: `vargate` for index, `vargate/<entry>` otherwise. The CLI is a bin. */
const PUBLIC_ENTRIES = Object.fromEntries(
  Object.entries(ENTRIES)
    .filter(([entry]) => entry !== "cli")
    .map(([entry, file]) => [entry === "index" ? "vargate" : `vargate/${entry}`, file]),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

describe("module resolution of the examples", () => {
  it("maps every public subpath of ENTRIES, and nothing else, in tsconfig.json paths", () => {
    const { config, error } = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile);
    expect(error).toBeUndefined();
    const paths = (config as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
    const mapped = Object.fromEntries(Object.entries(paths).map(([key, [file]]) => [key, file?.replace(/^\.\//, "")]));
    expect(mapped).toEqual(PUBLIC_ENTRIES);
  });

  it("has examples import vargate only through its public entry points", () => {
    const files = sourceFiles(join(ROOT, "examples"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const specifiers = [...text.matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gms)].map((match) => match[1] as string);
      const where = relative(ROOT, file);
      for (const specifier of specifiers) {
        expect(specifier.includes("/src/") || specifier.startsWith("../"), `${where} imports ${specifier}`).toBe(false);
        if (specifier.startsWith("vargate")) expect(Object.keys(PUBLIC_ENTRIES), where).toContain(specifier);
      }
    }
  });

  it("keeps src/ and test/ on relative imports, so the paths mapping changes nothing there", () => {
    const offenders = [...sourceFiles(join(ROOT, "src")), ...sourceFiles(join(ROOT, "test"))]
      .filter((file) => !file.includes(`${join("test", "package")}`))
      .filter((file) => /from\s+"vargate(\/[a-z]+)?"/.test(readFileSync(file, "utf8")))
      .map((file) => relative(ROOT, file));
    expect(offenders).toEqual([]);
  });
});
