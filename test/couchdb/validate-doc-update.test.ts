/**
 * The `validate_doc_update` generated from the schemas, executed by the server itself: CouchDB's JavaScript
 * engine when `COUCHDB_URL` is set (the embedded server's V8 otherwise). Generated valid and invalid
 * documents of every type and major are written in one `_bulk_docs`; the server must accept exactly those
 * ajv accepts.
 */
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schemaDesignDoc } from "../../schemas/design-doc.js";
import { loadRegistry } from "../../schemas/load.js";
import type { Registry } from "../../schemas/registry.js";
import { arbitraryFromSchema } from "../../schemas/arbitrary.js";
import { uniqueDbName } from "../support/backends.js";
import { couchFetch, startTestServer, type TestServer } from "../support/server.js";

const SCHEMAS = join(import.meta.dirname, "../../examples/todo-app/schemas");
const DOCS = 400;

let registry: Registry;
let server: TestServer;
let db: string;
beforeAll(async () => {
  registry = await loadRegistry(SCHEMAS);
  server = await startTestServer();
  db = `${server.url}/${uniqueDbName("vdu")}`;
  expect((await couchFetch(db, { method: "PUT" })).status).toBe(201);
  const ddoc = await couchFetch(`${db}/_design/divan-schema`, { method: "PUT", body: JSON.stringify(schemaDesignDoc(registry)) });
  expect(ddoc.status).toBe(201);
});
afterAll(async () => {
  if (db !== undefined) await (await couchFetch(db, { method: "DELETE" })).arrayBuffer();
  await server?.close();
});

/** Generated documents of every (type, major), a third of them with one field removed or given a wrong value. */
function documents(): Record<string, unknown>[] {
  const schemas = registry.types().flatMap((t) => registry.majors(t).map((m) => registry.schema(t, m).schema as object));
  const bad = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.string({ maxLength: 80 }), fc.constantFrom("2024-02-30T10:00:00Z", "2024-01-01", "finished", "#12345g", "", 1, 3));
  const arb = fc.oneof(...schemas.map((s) => arbitraryFromSchema(s, { unknownKeys: 2 }))).chain((generated) => {
    // `_id` stays (an id the server would assign is not what ajv saw) and `_rev` goes (a made-up one is a conflict).
    const { _rev: _dropped, ...doc } = generated as Record<string, unknown>;
    const fields = Object.keys(doc).filter((k) => !k.startsWith("_"));
    return fc.oneof(
      { weight: 2, arbitrary: fc.constant(doc) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...fields), fc.option(bad, { nil: undefined })).map(([k, v]) => ({ ...doc, [k]: v })) },
    );
  });
  // Every schema's id pattern is anchored at its start only, so a suffix keeps the ids valid and unique.
  return fc.sample(arb, { numRuns: DOCS, seed: 0xc0ffee }).map((d, i) => ({ ...JSON.parse(JSON.stringify(d)), _id: `${String(d["_id"])}~${i}` }) as Record<string, unknown>);
}

describe("validate_doc_update generated from the schemas, run by the server", () => {
  it(`accepts exactly the ${DOCS} generated documents ajv accepts, and refuses the others with 403 naming the document`, async () => {
    const docs = documents();
    const res = await couchFetch(`${db}/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs }) });
    expect(res.status).toBe(201);
    const results = (await res.json()) as { id: string; ok?: boolean; error?: string; reason?: string }[];
    expect(results).toHaveLength(docs.length);
    let valid = 0;
    for (const [i, doc] of docs.entries()) {
      const verdict = registry.validate(doc);
      const expected = verdict.ok || verdict.code === "UNKNOWN_TYPE";
      const got = results[i];
      expect(got?.id).toBe(doc["_id"]);
      if (expected) {
        valid += 1;
        expect(got, JSON.stringify(doc)).toMatchObject({ ok: true });
      } else {
        expect(got, JSON.stringify(doc)).toMatchObject({ error: "forbidden" });
        expect(got?.reason).toContain(String(doc["_id"]));
      }
    }
    expect(valid).toBeGreaterThan(DOCS / 3);
    expect(valid).toBeLessThan(DOCS);
  });
});
