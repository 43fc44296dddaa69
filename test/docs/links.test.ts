// Every relative link in the README, CHANGELOG, CONTRIBUTING and docs/ points at a file that exists.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith(".md") ? [path] : [];
  });
}

const FILES = [
  ...["README.md", "CHANGELOG.md", "CONTRIBUTING.md"].map((name) => join(ROOT, name)),
  ...markdownFiles(join(ROOT, "docs")),
].filter((file) => existsSync(file));

describe("documentation links", () => {
  it.each(FILES.map((file) => [relative(ROOT, file), file]))("%s links only to files that exist", (_, file) => {
    const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
    const broken = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"))
      .map((target) => target.split("#")[0] as string)
      .filter((target) => !existsSync(join(dirname(file), target)));
    expect(broken).toEqual([]);
  });
});
