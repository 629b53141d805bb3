/**
 * The embedded server itself (its endpoints, LevelDB data directory, isolation, hardening): stays on
 * `startEmbeddedServer()` even when `COUCHDB_URL` is set, because the embedded server is what it tests.
 * Tests that only need a CouchDB-compatible server use `test/support/server.ts` instead.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedServer, type EmbeddedServer } from "../../server/embedded.js";
import { NodePouchDB } from "../../store/pouchdb-node.js";

interface Reply {
  status: number;
  body: unknown;
  text: string;
}

/** One HTTP request; `body` is JSON-encoded unless it is already a string. */
async function call(server: EmbeddedServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: payload,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

let counter = 0;
function dbName(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

async function expectAlive(server: EmbeddedServer): Promise<void> {
  const r = await call(server, "GET", "/");
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ couchdb: "Welcome" });
}

function errorOf(r: Reply): { error: unknown; reason: unknown } {
  const b = r.body as { error?: unknown; reason?: unknown } | undefined;
  return { error: b?.error, reason: b?.reason };
}

/** Reads a streamed response line by line until `until` accepts a parsed line. */
async function readLines(res: Response, until: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
  if (res.body === null) throw new Error("no body");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const lines: Record<string, unknown>[] = [];
  let buffered = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return lines;
    buffered += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === "") continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      if (until(parsed)) {
        await reader.cancel();
        return lines;
      }
    }
  }
}

describe("embedded server", () => {
  let server: EmbeddedServer;

  beforeAll(async () => {
    server = await startEmbeddedServer({ maxBodyBytes: 2 * 1024 * 1024 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("listens on 127.0.0.1 and answers GET / like CouchDB", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await call(server, "GET", "/");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ couchdb: "Welcome", version: expect.any(String) });
  });

  it("creates, lists, describes and deletes databases with CouchDB statuses", async () => {
    const name = dbName("life");
    expect((await call(server, "PUT", `/${name}`)).status).toBe(201);
    const again = await call(server, "PUT", `/${name}`);
    expect(again.status).toBe(412);
    expect(errorOf(again).error).toBe("file_exists");
    expect((await call(server, "GET", "/_all_dbs")).body).toContain(name);
    const info = await call(server, "GET", `/${name}`);
    expect(info.body).toMatchObject({ db_name: name, doc_count: 0 });
    expect((await call(server, "DELETE", `/${name}`)).status).toBe(200);
    const gone = await call(server, "GET", `/${name}`);
    expect(gone.status).toBe(404);
    expect(errorOf(gone).error).toBe("not_found");
  });

  describe("malformed requests never take the server down", () => {
    let name: string;
    beforeAll(async () => {
      name = dbName("malformed");
      await call(server, "PUT", `/${name}`);
      await call(server, "PUT", `/${name}/existing`, { n: 1 });
    });

    it("bad JSON bodies get 400 bad_request", async () => {
      for (const [method, path] of [
        ["POST", `/${name}`],
        ["PUT", `/${name}/doc`],
        ["POST", `/${name}/_bulk_docs`],
        ["POST", `/${name}/_bulk_get`],
        ["POST", `/${name}/_find`],
        ["POST", `/${name}/_changes?filter=_selector`],
        ["POST", `/${name}/_revs_diff`],
        ["POST", `/${name}/_all_docs`],
      ] as const) {
        for (const body of ["{not json", '{"a":', "[1,2", '"just a string"', "\u0000\u0001"]) {
          const r = await call(server, method, path, body);
          expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
          expect(errorOf(r).error).toBe("bad_request");
        }
      }
      await expectAlive(server);
    });

    it("bodies of the wrong shape get 400", async () => {
      const cases: [string, string, unknown][] = [
        ["POST", `/${name}/_bulk_docs`, { docs: "nope" }],
        ["POST", `/${name}/_bulk_docs`, { docs: [1, 2] }],
        ["POST", `/${name}/_bulk_docs`, { docs: [], new_edits: "yes" }],
        ["POST", `/${name}/_bulk_get`, { docs: [{ rev: "1-a" }] }],
        ["POST", `/${name}/_bulk_get`, {}],
        ["POST", `/${name}/_revs_diff`, { existing: "1-a" }],
        ["POST", `/${name}/_find`, { selector: "all" }],
        ["POST", `/${name}/_find`, { selector: { n: { $nonsense: 1 } } }],
        ["POST", `/${name}/_index`, { index: { fields: [] } }],
        ["POST", `/${name}/_all_docs`, { keys: "existing" }],
        ["POST", `/${name}`, [1, 2, 3]],
        ["PUT", `/${name}/array`, [1, 2, 3]],
      ];
      for (const [method, path, body] of cases) {
        const r = await call(server, method, path, body);
        expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
        expect(typeof errorOf(r).reason).toBe("string");
      }
      await expectAlive(server);
    });

    it("unknown and invalid filters get 400 or 404, never a crash", async () => {
      const cases: [string, string, unknown, number][] = [
        ["GET", `/${name}/_changes?filter=_selector`, undefined, 400],
        ["POST", `/${name}/_changes?filter=_selector`, {}, 400],
        ["POST", `/${name}/_changes?filter=_selector`, { selector: "x" }, 400],
        ["POST", `/${name}/_changes?filter=_selector&feed=longpoll`, {}, 400],
        ["POST", `/${name}/_changes?filter=_selector&feed=continuous`, {}, 400],
        ["GET", `/${name}/_changes?filter=foo/bar`, undefined, 404],
        ["GET", `/${name}/_changes?filter=foo/bar&feed=continuous`, undefined, 404],
        ["GET", `/${name}/_changes?filter=foo/bar&feed=longpoll`, undefined, 404],
        ["GET", `/${name}/_changes?filter=foo`, undefined, 400],
        ["GET", `/${name}/_changes?filter=a/b/c`, undefined, 400],
        ["GET", `/${name}/_changes?filter=_doc_ids`, undefined, 400],
        ["GET", `/${name}/_changes?filter=_doc_ids&doc_ids=notjson`, undefined, 400],
        ["GET", `/${name}/_changes?filter=_view`, undefined, 400],
        ["GET", `/${name}/_changes?filter=_view&view=nope/nope`, undefined, 404],
        ["POST", `/${name}/_changes`, { selector: { n: 1 } }, 400],
        ["GET", `/${name}/_changes?feed=sideways`, undefined, 400],
        ["GET", `/${name}/_changes?style=weird`, undefined, 400],
        ["GET", `/${name}/_changes?limit=-1`, undefined, 400],
        ["GET", `/${name}/_changes?limit=abc`, undefined, 400],
        ["GET", `/${name}/_changes?heartbeat=abc&feed=continuous`, undefined, 400],
        ["GET", `/${name}/_changes?include_docs=maybe`, undefined, 400],
      ];
      for (const [method, path, body, status] of cases) {
        const r = await call(server, method, path, body);
        expect(r.status, `${method} ${path}`).toBe(status);
        expect(typeof errorOf(r).error).toBe("string");
      }
      await expectAlive(server);
    });

    it("design-document filters with broken code are refused, not fatal", async () => {
      await call(server, "PUT", `/${name}/_design/broken`, {
        filters: { syntax: "function (doc { return true; }", throws: "function (doc) { throw new Error('boom'); }" },
        views: { bad: { map: "function (doc) { emit(doc._id.nope.deeper); }" } },
      });
      const syntax = await call(server, "GET", `/${name}/_changes?filter=broken/syntax`);
      expect(syntax.status).toBe(500);
      expect(errorOf(syntax).error).toBe("compilation_error");
      const throws = await call(server, "GET", `/${name}/_changes?filter=broken/throws`);
      expect(throws.status).toBe(200);
      expect((throws.body as { results: unknown[] }).results).toEqual([]);
      const view = await call(server, "GET", `/${name}/_changes?filter=_view&view=broken/bad`);
      expect(view.status).toBe(200);
      await expectAlive(server);
    });

    it("selectors with unknown or malformed operators are refused before any feed starts", async () => {
      const selectors: unknown[] = [
        { n: { $nonsense: 1 } },
        { $and: "x" },
        { $or: [1] },
        { n: { $regex: 5 } },
        { n: { $regex: "(" } },
        { n: { $mod: [0, 1] } },
        { n: { $elemMatch: 5 } },
      ];
      for (const selector of selectors) {
        for (const feed of ["normal", "longpoll", "continuous"]) {
          const r = await call(server, "POST", `/${name}/_changes?filter=_selector&feed=${feed}&timeout=1`, { selector });
          expect(r.status, `${feed} ${JSON.stringify(selector)}`).toBe(400);
          expect(errorOf(r).error).toBe("bad_request");
        }
      }
      await expectAlive(server);
    });

    it("latest=true with an unknown revision answers not_found instead of crashing PouchDB", async () => {
      const unknownRev = "7-0123456789abcdef0123456789abcdef";
      const get = await call(server, "GET", `/${name}/existing?rev=${unknownRev}&latest=true`);
      expect(get.status).toBe(404);
      const badFormat = await call(server, "GET", `/${name}/existing?rev=zzz&latest=true&revs=true`);
      expect(badFormat.status).toBe(404);
      const openRevs = await call(server, "GET", `/${name}/existing?open_revs=${encodeURIComponent(JSON.stringify([unknownRev]))}&latest=true`);
      expect(openRevs.body).toEqual([{ missing: unknownRev }]);
      const bulk = await call(server, "POST", `/${name}/_bulk_get?latest=true&revs=true`, {
        docs: [{ id: "existing", rev: unknownRev }, { id: "existing" }, { id: "nothing", rev: unknownRev }],
      });
      expect(bulk.status).toBe(200);
      const results = (bulk.body as { results: { id: string; docs: Record<string, unknown>[] }[] }).results;
      expect(results.map((r) => r.id)).toEqual(["existing", "existing", "nothing"]);
      expect(results[0]?.docs[0]).toEqual({ error: { id: "existing", rev: unknownRev, error: "not_found", reason: "missing" } });
      expect(results[1]?.docs[0]).toHaveProperty("ok._id", "existing");
      expect(results[2]?.docs[0]).toHaveProperty("error.error", "not_found");
      await expectAlive(server);
    });

    it("a bad since is a 400", async () => {
      for (const since of ["abc", "-1", "1-g1AAAA", "[1]", "1.5"]) {
        for (const feed of ["normal", "longpoll", "continuous"]) {
          const r = await call(server, "GET", `/${name}/_changes?feed=${feed}&since=${encodeURIComponent(since)}`);
          expect(r.status, `${feed} since=${since}`).toBe(400);
          expect(errorOf(r).error).toBe("bad_request");
        }
      }
      const dbUpdates = await call(server, "GET", "/_db_updates?since=xyz");
      expect(dbUpdates.status).toBe(400);
      await expectAlive(server);
    });

    it("bad revs are refused with 400 or 409", async () => {
      const existing = (await call(server, "GET", `/${name}/existing`)).body as { _rev: string };
      const badFormat = await call(server, "PUT", `/${name}/existing`, { _rev: "not-a-rev", n: 2 });
      expect(badFormat.status).toBe(400);
      const stale = await call(server, "PUT", `/${name}/existing`, { _rev: "1-0123456789abcdef0123456789abcdef", n: 2 });
      expect(stale.status).toBe(409);
      expect(errorOf(stale).error).toBe("conflict");
      const noRev = await call(server, "DELETE", `/${name}/existing`);
      expect(noRev.status).toBe(409);
      const badDelete = await call(server, "DELETE", `/${name}/existing?rev=garbage`);
      expect([400, 409]).toContain(badDelete.status);
      const badOpenRevs = await call(server, "GET", `/${name}/existing?open_revs=garbage`);
      expect(badOpenRevs.status).toBe(400);
      const badRevGet = await call(server, "GET", `/${name}/existing?rev=${existing._rev.replace(/^1-/, "9-")}`);
      expect(badRevGet.status).toBe(404);
      const noEditsNoRev = await call(server, "PUT", `/${name}/x?new_edits=false`, { n: 1 });
      expect(noEditsNoRev.status).toBe(400);
      const bulkBadRev = await call(server, "POST", `/${name}/_bulk_docs`, { docs: [{ _id: "existing", _rev: "zzz" }] });
      expect([201, 400]).toContain(bulkBadRev.status);
      if (bulkBadRev.status === 201) expect((bulkBadRev.body as { error?: string }[])[0]?.error).toBeDefined();
      // the document is untouched
      expect((await call(server, "GET", `/${name}/existing`)).body).toMatchObject({ _rev: existing._rev, n: 1 });
      await expectAlive(server);
    });

    it("unknown databases get 404 and illegal names 400", async () => {
      for (const [method, path] of [
        ["GET", "/no-such-db"],
        ["GET", "/no-such-db/doc"],
        ["GET", "/no-such-db/_changes"],
        ["GET", "/no-such-db/_changes?feed=longpoll"],
        ["GET", "/no-such-db/_changes?feed=continuous"],
        ["POST", "/no-such-db/_bulk_docs"],
        ["POST", "/no-such-db/_find"],
        ["GET", "/no-such-db/_local/x"],
        ["DELETE", "/no-such-db"],
        ["GET", "/no-such-db/_design/x/_view/y"],
      ] as const) {
        const r = await call(server, method, path, method === "POST" ? { docs: [], selector: {} } : undefined);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(errorOf(r).error).toBe("not_found");
      }
      for (const bad of ["Upper", "_underscore", "1digit", "sp%20ace"]) {
        const r = await call(server, "PUT", `/${bad}`);
        expect(r.status, bad).toBe(400);
        expect(errorOf(r).error).toBe("illegal_database_name");
      }
      await expectAlive(server);
    });

    it("invalid document ids are refused", async () => {
      const reserved = await call(server, "PUT", `/${name}/_reserved`, { a: 1 });
      expect(reserved.status).toBe(400);
      expect(errorOf(reserved).error).toBe("illegal_docid");
      const numericId = await call(server, "POST", `/${name}`, { _id: 42 });
      expect(numericId.status).toBe(400);
      const emptyId = await call(server, "POST", `/${name}`, { _id: "" });
      expect(emptyId.status).toBe(400);
      const bulkReserved = await call(server, "POST", `/${name}/_bulk_docs`, { docs: [{ _id: "_nope" }, { _id: "fine" }] });
      expect(bulkReserved.status).toBe(201);
      const results = bulkReserved.body as { id?: string; error?: string; ok?: boolean }[];
      expect(results[0]).toMatchObject({ id: "_nope", error: "illegal_docid" });
      expect(results[1]).toMatchObject({ ok: true, id: "fine" });
      await expectAlive(server);
    });

    it("bodies over the limit get 413 and large bodies under it are stored", async () => {
      const big = "x".repeat(3 * 1024 * 1024);
      const tooBig = await call(server, "PUT", `/${name}/big`, { big });
      expect(tooBig.status).toBe(413);
      expect(errorOf(tooBig).error).toBe("too_large");
      const large = "y".repeat(1024 * 1024);
      const ok = await call(server, "PUT", `/${name}/large`, { large });
      expect(ok.status).toBe(201);
      const back = (await call(server, "GET", `/${name}/large`)).body as { large: string };
      expect(back.large.length).toBe(large.length);
      await expectAlive(server);
    });

    it("unsupported methods and unknown paths get CouchDB errors", async () => {
      expect((await call(server, "PATCH", `/${name}`)).status).toBe(404);
      expect((await call(server, "DELETE", `/${name}/_changes`)).status).toBe(405);
      expect((await call(server, "GET", "/_nothing_here/x/y")).status).toBe(404);
      const truncated = await fetch(`${server.url}/${name}/cut`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: '{"a":1}',
      });
      expect(truncated.status).toBe(201);
      await expectAlive(server);
    });
  });

  describe("_changes", () => {
    let name: string;
    beforeAll(async () => {
      name = dbName("changes");
      await call(server, "PUT", `/${name}`);
      await call(server, "POST", `/${name}/_bulk_docs`, {
        docs: [
          { _id: "todo-item:1", type: "todo-item", done: false },
          { _id: "todo-item:2", type: "todo-item", done: true },
          { _id: "settings", type: "settings" },
        ],
      });
    });

    it("a POSTed selector returns only matching documents", async () => {
      const r = await call(server, "POST", `/${name}/_changes?filter=_selector&include_docs=true`, { selector: { type: "todo-item", done: true } });
      expect(r.status).toBe(200);
      const results = (r.body as { results: { id: string; doc: { done: boolean } }[] }).results;
      expect(results.map((c) => c.id)).toEqual(["todo-item:2"]);
      expect(results[0]?.doc.done).toBe(true);
    });

    it("doc_ids filter works from the body and from the query", async () => {
      const fromBody = await call(server, "POST", `/${name}/_changes?filter=_doc_ids`, { doc_ids: ["settings"] });
      expect((fromBody.body as { results: { id: string }[] }).results.map((c) => c.id)).toEqual(["settings"]);
      const fromQuery = await call(server, "GET", `/${name}/_changes?filter=_doc_ids&doc_ids=${encodeURIComponent('["todo-item:1"]')}`);
      expect((fromQuery.body as { results: { id: string }[] }).results.map((c) => c.id)).toEqual(["todo-item:1"]);
    });

    it("since, limit, descending and style=all_docs behave like CouchDB", async () => {
      const all = (await call(server, "GET", `/${name}/_changes`)).body as { results: { id: string; seq: unknown }[]; last_seq: unknown };
      expect(all.results.map((c) => c.id)).toEqual(["todo-item:1", "todo-item:2", "settings"]);
      const first = all.results[0];
      const after = (await call(server, "GET", `/${name}/_changes?since=${encodeURIComponent(String(first?.seq))}`)).body as {
        results: { id: string }[];
      };
      expect(after.results.map((c) => c.id)).toEqual(["todo-item:2", "settings"]);
      const limited = (await call(server, "GET", `/${name}/_changes?limit=1`)).body as { results: unknown[] };
      expect(limited.results).toHaveLength(1);
      const desc = (await call(server, "GET", `/${name}/_changes?descending=true`)).body as { results: { id: string }[] };
      expect(desc.results.map((c) => c.id)).toEqual(["settings", "todo-item:2", "todo-item:1"]);
      // a conflict shows up in style=all_docs only
      await call(server, "POST", `/${name}/_bulk_docs`, {
        new_edits: false,
        docs: [{ _id: "settings", _rev: "1-ffffffffffffffffffffffffffffffff", type: "settings", branch: true }],
      });
      const main = (await call(server, "GET", `/${name}/_changes?filter=_doc_ids&doc_ids=${encodeURIComponent('["settings"]')}`)).body as {
        results: { changes: unknown[] }[];
      };
      const allDocs = (await call(server, "GET", `/${name}/_changes?style=all_docs&filter=_doc_ids&doc_ids=${encodeURIComponent('["settings"]')}`))
        .body as { results: { changes: unknown[] }[] };
      expect(main.results[0]?.changes).toHaveLength(1);
      expect(allDocs.results[0]?.changes).toHaveLength(2);
    });

    it("a longpoll feed delivers a later write", async () => {
      const res = await fetch(`${server.url}/${name}/_changes?feed=longpoll&since=now&timeout=25000`);
      expect(res.status).toBe(200);
      await call(server, "PUT", `/${name}/todo-item:longpoll`, { type: "todo-item" });
      const body = JSON.parse(await res.text()) as { results: { id: string }[]; last_seq: unknown };
      expect(body.results.map((c) => c.id)).toEqual(["todo-item:longpoll"]);
      expect(body.last_seq).toBeDefined();
    });

    it("a longpoll feed with a selector ignores non-matching writes", async () => {
      const res = await fetch(`${server.url}/${name}/_changes?feed=longpoll&since=now&filter=_selector&timeout=25000`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ selector: { type: "wanted" } }),
      });
      await call(server, "PUT", `/${name}/unwanted-1`, { type: "other" });
      await call(server, "PUT", `/${name}/wanted-1`, { type: "wanted" });
      const body = JSON.parse(await res.text()) as { results: { id: string }[] };
      expect(body.results.map((c) => c.id)).toEqual(["wanted-1"]);
    });

    it("a continuous feed delivers past and later writes, with heartbeats", async () => {
      const res = await fetch(`${server.url}/${name}/_changes?feed=continuous&heartbeat=50&filter=_doc_ids&doc_ids=${encodeURIComponent('["settings","cont-1"]')}`);
      expect(res.status).toBe(200);
      const reading = readLines(res, (line) => line.id === "cont-1");
      await call(server, "PUT", `/${name}/cont-1`, { type: "x" });
      const lines = await reading;
      expect(lines.map((l) => l.id)).toEqual(["settings", "cont-1"]);
    });

    it("a continuous feed with a limit stops after that many changes", async () => {
      const res = await fetch(`${server.url}/${name}/_changes?feed=continuous&limit=2`);
      const lines = await readLines(res, () => false);
      expect(lines.filter((l) => "id" in l)).toHaveLength(2);
      expect(lines.at(-1)).toHaveProperty("last_seq");
    });

    it("a continuous feed with a timeout ends with last_seq", async () => {
      const res = await fetch(`${server.url}/${name}/_changes?feed=continuous&since=now&timeout=1`);
      const lines = await readLines(res, () => false);
      expect(lines.at(-1)).toHaveProperty("last_seq");
    });
  });

  it("validate_doc_update refuses a write with 403 and the reason", async () => {
    const name = dbName("vdu");
    await call(server, "PUT", `/${name}`);
    const ddoc = await call(server, "PUT", `/${name}/_design/rules`, {
      validate_doc_update: "function (newDoc, oldDoc, userCtx) { if (!newDoc._deleted && typeof newDoc.title !== 'string') { throw({ forbidden: 'title is required' }); } }",
    });
    expect(ddoc.status).toBe(201);
    const refused = await call(server, "PUT", `/${name}/t1`, { done: true });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: "forbidden", reason: "title is required" });
    expect((await call(server, "POST", `/${name}`, { done: true })).status).toBe(403);
    const accepted = await call(server, "PUT", `/${name}/t2`, { title: "ok" });
    expect(accepted.status).toBe(201);
    const bulk = await call(server, "POST", `/${name}/_bulk_docs`, { docs: [{ _id: "b1" }, { _id: "b2", title: "fine" }] });
    expect(bulk.status).toBe(201);
    expect(bulk.body).toMatchObject([{ id: "b1", error: "forbidden", reason: "title is required" }, { ok: true, id: "b2" }]);
    const replicated = await call(server, "POST", `/${name}/_bulk_docs`, {
      new_edits: false,
      docs: [{ _id: "r1", _rev: "1-abcabcabcabcabcabcabcabcabcabcab" }],
    });
    expect(replicated.body).toMatchObject([{ id: "r1", error: "forbidden" }]);
    expect((await call(server, "GET", `/${name}/b1`)).status).toBe(404);
    expect((await call(server, "GET", `/${name}/t1`)).status).toBe(404);
  });

  it("serves _find, _index, _bulk_get, _revs_diff, _all_docs and _local documents", async () => {
    const name = dbName("api");
    await call(server, "PUT", `/${name}`);
    const written = (await call(server, "POST", `/${name}/_bulk_docs`, {
      docs: [
        { _id: "a", type: "todo-item", rank: 2 },
        { _id: "b", type: "todo-item", rank: 1 },
        { _id: "c", type: "settings" },
      ],
    })).body as { id: string; rev: string }[];
    const index = await call(server, "POST", `/${name}/_index`, { index: { fields: ["type", "rank"] }, name: "by-type-rank" });
    expect(index.status).toBe(200);
    expect(index.body).toMatchObject({ result: "created" });
    const indexes = (await call(server, "GET", `/${name}/_index`)).body as { indexes: { name: string }[] };
    expect(indexes.indexes.map((i) => i.name)).toContain("by-type-rank");
    const found = await call(server, "POST", `/${name}/_find`, { selector: { type: "todo-item", rank: { $gt: 0 } }, sort: ["type", "rank"] });
    expect(found.status).toBe(200);
    expect((found.body as { docs: { _id: string }[] }).docs.map((d) => d._id)).toEqual(["b", "a"]);

    const bulkGet = await call(server, "POST", `/${name}/_bulk_get?revs=true`, { docs: [{ id: "a", rev: written[0]?.rev }, { id: "missing" }] });
    const results = (bulkGet.body as { results: { id: string; docs: Record<string, unknown>[] }[] }).results;
    expect(results[0]?.docs[0]).toHaveProperty("ok._revisions");
    expect(results[1]?.docs[0]).toEqual({ error: { id: "missing", rev: "undefined", error: "not_found", reason: "missing" } });

    const diff = await call(server, "POST", `/${name}/_revs_diff`, { a: [written[0]?.rev, "2-0000"], z: ["1-1111"] });
    expect(diff.body).toEqual({ a: { missing: ["2-0000"] }, z: { missing: ["1-1111"] } });

    const allDocs = await call(server, "GET", `/${name}/_all_docs?startkey=${encodeURIComponent('"b"')}&include_docs=true`);
    expect((allDocs.body as { rows: { id: string }[] }).rows.map((r) => r.id)).toEqual(["b", "c"]);
    const keys = await call(server, "POST", `/${name}/_all_docs`, { keys: ["c", "a", "nope"] });
    expect((keys.body as { rows: { key: string; error?: string }[] }).rows.map((r) => r.error ?? r.key)).toEqual(["c", "a", "not_found"]);

    const local = await call(server, "PUT", `/${name}/_local/checkpoint`, { v: 1, seq: "5" });
    expect(local.status).toBe(201);
    const localDoc = (await call(server, "GET", `/${name}/_local/checkpoint`)).body as { _rev: string; seq: string };
    expect(localDoc.seq).toBe("5");
    const changes = (await call(server, "GET", `/${name}/_changes`)).body as { results: { id: string }[] };
    expect(changes.results.map((c) => c.id)).not.toContain("_local/checkpoint");
    expect((await call(server, "DELETE", `/${name}/_local/checkpoint?rev=${localDoc._rev}`)).status).toBe(200);
    expect((await call(server, "GET", `/${name}/_local/checkpoint`)).status).toBe(404);
  });

  it("a selector-filtered PouchDB replication copies only matching documents and the server stays up", async () => {
    const name = dbName("repl");
    await call(server, "PUT", `/${name}`);
    await call(server, "POST", `/${name}/_bulk_docs`, {
      docs: [
        { _id: "todo-item:1", type: "todo-item", version: 2 },
        { _id: "todo-item:2", type: "todo-item", version: 1 },
        { _id: "settings", type: "settings", version: 1 },
      ],
    });
    const local = new NodePouchDB(dbName("local"), { adapter: "memory" });
    try {
      const result = await local.replicate.from(`${server.url}/${name}`, { selector: { type: "todo-item", version: 2 } } as PouchDB.Replication.ReplicateOptions);
      expect(result.ok).toBe(true);
      const ids = (await local.allDocs()).rows.map((r) => r.id);
      expect(ids).toEqual(["todo-item:1"]);
    } finally {
      await local.destroy();
    }
    await expectAlive(server);
  });

  it("PouchDB's HTTP adapter replicates both ways, including deletions and attachments", async () => {
    const name = dbName("sync");
    const local = new NodePouchDB(dbName("local"), { adapter: "memory" });
    const remote = new NodePouchDB(`${server.url}/${name}`);
    try {
      await local.bulkDocs([{ _id: "l1", from: "local" }, { _id: "l2", from: "local" }]);
      await local.putAttachment("l1", "note.txt", (await local.get("l1"))._rev, Buffer.from("hello"), "text/plain");
      await remote.info(); // creates the database on the server
      await remote.put({ _id: "r1", from: "remote" });
      const l2 = await local.get("l2");
      await local.remove(l2);
      const sync = await local.sync(remote);
      expect(sync.push?.ok).toBe(true);
      expect(sync.pull?.ok).toBe(true);
      expect((await local.allDocs()).rows.map((r) => r.id)).toEqual(["l1", "r1"]);
      const onServer = await call(server, "GET", `/${name}/_all_docs`);
      expect((onServer.body as { rows: { id: string }[] }).rows.map((r) => r.id)).toEqual(["l1", "r1"]);
      const att = await fetch(`${server.url}/${name}/l1/note.txt`);
      expect(att.headers.get("content-type")).toContain("text/plain");
      expect(await att.text()).toBe("hello");
      expect((await call(server, "GET", `/${name}/l2`)).status).toBe(404);
    } finally {
      await local.destroy();
    }
    await expectAlive(server);
  });

  it("_db_updates reports created, updated and deleted databases", async () => {
    const before = (await call(server, "GET", "/_db_updates?since=now")).body as { last_seq: string };
    const name = dbName("updates");
    const waiting = fetch(`${server.url}/_db_updates?feed=longpoll&since=${before.last_seq}&timeout=25000`);
    await call(server, "PUT", `/${name}`);
    const first = JSON.parse(await (await waiting).text()) as { results: { db_name: string; type: string }[] };
    expect(first.results).toEqual([expect.objectContaining({ db_name: name, type: "created" })]);
    await call(server, "PUT", `/${name}/doc`, { a: 1 });
    const updated = (await call(server, "GET", `/_db_updates?since=${before.last_seq}`)).body as { results: { db_name: string; type: string }[] };
    expect(updated.results.filter((u) => u.db_name === name).map((u) => u.type)).toEqual(["updated"]);
    await call(server, "DELETE", `/${name}`);
    const deleted = (await call(server, "GET", `/_db_updates?since=${before.last_seq}`)).body as { results: { db_name: string; type: string }[] };
    expect(deleted.results.filter((u) => u.db_name === name).map((u) => u.type)).toEqual(["deleted"]);
  });
});

describe("embedded server lifecycle", () => {
  it("two servers in one process do not share databases", async () => {
    const a = await startEmbeddedServer();
    const b = await startEmbeddedServer();
    try {
      expect(a.url).not.toBe(b.url);
      await call(a, "PUT", "/shared");
      await call(a, "PUT", "/shared/doc", { from: "a" });
      expect((await call(b, "GET", "/shared")).status).toBe(404);
      expect((await call(b, "PUT", "/shared")).status).toBe(201);
      expect((await call(b, "GET", "/shared/doc")).status).toBe(404);
      expect((await call(b, "GET", "/shared")).body).toMatchObject({ doc_count: 0 });
      expect((await call(a, "GET", "/shared")).body).toMatchObject({ doc_count: 1 });
      // a local PouchDB with the same name is not a server database either
      const local = new NodePouchDB("only-local", { adapter: "memory" });
      await local.info();
      expect((await call(a, "GET", "/_all_dbs")).body).toEqual(["shared"]);
      await local.destroy();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("close() ends open continuous and longpoll feeds and stops listening", async () => {
    const s = await startEmbeddedServer();
    await call(s, "PUT", "/feeds");
    const continuous = await fetch(`${s.url}/feeds/_changes?feed=continuous&heartbeat=1000`);
    const longpoll = await fetch(`${s.url}/feeds/_changes?feed=longpoll&since=now&heartbeat=1000`);
    const updates = await fetch(`${s.url}/_db_updates?feed=continuous&heartbeat=1000`);
    const ended = Promise.all([continuous, longpoll, updates].map((r) => r.text().then(() => "ended", () => "ended")));
    await s.close();
    // A feed close() left open reads "still open" after 5 s (heartbeats every second keep it alive otherwise).
    let timer: NodeJS.Timeout | undefined;
    const stillOpen = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve(["still open"]), 5000)));
    expect(await Promise.race([ended, stillOpen])).toEqual(["ended", "ended", "ended"]);
    clearTimeout(timer);
    await expect(fetch(`${s.url}/`)).rejects.toThrow();
    await s.close(); // idempotent
  });

  it("keeps databases in LevelDB files under dataDir across restarts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "divan-embedded-"));
    try {
      const first = await startEmbeddedServer({ dataDir: dir });
      await call(first, "PUT", "/persisted");
      await call(first, "PUT", "/persisted/doc", { kept: true });
      await first.close();
      expect(await readdir(dir)).toContain("persisted");
      const second = await startEmbeddedServer({ dataDir: dir });
      try {
        expect((await call(second, "GET", "/_all_dbs")).body).toEqual(["persisted"]);
        expect((await call(second, "GET", "/persisted/doc")).body).toMatchObject({ kept: true });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects an invalid port with CONFIG_INVALID", async () => {
    await expect(startEmbeddedServer({ port: 70000 })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
