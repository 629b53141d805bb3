import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { isDivanError } from "../../core/errors.js";
import { loadManifests, loadRegistry, loadSchemaFiles } from "../../schemas/load.js";
import { compatibilityMatrix, parseManifest, resolveManifest } from "../../schemas/manifest.js";
import { createRegistry } from "../../schemas/registry.js";
import type { Registry } from "../../schemas/registry.js";

const TODO = join(import.meta.dirname, "../../examples/todo-app");
const SCHEMAS = join(TODO, "schemas");

interface Fixture {
  type: string;
  version: number;
  valid: unknown[];
  invalid: { why: string; pointer: string; keyword: string; doc: unknown }[];
}

async function fixtures(): Promise<Fixture[]> {
  const out: Fixture[] = [];
  const dir = join(TODO, "fixtures");
  for (const type of await readdir(dir)) {
    for (const f of await readdir(join(dir, type))) out.push(JSON.parse(await readFile(join(dir, type, f), "utf8")) as Fixture);
  }
  return out;
}

let registry: Registry;
beforeAll(async () => {
  registry = await loadRegistry(SCHEMAS);
});

const todo2 = { _id: "todo-item:1", schema: "todo-item", version: 2, title: "t", status: "done", createdAt: "2024-01-01T00:00:00Z" };

describe("registry", () => {
  it("lists the todo types and majors from the folder layout", () => {
    expect(registry.types()).toEqual(["settings", "todo-item", "todo-item-status"]);
    expect(registry.majors("todo-item")).toEqual([1, 2, 3]);
    expect(registry.has("todo-item", 2)).toBe(true);
    expect(registry.has("todo-item", 4)).toBe(false);
    expect(registry.majors("nope")).toEqual([]);
  });

  it("validates a major against its newest minor (1.1 knows isImportant)", () => {
    expect(registry.schema("todo-item", 1).minor).toBe(1);
    const doc = { _id: "todo-item:1", schema: "todo-item", version: 1, title: "t", isDone: false, createdAt: "2024-01-01T00:00:00Z" };
    expect(registry.validate({ ...doc, isImportant: true })).toEqual({ ok: true, type: "todo-item", version: 1 });
    const bad = registry.validate({ ...doc, isImportant: "very" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors).toEqual([{ pointer: "/isImportant", message: "must be boolean", keyword: "type" }]);
  });

  it("reports every error with a pointer naming the field, never throws", () => {
    const r = registry.validate({ _id: "todo-item:1", schema: "todo-item", version: 2, title: 5, status: "nope" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe("SCHEMA_INVALID");
    expect(r.type).toBe("todo-item");
    expect(r.version).toBe(2);
    expect(r.errors.map((e) => `${e.pointer} ${e.keyword}`).sort()).toEqual(["/createdAt required", "/status enum", "/title type"]);
    expect(() => registry.validate(null)).not.toThrow();
    expect(registry.validate("text").ok).toBe(false);
  });

  it("gives UNKNOWN_TYPE for unknown types, unknown majors and untyped documents", () => {
    const a = registry.validate({ _id: "x", schema: "invoice", version: 1 });
    expect(a).toMatchObject({ ok: false, code: "UNKNOWN_TYPE", type: "invoice", version: 1 });
    expect(registry.validate({ ...todo2, version: 9 })).toMatchObject({ ok: false, code: "UNKNOWN_TYPE", type: "todo-item", version: 9 });
    expect(registry.validate({ _id: "legacy" })).toMatchObject({ ok: false, code: "UNKNOWN_TYPE" });
    expect(registry.identify({ _id: "legacy" })).toBeUndefined();
  });

  it("uses configurable type and version field names", async () => {
    const files = (await loadSchemaFiles(SCHEMAS)).map((f) => ({ ...f, schema: JSON.parse(JSON.stringify(f.schema).replace(/"schema"/g, '"kind"').replace(/"version"/g, '"v"')) as Record<string, unknown> }));
    const r = createRegistry(files, { typeField: "kind", versionField: "v" });
    const { schema, version, ...rest } = todo2;
    expect(r.validate({ ...rest, kind: schema, v: version })).toEqual({ ok: true, type: "todo-item", version: 2 });
    expect(r.identify(todo2)).toBeUndefined();
  });

  it("infers type and version of unversioned documents by _id prefix or function", async () => {
    const files = await loadSchemaFiles(SCHEMAS);
    const r = createRegistry(files, {
      infer: [
        { idPrefix: "todo-item:", type: "todo-item", version: 1 },
        (doc) => (doc["_id"] === "prefs" ? { type: "settings", version: 1 } : undefined),
      ],
    });
    const legacy = { _id: "todo-item:9", title: "old", isDone: true, createdAt: "2020-05-05T05:05:05Z" };
    expect(r.identify(legacy)).toEqual({ type: "todo-item", version: 1, inferred: true });
    expect(r.validate(legacy)).toEqual({ ok: true, type: "todo-item", version: 1 });
    expect(r.validate({ ...legacy, isDone: "no" })).toMatchObject({ ok: false, code: "SCHEMA_INVALID", errors: [{ pointer: "/isDone" }] });
    expect(r.validate({ _id: "prefs", color: "#000000" })).toMatchObject({ ok: false, errors: [{ pointer: "/_id", keyword: "pattern" }] });
    expect(r.identify({ _id: "prefs" })).toEqual({ type: "settings", version: 1, inferred: true });
    // a document carrying its own fields is not inferred
    expect(r.identify(todo2)).toEqual({ type: "todo-item", version: 2, inferred: false });
  });

  it("refuses a schema ajv cannot compile with SCHEMA_LOAD_FAILED naming it", () => {
    let caught: unknown;
    try {
      createRegistry([{ type: "bad", major: 1, minor: 0, schema: { type: "strin" } }]);
    } catch (e) {
      caught = e;
    }
    expect(isDivanError(caught, "SCHEMA_LOAD_FAILED")).toBe(true);
    expect((caught as Error).message).toContain("bad/1.0.json");
  });

  it("accepts every valid fixture and rejects every invalid one at the named pointer", async () => {
    const all = await fixtures();
    expect(all.map((f) => `${f.type}@${f.version}`).sort()).toEqual(["settings@1", "todo-item-status@1", "todo-item@1", "todo-item@2", "todo-item@3"]);
    for (const f of all) {
      for (const doc of f.valid) expect(registry.validate(doc), JSON.stringify(doc)).toEqual({ ok: true, type: f.type, version: f.version });
      for (const bad of f.invalid) {
        const r = registry.validate(bad.doc);
        expect(r.ok, bad.why).toBe(false);
        if (!r.ok) expect(r.errors.map((e) => [e.pointer, e.keyword]), bad.why).toContainEqual([bad.pointer, bad.keyword]);
      }
    }
  });
});

describe("manifests", () => {
  it("resolve the todo app versions to the shapes the todo example documents", async () => {
    const manifests = await loadManifests(join(TODO, "manifests"));
    expect(manifests.map((m) => m.version)).toEqual(["1.0.0", "1.1.0", "2.0.0", "3.0.0"]);
    expect(manifests.map((m) => resolveManifest(m, registry))).toEqual([
      { "todo-item": 1 },
      { "todo-item": 1, settings: 1 },
      { "todo-item": 2, settings: 1 },
      { "todo-item": 3, "todo-item-status": 1, settings: 1 },
    ]);
  });

  it("refuse a range no schema satisfies and an unknown type", () => {
    expect(() => resolveManifest({ name: "a", version: "1.0.0", dependencies: { "todo-item": "^1.2.0" } }, registry)).toThrow(/1\.0\.0, 1\.1\.0/);
    expect(() => resolveManifest({ name: "a", version: "1.0.0", dependencies: { invoice: "^1.0.0" } }, registry)).toThrow(/invoice/);
    expect(() => parseManifest({ name: "a", version: "x", dependencies: {} })).toThrow(/semantic version/);
    expect(() => parseManifest({ name: "a", version: "1.0.0", dependencies: { a: "not a range" } })).toThrow(/range/);
  });

  it("build a matrix where a wide range reads older majors and writes the newest", async () => {
    const manifests = [...(await loadManifests(join(TODO, "manifests"))), { name: "todo-app", version: "2.5.0", dependencies: { "todo-item": ">=1.0.0 <3.0.0" } }];
    const m = compatibilityMatrix(manifests, registry);
    expect(m.columns).toEqual(["settings@1", "todo-item@1", "todo-item@2", "todo-item@3", "todo-item-status@1"]);
    const row = (app: string) => m.rows.find((r) => r.app === app)!.access;
    expect(row("1.0.0")).toEqual({ "settings@1": "none", "todo-item@1": "read-write", "todo-item@2": "none", "todo-item@3": "none", "todo-item-status@1": "none" });
    expect(row("3.0.0")["todo-item-status@1"]).toBe("read-write");
    expect(row("3.0.0")["todo-item@2"]).toBe("none");
    expect(row("2.5.0")).toMatchObject({ "todo-item@1": "read", "todo-item@2": "read-write", "todo-item@3": "none" });
  });
});
