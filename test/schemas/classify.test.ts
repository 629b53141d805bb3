import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classifyChange } from "../../schemas/classify.js";
import type { BreakingKind } from "../../schemas/classify.js";
import { loadSchemaFiles } from "../../schemas/load.js";
import type { JsonSchema } from "../../schemas/registry.js";
import { checkSchemas } from "../../server/commands/check.js";

const SCHEMAS = join(import.meta.dirname, "../../examples/todo-app/schemas");

const base = {
  type: "object",
  required: ["title"],
  properties: {
    title: { type: "string", maxLength: 64, minLength: 1, pattern: "^[a-z]" },
    count: { type: "integer", minimum: 0, maximum: 10, multipleOf: 2 },
    kind: { enum: ["a", "b", "c"] },
    when: { type: "string", format: "date" },
    tags: { type: "array", items: { type: "string" }, maxItems: 5 },
    done: { type: "boolean" },
  },
};

function variant(edit: (s: typeof base & Record<string, unknown>) => void): JsonSchema {
  const s = JSON.parse(JSON.stringify(base)) as typeof base & Record<string, unknown>;
  edit(s);
  return s;
}

const kinds = (from: JsonSchema, to: JsonSchema) => classifyChange(from, to).breaking.map((c) => [c.kind, c.pointer, c.message]);

describe("change classification", () => {
  const breakingCases: [string, BreakingKind, string, (s: typeof base & Record<string, unknown>) => void][] = [
    ["a property is removed", "property-removed", "/done", (s) => delete (s.properties as Record<string, unknown>)["done"]],
    ["a property is renamed", "property-renamed", "/done", (s) => {
      const p = s.properties as Record<string, unknown>;
      p["finished"] = p["done"];
      delete p["done"];
    }],
    ["a new required property appears", "required-added", "/group", (s) => {
      (s.properties as Record<string, unknown>)["group"] = { type: "string" };
      s.required.push("group");
    }],
    ["an optional property becomes required", "required-added", "/done", (s) => s.required.push("done")],
    ["a type is narrowed", "type-narrowed", "/count", (s) => void (s.properties.count.type = "string")],
    ["an enum loses a value", "enum-narrowed", "/kind", (s) => void (s.properties.kind.enum = ["a", "b"])],
    ["an enum is introduced", "enum-narrowed", "/done", (s) => void ((s.properties.done as Record<string, unknown>)["enum"] = [true])],
    ["a const is introduced", "const-changed", "/kind", (s) => void ((s.properties.kind as Record<string, unknown>)["const"] = "a")],
    ["maxLength shrinks", "bound-tightened", "/title", (s) => void (s.properties.title.maxLength = 32)],
    ["minLength grows", "bound-tightened", "/title", (s) => void (s.properties.title.minLength = 3)],
    ["maximum shrinks", "bound-tightened", "/count", (s) => void (s.properties.count.maximum = 5)],
    ["minimum grows", "bound-tightened", "/count", (s) => void (s.properties.count.minimum = 1)],
    ["maxItems shrinks", "bound-tightened", "/tags", (s) => void (s.properties.tags.maxItems = 2)],
    ["multipleOf becomes stricter", "bound-tightened", "/count", (s) => void (s.properties.count.multipleOf = 4)],
    ["a pattern changes", "pattern-changed", "/title", (s) => void (s.properties.title.pattern = "^[A-Z]")],
    ["a format is added", "format-changed", "/title", (s) => void ((s.properties.title as Record<string, unknown>)["format"] = "email")],
    ["unknown properties are forbidden", "additional-properties-restricted", "", (s) => void (s["additionalProperties"] = false)],
    ["array items get a tighter bound", "bound-tightened", "/tags/*", (s) => void (s.properties.tags.items = { type: "string", maxLength: 3 } as never)],
    ["items must become unique", "unique-items-added", "/tags", (s) => void ((s.properties.tags as Record<string, unknown>)["uniqueItems"] = true)],
    ["a property becomes impossible", "schema-false", "/done", (s) => void ((s.properties as Record<string, unknown>)["done"] = false)],
    ["a keyword divan cannot reason about changes", "keyword-changed", "/when", (s) => void ((s.properties.when as Record<string, unknown>)["not"] = { const: "2000-01-01" })],
  ];

  it.each(breakingCases)("is breaking when %s", (_name, kind, pointer, edit) => {
    const c = classifyChange(base, variant(edit));
    expect(c.verdict).toBe("breaking");
    expect(c.breaking.map((x) => [x.kind, x.pointer])).toContainEqual([kind, pointer]);
    for (const x of c.breaking) expect(x.message.length).toBeGreaterThan(0);
  });

  it("names the new and old property of a rename", () => {
    const to = variant((s) => {
      const p = s.properties as Record<string, unknown>;
      p["finished"] = p["done"];
      delete p["done"];
    });
    expect(kinds(base, to)).toEqual([["property-renamed", "/done", "property done renamed to finished"]]);
  });

  it("tightened bounds name the limit", () => {
    expect(kinds(base, variant((s) => void (s.properties.title.maxLength = 32)))).toEqual([["bound-tightened", "/title", "title: maxLength tightened to 32 (was 64)"]]);
  });

  it.each<[string, (s: typeof base & Record<string, unknown>) => void]>([
    ["an optional property is added", (s) => void ((s.properties as Record<string, unknown>)["note"] = { type: "string" })],
    ["a required property becomes optional", (s) => void (s.required = [])],
    ["an enum gains a value", (s) => void s.properties.kind.enum.push("d")],
    ["bounds are relaxed", (s) => {
      s.properties.title.maxLength = 128;
      s.properties.count.minimum = -5;
      delete (s.properties.tags as Record<string, unknown>)["maxItems"];
    }],
    ["a type is widened", (s) => void ((s.properties.count as Record<string, unknown>)["type"] = ["integer", "null"])],
    ["only annotations change", (s) => {
      s["title"] = "renamed";
      (s.properties.title as Record<string, unknown>)["description"] = "what to do";
      (s.properties.done as Record<string, unknown>)["default"] = false;
    }],
  ])("is non-breaking when %s", (_name, edit) => {
    const c = classifyChange(base, variant(edit));
    expect(c.breaking).toEqual([]);
    expect(c.verdict).toBe("non-breaking");
  });

  it("classifies the todo schemas: 1.0→1.1 non-breaking, 1.1→2.0 and 2.0→3.0 breaking naming isDone, status and group", async () => {
    const files = (await loadSchemaFiles(SCHEMAS)).filter((f) => f.type === "todo-item");
    const at = (major: number, minor: number) => files.find((f) => f.major === major && f.minor === minor)!.schema;
    const a = classifyChange(at(1, 0), at(1, 1));
    expect(a.verdict).toBe("non-breaking");
    expect(a.nonBreaking.map((c) => [c.kind, c.pointer])).toEqual([["property-added", "/isImportant"]]);
    const b = classifyChange(at(1, 1), at(2, 0));
    expect(b.verdict).toBe("breaking");
    expect(b.breaking.map((c) => [c.kind, c.pointer])).toEqual([["property-removed", "/isDone"], ["required-added", "/status"], ["const-changed", "/version"]]);
    const c = classifyChange(at(2, 0), at(3, 0));
    expect(c.verdict).toBe("breaking");
    expect(c.breaking.map((x) => [x.kind, x.pointer])).toEqual([["property-removed", "/status"], ["required-added", "/group"], ["const-changed", "/version"]]);
    expect(c.breaking.map((x) => x.message).join(" ")).toMatch(/status.*group/);
  });
});

describe("divan check", () => {
  it("passes the todo schemas with a no-step warning per major bump and prints the matrix", async () => {
    const r = await checkSchemas({ schemas: SCHEMAS, manifests: join(SCHEMAS, "../manifests") });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(["todo-item 1 → 2: no step registered", "todo-item 2 → 3: no step registered"]);
    expect(r.matrix).toContain("| 3.0.0 | rw | – | – | rw | rw |");
  });

  it("fails when a minor version is breaking", async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "divan-check-"));
    try {
      await mkdir(join(dir, "note"));
      await writeFile(join(dir, "note", "1.0.json"), JSON.stringify({ type: "object", properties: { text: { type: "string" } } }));
      await writeFile(join(dir, "note", "1.1.json"), JSON.stringify({ type: "object", required: ["text"], properties: { text: { type: "string" } } }));
      const r = await checkSchemas({ schemas: dir });
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(/note 1\.0 → note 1\.1 is a minor version but breaking: property text is now required/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
