/**
 * The embedded server answers like CouchDB 3.4 where divan depends on it: the same raw HTTP requests run
 * against the embedded server and, when `COUCHDB_URL` is set, against that CouchDB, and expect the answers
 * CouchDB 3.4.3 gave when they were measured (status and `error`; `reason` where divan reads it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedServer } from "../../server/embedded.js";
import { uniqueDbName } from "../support/backends.js";
import { couchFetch, externalServerUrl } from "../support/server.js";

interface Server {
  name: string;
  start(): Promise<{ url: string; close(): Promise<void> }>;
}

const external = externalServerUrl();
const servers: Server[] = [
  { name: "embedded server", start: () => startEmbeddedServer() },
  { name: "COUCHDB_URL", start: async () => ({ url: external ?? "", close: async () => undefined }) },
];
if (external === undefined) console.info("[parity] skipping COUCHDB_URL: it is not set (e.g. http://admin:password@127.0.0.1:5984)");

for (const server of servers) {
  describe.skipIf(server.name === "COUCHDB_URL" && external === undefined)(`CouchDB parity: ${server.name}`, () => {
    let base: string;
    let close: () => Promise<void>;
    let db: string;
    beforeAll(async () => {
      ({ url: base, close } = await server.start());
      db = `${base}/${uniqueDbName("parity")}`;
      expect((await couchFetch(db, { method: "PUT" })).status).toBe(201);
    });
    afterAll(async () => {
      await (await couchFetch(db, { method: "DELETE" })).arrayBuffer();
      await close();
    });

    async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
      const init: RequestInit = { method, headers: { "content-type": "application/json" } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await couchFetch(`${db}${path}`, init);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }
    const errorOf = (r: { status: number; body: Record<string, unknown> }) => [r.status, r.body["error"], r.body["reason"]];

    it("DELETE of a deleted document is 404 deleted whatever the revision; of a missing one 404 missing; a stale revision of a live one 409", async () => {
      const first = (await call("PUT", "/del-a", { v: 1 })).body["rev"] as string;
      const tomb = (await call("DELETE", `/del-a?rev=${first}`)).body["rev"] as string;
      expect(errorOf(await call("DELETE", `/del-a?rev=${first}`))).toEqual([404, "not_found", "deleted"]);
      expect(errorOf(await call("DELETE", `/del-a?rev=${tomb}`))).toEqual([404, "not_found", "deleted"]);
      expect(errorOf(await call("DELETE", "/del-none?rev=1-abc"))).toEqual([404, "not_found", "missing"]);
      const live = (await call("PUT", "/del-b", { v: 1 })).body["rev"] as string;
      await call("PUT", "/del-b", { _rev: live, v: 2 });
      expect((await call("DELETE", `/del-b?rev=${live}`)).body["error"]).toBe("conflict");
    });

    it("an edit naming a deleted document's revision is 409 (PUT, _bulk_docs, deleting again); a write without _rev re-creates it", async () => {
      const first = (await call("PUT", "/tomb-a", { v: 1 })).body["rev"] as string;
      const tomb = (await call("DELETE", `/tomb-a?rev=${first}`)).body["rev"] as string;
      expect((await call("PUT", "/tomb-a", { _rev: tomb, v: 2 })).status).toBe(409);
      const bulk = await call("POST", "/_bulk_docs", { docs: [{ _id: "tomb-a", _rev: tomb, v: 3 }, { _id: "tomb-a", _rev: tomb, _deleted: true }] });
      expect(bulk.body).toEqual([
        { id: "tomb-a", error: "conflict", reason: "Document update conflict." },
        { id: "tomb-a", error: "conflict", reason: "Document update conflict." },
      ]);
      const again = await call("PUT", "/tomb-a", { v: 4 });
      expect([again.status, (again.body["rev"] as string).startsWith("3-")]).toEqual([201, true]);
    });

    it("validate_doc_update: thrown objects are 403/401 with their reason, an Error a 500 named after it, broken source a 500 compilation_error", async () => {
      await call("PUT", "/_design/rules", {
        validate_doc_update: `function (newDoc) {
          if (newDoc.forbid) throw({ forbidden: newDoc.forbid });
          if (newDoc.login) throw({ unauthorized: "log in" });
          if (newDoc.crash) newDoc.nothing.here();
        }`,
      });
      expect(errorOf(await call("PUT", "/v-1", { forbid: "no" }))).toEqual([403, "forbidden", "no"]);
      expect(errorOf(await call("PUT", "/v-2", { login: true }))).toEqual([401, "unauthorized", "log in"]);
      expect(errorOf(await call("PUT", "/v-3", { crash: true })).slice(0, 2)).toEqual([500, "TypeError"]);
      const bulk = await couchFetch(`${db}/_bulk_docs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ docs: [{ _id: "v-4", forbid: "no" }, { _id: "v-5" }] }),
      });
      expect([bulk.status, ((await bulk.json()) as Record<string, unknown>[]).map((r) => r["error"] ?? "ok")]).toEqual([201, ["forbidden", "ok"]]);
      expect((await call("PUT", "/_design/broken", { validate_doc_update: "function (newDoc) { this is not javascript" })).status).toBe(201);
      expect(errorOf(await call("PUT", "/v-6", {})).slice(0, 2)).toEqual([500, "compilation_error"]);
    });

    it("a new database's security object is admin-only", async () => {
      const res = await couchFetch(`${db}/_security`);
      expect(await res.json()).toEqual({ members: { roles: ["_admin"] }, admins: { roles: ["_admin"] } });
    });
  });
}
