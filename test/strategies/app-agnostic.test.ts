/**
 * The library knows no app: no app version, type name or scenario name of the todo example (nor its name)
 * appears in the library's folders. The names are read from the example itself, so a new version, type or
 * scenario of the example is covered without editing this test.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SCENARIOS } from "../../examples/todo-app/scenarios.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples", "todo-app");
const LIBRARY = ["strategies", "server", "client", "store", "adapters", "schemas"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The example's app versions (`1.0.0`, and the `1.0` a comment would write), type names, scenario names and its name. */
function exampleNames(): string[] {
  const versions = readdirSync(path.join(EXAMPLE, "manifests")).map((f) => f.replace(/\.json$/, ""));
  const short = versions.map((v) => v.replace(/\.0$/, ""));
  const types = readdirSync(path.join(EXAMPLE, "schemas"));
  const scenarios = SCENARIOS.map((s) => s.name);
  return [...versions, ...short, ...types, ...scenarios, "todo"];
}

describe("the library is parameterised by the app", () => {
  it("names no app version, type or scenario of the todo example in strategies/, server/, client/, store/, adapters/, schemas/", () => {
    const names = exampleNames();
    expect(names).toEqual(expect.arrayContaining(["1.0.0", "3.0.0", "todo-item", "todo-item-status", "haneen"]));
    // A name counts where it is not part of a longer word, path or number (`1.0` in `11.0.2` or `HTTP/1.1` is no app version).
    const pattern = new RegExp(`(?<![\\w./-])(${names.map(escape).join("|")})(?![\\w-]|\\.\\d)`, "i");
    const hits: string[] = [];
    for (const dir of LIBRARY) {
      for (const file of filesUnder(path.join(ROOT, dir))) {
        readFileSync(file, "utf8")
          .split("\n")
          .forEach((line, i) => {
            const m = pattern.exec(line);
            if (m) hits.push(`${path.relative(ROOT, file)}:${i + 1}: ${m[1]} in ${line.trim()}`);
          });
      }
    }
    expect(hits).toEqual([]);
  });
});
