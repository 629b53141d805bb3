/**
 * Every source module opens with a comment whose first paragraph says what the module is for in two lines or fewer.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCES = ["index.ts", "core", "schemas", "adapters", "store", "strategies", "server", "client", "examples"];

function sourceFiles(rel: string): string[] {
  if (rel.endsWith(".ts")) return rel.endsWith(".d.ts") ? [] : [rel];
  return readdirSync(path.join(ROOT, rel), { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.name.endsWith(".ts"))
    .flatMap((e) => sourceFiles(path.posix.join(rel, e.name)));
}

/** The first paragraph of the module's opening comment, one entry per line; `undefined` without one. */
function summaryOf(text: string): string[] | undefined {
  const match = /^(?:#!.*\n)?\s*\/\*\*?([\s\S]*?)\*\//.exec(text);
  if (match === null) return undefined;
  const lines = match[1]!.split("\n").map((l) => l.trim().replace(/^\*\s?/, "").trim());
  while (lines[0] === "") lines.shift();
  const end = lines.indexOf("");
  return end === -1 ? lines : lines.slice(0, end);
}

describe("module comments", () => {
  it("every module opens with what it is for, in two lines or fewer", () => {
    const wrong = SOURCES.flatMap(sourceFiles).flatMap((f) => {
      const summary = summaryOf(readFileSync(path.join(ROOT, f), "utf8"));
      if (summary === undefined || summary.length === 0) return [`${f}: no opening comment`];
      return summary.length > 2 ? [`${f}: ${summary.length} lines before the first blank line`] : [];
    });
    expect(wrong).toEqual([]);
  });
});
