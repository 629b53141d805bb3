import { createRequire } from "node:module";
import { join } from "node:path";
import vm from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDivanError } from "../../core/errors.js";
import { schemaDesignDoc } from "../../schemas/design-doc.js";
import { loadRegistry, loadSchemaFiles } from "../../schemas/load.js";
import { createRegistry } from "../../schemas/registry.js";
import type { Registry, ValidationResult } from "../../schemas/registry.js";
import { arbitraryFromSchema } from "../../schemas/arbitrary.js";
import { uniqueDbName } from "../support/backends.js";
import { couchFetch, startTestServer, type TestServer } from "../support/server.js";

const SCHEMAS = join(import.meta.dirname, "../../examples/todo-app/schemas");

let registry: Registry;
let source: string;
beforeAll(async () => {
  registry = await loadRegistry(SCHEMAS);
  source = schemaDesignDoc(registry).validate_doc_update;
});

/** Evaluates the function like CouchDB would: a fresh global with no Node APIs, no require, no module. */
function inSandbox(src: string): (doc: unknown) => void {
  const fn = vm.runInNewContext(`(${src})`, Object.create(null) as object) as (n: unknown, o: unknown, u: unknown, s: unknown) => void;
  return (doc) => fn(JSON.parse(JSON.stringify(doc)), null, { name: null, roles: [] }, {});
}

function verdict(run: (doc: unknown) => void, doc: unknown): { ok: true } | { ok: false; reason: string } {
  try {
    run(doc);
    return { ok: true };
  } catch (e) {
    const forbidden = (e as { forbidden?: unknown }).forbidden;
    if (typeof forbidden !== "string") throw e; // anything but { forbidden } is a bug in the function
    return { ok: false, reason: forbidden };
  }
}

/** The design document lets unknown types through, so its expected verdict is "valid or unknown". */
function expectedByAjv(r: ValidationResult): boolean {
  return r.ok || r.code === "UNKNOWN_TYPE";
}

const todo2 = { _id: "todo-item:a1", schema: "todo-item", version: 2, title: "Buy milk", status: "active", createdAt: "2024-03-01T09:30:00Z" };

describe("validate_doc_update from schemas", () => {
  it("is one ES5 function expression that needs no require", () => {
    const acorn = createRequire(import.meta.url)("acorn") as { parse(src: string, opts: { ecmaVersion: number }): unknown };
    expect(() => acorn.parse(`(${source})`, { ecmaVersion: 5 })).not.toThrow();
    expect(source).not.toMatch(/\brequire\s*\(/);
    expect(source.startsWith("function (newDoc, oldDoc, userCtx, secObj)")).toBe(true);
    const ddoc = schemaDesignDoc(registry);
    expect(ddoc._id).toBe("_design/divan-schema");
    expect(ddoc.divan.schemas).toEqual(["settings@1.0", "todo-item@1.1", "todo-item@2.0", "todo-item@3.0", "todo-item-status@1.0"]);
  });

  it("refuses an invalid known type naming the field, accepts valid ones, deletions, design docs and unknown types", () => {
    const run = inSandbox(source);
    expect(verdict(run, todo2)).toEqual({ ok: true });
    expect(verdict(run, { ...todo2, status: "finished" })).toEqual({ ok: false, reason: "invalid todo-item@2 document todo-item:a1: /status must be equal to one of the allowed values" });
    expect(verdict(run, { ...todo2, createdAt: "2024-02-30T10:00:00Z" })).toMatchObject({ ok: false, reason: expect.stringContaining("/createdAt must match format \"date-time\"") as unknown });
    const { status: _s, ...noStatus } = todo2;
    expect(verdict(run, noStatus)).toMatchObject({ ok: false, reason: expect.stringContaining("/status must have required property 'status'") as unknown });
    expect(verdict(run, { _id: "todo-item:a1", _rev: "1-x", _deleted: true })).toEqual({ ok: true });
    expect(verdict(run, { _id: "_design/other", views: {} })).toEqual({ ok: true });
    expect(verdict(run, { _id: "invoice:1", schema: "invoice", version: 1 })).toEqual({ ok: true });
    expect(verdict(run, { ...todo2, version: 7 })).toEqual({ ok: true });
    expect(verdict(run, { _id: "untyped" })).toEqual({ ok: true });
  });

  it("refuses unknown types and untyped documents when told to", () => {
    const run = inSandbox(schemaDesignDoc(registry, { rejectUnknown: true }).validate_doc_update);
    expect(verdict(run, todo2)).toEqual({ ok: true });
    expect(verdict(run, { _id: "invoice:1", schema: "invoice", version: 1 })).toEqual({ ok: false, reason: "document invoice:1 has unknown type invoice@1" });
    expect(verdict(run, { _id: "untyped" })).toMatchObject({ ok: false });
  });

  it("honours id-prefix infer rules and custom field names", async () => {
    const files = await loadSchemaFiles(SCHEMAS);
    const r = createRegistry(files, { infer: [{ idPrefix: "todo-item:", type: "todo-item", version: 1 }] });
    const run = inSandbox(schemaDesignDoc(r).validate_doc_update);
    const legacy = { _id: "todo-item:old", title: "x", isDone: true, createdAt: "2020-01-01T00:00:00Z" };
    expect(verdict(run, legacy)).toEqual({ ok: true });
    expect(verdict(run, { ...legacy, isDone: "yes" })).toMatchObject({ ok: false, reason: expect.stringContaining("/isDone must be boolean") as unknown });
  });

  it("refuses to build for a format CouchDB cannot check", () => {
    const r = createRegistry([{ type: "link", major: 1, minor: 0, schema: { type: "object", properties: { href: { type: "string", format: "url" } } } }]);
    let caught: unknown;
    try {
      schemaDesignDoc(r);
    } catch (e) {
      caught = e;
    }
    expect(isDivanError(caught, "SCHEMA_INVALID")).toBe(true);
    expect((caught as Error).message).toContain('format "url"');
  });

  it("checks date-time, deep equality and string length exactly like ajv (inlined ES5 helpers)", () => {
    const r = createRegistry([
      {
        type: "probe",
        major: 1,
        minor: 0,
        schema: {
          type: "object",
          properties: {
            at: { type: "string", format: "date-time" },
            day: { type: "string", format: "date" },
            pick: { enum: [{ a: [1, 2] }, [3, { b: null }]] },
            short: { type: "string", maxLength: 2 },
            tags: { type: "array", uniqueItems: true },
            n: { type: "integer", format: "int32" },
          },
        },
      },
    ]);
    const run = inSandbox(schemaDesignDoc(r).validate_doc_update);
    const values = [
      { at: "2024-06-30T23:59:60Z" }, { at: "2024-06-30T22:59:60-01:00" }, { at: "2024-06-30T12:59:60Z" }, { at: "2023-02-29T00:00:00Z" },
      { at: "2024-02-29T00:00:00.123+05:30" }, { at: "2024-02-29 00:00:00Z" }, { at: "2024-02-29T00:00:00" }, { at: "2024-02-29T24:00:00Z" },
      { day: "2000-02-29" }, { day: "1900-02-29" }, { day: "2000-13-01" }, { pick: { a: [1, 2] } }, { pick: { a: [2, 1] } }, { pick: [3, { b: null }] },
      { short: "\u{1F600}\u{1F600}" }, { short: "abc" }, { tags: [{ x: 1 }, { x: 1 }] }, { tags: [{ x: 1 }, { x: 2 }] }, { n: 2147483648 }, { n: -2147483648 },
    ];
    let refused = 0;
    for (const v of values) {
      const doc = { _id: "p", schema: "probe", version: 1, ...v };
      const ajv = r.validate(doc).ok;
      expect(verdict(run, doc).ok, JSON.stringify(v)).toBe(ajv);
      if (!ajv) refused++;
    }
    expect(refused).toBeGreaterThanOrEqual(8);
  });

  it("agrees with ajv on 600 generated valid and invalid documents", () => {
    const run = inSandbox(source);
    const known = registry.types().flatMap((t) => registry.majors(t).map((m) => registry.schema(t, m).schema as object));
    const nearMissDates = fc.constantFrom("2024-02-30T10:00:00Z", "2024-06-30T23:59:60Z", "2024-01-01T00:00:00", "2024-01-01", "2024-01-01T10:00:00+25:00", "24-01-01T10:00:00Z", "2024-12-31t23:59:59.5z");
    const badValue = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.string({ maxLength: 80 }), nearMissDates, fc.constantFrom("active", "done", "finished", "", "#abcdef", "#12345g", 1, 2, 3));
    // Mutations target the generated document's own fields, so most mutated documents are really invalid.
    const arb = fc.oneof(...known.map((s) => arbitraryFromSchema(s, { unknownKeys: 2 }))).chain((generated) => {
      const doc = generated as Record<string, unknown>;
      const keys = Object.keys(doc);
      return fc.oneof(
        { weight: 2, arbitrary: fc.constant(doc) },
        { weight: 1, arbitrary: fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(doc).filter(([key]) => key !== k))) },
        { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...keys), badValue).map(([k, v]) => ({ ...doc, [k]: v })) },
      );
    });
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(arb, (doc) => {
        const expected = expectedByAjv(registry.validate(doc));
        if (expected) valid++;
        else invalid++;
        return verdict(run, doc).ok === expected;
      }),
      { numRuns: 600, seed: 0x5eed },
    );
    expect(valid + invalid).toBeGreaterThanOrEqual(600);
    expect(valid).toBeGreaterThan(100);
    expect(invalid).toBeGreaterThan(100);
  });
});

describe("validate_doc_update on a CouchDB server (COUCHDB_URL or embedded)", () => {
  let server: TestServer;
  let db: string;
  beforeAll(async () => {
    server = await startTestServer();
    db = `${server.url}/${uniqueDbName("schemas")}`;
    expect((await couchFetch(db, { method: "PUT" })).status).toBe(201);
    const res = await couchFetch(`${db}/_design/divan-schema`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(schemaDesignDoc(registry)) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    if (db !== undefined) await (await couchFetch(db, { method: "DELETE" })).arrayBuffer();
    await server?.close();
  });

  async function put(doc: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await couchFetch(`${db}/${encodeURIComponent(String(doc["_id"]))}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("refuses an invalid todo-item@2 naming the field", async () => {
    const r = await put({ ...todo2, _id: "todo-item:bad", status: "finished" });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: "forbidden", reason: "invalid todo-item@2 document todo-item:bad: /status must be equal to one of the allowed values" });
  });

  it("accepts a valid todo-item@2, then its deletion", async () => {
    const r = await put({ ...todo2, _id: "todo-item:good" });
    expect(r.status).toBe(201);
    const del = await couchFetch(`${db}/todo-item:good?rev=${String(r.body["rev"])}`, { method: "DELETE" });
    expect(del.status).toBe(200);
  });

  it("ignores an unknown type", async () => {
    expect((await put({ _id: "invoice:1", schema: "invoice", version: 1, total: "lots" })).status).toBe(201);
  });

  it("gives the same verdict as ajv for generated documents over HTTP", async () => {
    const schema = registry.schema("todo-item", 2).schema as object;
    // `_rev` is stripped: a made-up revision is a 400 from CouchDB before validation runs.
    const docs = (fc.sample(arbitraryFromSchema(schema), { numRuns: 12, seed: 42 }) as Record<string, unknown>[]).map(({ _rev: _r, ...d }) => d);
    const cases = docs.flatMap((d, i) => [
      { ...d, _id: `todo-item:ok${i}` },
      { ...d, _id: `todo-item:bad${i}`, ...(i % 3 === 0 ? { status: "nope" } : i % 3 === 1 ? { title: 42 } : { createdAt: "yesterday" }) },
    ]);
    for (const doc of cases) {
      const expected = expectedByAjv(registry.validate(doc));
      const r = await put(doc);
      expect([doc["_id"], r.status]).toEqual([doc["_id"], expected ? 201 : 403]);
    }
  });
});
