/**
 * The DocumentStore contract: the same behaviours, unchanged, on every backend
 * (PouchDB memory, nano → embedded server, nano → COUCHDB_URL when set).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPouchStore } from "../../store/pouch.js";
import { replicate, replicateLive } from "../../store/replicate.js";
import { getIfExists, type Change, type DocumentStore } from "../../store/port.js";
import { rejection } from "../support/errors.js";
import { MemoryPouchDB, storeBackends, uniqueDbName, type StoreBackend } from "../support/backends.js";

/** Resolves with `promise`, or rejects when it takes longer than `ms` (a wait, not a timing assertion). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const hex = (c: string): string => c.repeat(32);

async function seed(store: DocumentStore, ids: string[], extra: (id: string) => Record<string, unknown> = () => ({})): Promise<Map<string, string>> {
  const results = await store.bulkDocs(ids.map((id) => ({ _id: id, n: ids.indexOf(id), ...extra(id) })));
  const revs = new Map<string, string>();
  for (const r of results) {
    if (!r.ok) throw new Error(`seed failed for ${r.id}: ${r.error.reason}`);
    revs.set(r.id, r.rev);
  }
  return revs;
}

/** A local PouchDB store (the "device" side of replication tests), destroyed by the caller. */
function devicePouch(): DocumentStore {
  return openPouchStore(MemoryPouchDB, uniqueDbName("divan-device"));
}

for (const backend of storeBackends()) {
  describe.skipIf(backend.skipReason !== undefined)(`DocumentStore contract: ${backend.name}`, () => {
    contract(backend);
  });
}

function contract(backend: StoreBackend): void {
  const devices: DocumentStore[] = [];
  beforeAll(() => backend.setup());
  afterAll(async () => {
    await Promise.all(devices.map(async (d) => d.destroy().finally(() => d.close())));
    await backend.teardown();
  });
  const device = (): DocumentStore => {
    const d = devicePouch();
    devices.push(d);
    return d;
  };

  it("declares the capabilities its backend group is gated by", async () => {
    const store = await backend.newStore();
    expect(store.capabilities).toEqual(backend.capabilities);
  });

  it("reports its name, document count and an opaque string update sequence", async () => {
    const store = await backend.newStore();
    const before = await store.info();
    await seed(store, ["a", "b"]);
    const after = await store.info();
    expect(typeof before.updateSeq).toBe("string");
    expect(typeof after.updateSeq).toBe("string");
    expect(after.updateSeq).not.toBe(before.updateSeq);
    expect(after.docCount).toBe(2);
    expect(store.name).toContain(after.name);
  });

  it("reads back a written document with its revision", async () => {
    const store = await backend.newStore();
    const { id, rev } = await store.put({ _id: "todo-item:1", title: "milk", nested: { a: [1, 2] } });
    expect(id).toBe("todo-item:1");
    expect(rev).toMatch(/^1-/);
    const doc = await store.get("todo-item:1");
    expect(doc).toEqual({ _id: "todo-item:1", _rev: rev, title: "milk", nested: { a: [1, 2] } });
  });

  it("rejects reading a missing document with NOT_FOUND", async () => {
    const store = await backend.newStore();
    const err = await rejection(store.get("nope"));
    expect(err.code).toBe("NOT_FOUND");
    expect(err.message).toContain("nope");
  });

  it("getIfExists answers undefined for a missing or deleted document, and the document otherwise", async () => {
    const store = await backend.newStore();
    const r = await store.put({ _id: "here", n: 1 });
    await store.put({ _id: "gone" }).then((g) => store.remove("gone", g.rev));
    expect(await getIfExists(store, "nope")).toBeUndefined();
    expect(await getIfExists(store, "gone")).toBeUndefined();
    expect(await getIfExists(store, "here", { revs: true })).toMatchObject({ _id: "here", _rev: r.rev, n: 1, _revisions: { start: 1 } });
  });

  it("rejects a write with a stale revision, or without one on an existing doc, with CONFLICT", async () => {
    const store = await backend.newStore();
    const first = await store.put({ _id: "d", v: 1 });
    await store.put({ _id: "d", _rev: first.rev, v: 2 });
    const stale = await rejection(store.put({ _id: "d", _rev: first.rev, v: 3 }));
    expect(stale.code).toBe("CONFLICT");
    expect(stale.cause).toBeDefined();
    const missing = await rejection(store.put({ _id: "d", v: 4 }));
    expect(missing.code).toBe("CONFLICT");
    expect((await store.get("d")).v).toBe(2);
  });

  it("removes a document with a tombstone that is still readable by its rev", async () => {
    const store = await backend.newStore();
    const { rev } = await store.put({ _id: "gone", v: 1 });
    const removed = await store.remove("gone", rev);
    expect(removed.rev).toMatch(/^2-/);
    expect((await rejection(store.get("gone"))).code).toBe("NOT_FOUND");
    const tomb = await store.get("gone", { rev: removed.rev });
    expect(tomb._deleted).toBe(true);
  });

  it("refuses to delete a deleted or missing document with NOT_FOUND, whatever the revision, as CouchDB does", async () => {
    const store = await backend.newStore();
    const { rev } = await store.put({ _id: "gone", v: 1 });
    const removed = await store.remove("gone", rev);
    // The revision the deletion superseded, and the tombstone's own: CouchDB opens the document first.
    for (const again of [rev, removed.rev]) expect((await rejection(store.remove("gone", again))).code).toBe("NOT_FOUND");
    expect((await rejection(store.remove("never-written", "1-abc"))).code).toBe("NOT_FOUND");
    expect((await store.changes()).results.find((c) => c.id === "gone")?.changes).toEqual([{ rev: removed.rev }]);
  });

  it("refuses to delete a live document by a superseded revision with CONFLICT", async () => {
    const store = await backend.newStore();
    const first = await store.put({ _id: "kept", v: 1 });
    const second = await store.put({ _id: "kept", _rev: first.rev, v: 2 });
    expect((await rejection(store.remove("kept", first.rev))).code).toBe("CONFLICT");
    expect(await store.get("kept")).toMatchObject({ _rev: second.rev, v: 2 });
  });

  it("reads an older revision by rev, and the revision history with revs", async () => {
    const store = await backend.newStore();
    const r1 = await store.put({ _id: "h", v: 1 });
    const r2 = await store.put({ _id: "h", _rev: r1.rev, v: 2 });
    const old = await store.get("h", { rev: r1.rev });
    expect(old.v).toBe(1);
    const withRevs = await store.get("h", { revs: true });
    expect(withRevs._rev).toBe(r2.rev);
    expect(withRevs._revisions?.start).toBe(2);
    expect(withRevs._revisions?.ids).toEqual([r2.rev.split("-")[1], r1.rev.split("-")[1]]);
  });

  it("keeps the given revisions with new_edits: false and reports the branches as conflicts", async () => {
    const store = await backend.newStore();
    const results = await store.bulkDocs(
      [
        { _id: "c", _rev: `1-${hex("a")}`, side: "root" },
        { _id: "c", _rev: `2-${hex("b")}`, side: "b", _revisions: { start: 2, ids: [hex("b"), hex("a")] } },
        { _id: "c", _rev: `2-${hex("c")}`, side: "c", _revisions: { start: 2, ids: [hex("c"), hex("a")] } },
      ],
      { newEdits: false },
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    const doc = await store.get("c", { conflicts: true });
    // CouchDB's deterministic winner: same depth, highest rev hash.
    expect(doc._rev).toBe(`2-${hex("c")}`);
    expect(doc._conflicts).toEqual([`2-${hex("b")}`]);
    expect((await store.get("c", { rev: `2-${hex("b")}` })).side).toBe("b");
    const listed = await store.allDocs({ includeDocs: true, conflicts: true });
    expect(listed.rows.map((r) => [r.id, r.doc?._rev, r.doc?._conflicts])).toEqual([["c", `2-${hex("c")}`, [`2-${hex("b")}`]]]);
    const byKey = await store.allDocs({ keys: ["c", "none"], includeDocs: true, conflicts: true });
    expect(byKey.rows.map((r) => [r.key, r.value?.rev, r.doc?._conflicts, r.error])).toEqual([
      ["c", `2-${hex("c")}`, [`2-${hex("b")}`], undefined],
      ["none", undefined, undefined, "not_found"],
    ]);
  });

  it("answers every bulkGet request, missing ids as NOT_FOUND results instead of throwing", async () => {
    const store = await backend.newStore();
    const revs = await seed(store, ["x", "y"]);
    const r2 = await store.put({ _id: "x", _rev: revs.get("x") as string, v: 2 });
    const results = await store.bulkGet([{ id: "x" }, { id: "missing" }, { id: "x", rev: revs.get("x") as string }, { id: "y" }], {
      revs: true,
    });
    expect(results.map((r) => r.id)).toEqual(["x", "missing", "x", "y"]);
    const [latest, missing, older, y] = results;
    expect(latest && "ok" in latest && latest.ok._rev).toBe(r2.rev);
    expect(latest && "ok" in latest && latest.ok._revisions?.start).toBe(2);
    expect(missing && "error" in missing && missing.error.code).toBe("NOT_FOUND");
    expect(older && "ok" in older && older.ok._rev).toBe(revs.get("x"));
    expect(y && "ok" in y && y.ok.n).toBe(1);
  });

  it("returns one bulkDocs result per input in input order, a conflict as a result not a throw", async () => {
    const store = await backend.newStore();
    const revs = await seed(store, ["b"]);
    const results = await store.bulkDocs([{ _id: "a", v: 1 }, { _id: "b", v: 2 }, { _id: "c", v: 3 }, { _id: "b", _rev: revs.get("b") as string, v: 4 }]);
    expect(results.map((r) => [r.id, r.ok])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
      ["b", true],
    ]);
    const conflict = results[1];
    expect(conflict !== undefined && !conflict.ok && conflict.error.code).toBe("CONFLICT");
    expect((await store.get("b")).v).toBe(4);
  });

  it("pages through allDocs with startkey and limit, each id exactly once in order", async () => {
    const store = await backend.newStore();
    const ids = Array.from({ length: 11 }, (_v, i) => `doc-${String(i).padStart(2, "0")}`);
    await seed(store, [...ids].reverse());
    const seen: string[] = [];
    let startkey: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await store.allDocs(startkey === undefined ? { limit: 4 } : { limit: 4, startkey, skip: 1 });
      expect(res.totalRows).toBe(11);
      if (res.rows.length === 0) break;
      seen.push(...res.rows.map((r) => r.id));
      startkey = res.rows[res.rows.length - 1]?.id;
    }
    expect(seen).toEqual(ids);
  });

  it("answers allDocs keys in key order: missing keys as not_found, deleted as deleted, docs when asked", async () => {
    const store = await backend.newStore();
    const revs = await seed(store, ["k1", "k2", "k3"]);
    await store.remove("k2", revs.get("k2") as string);
    const res = await store.allDocs({ keys: ["k3", "nope", "k2", "k1"], includeDocs: true });
    expect(res.rows.map((r) => r.key)).toEqual(["k3", "nope", "k2", "k1"]);
    expect(res.rows[0]?.doc?.n).toBe(2);
    expect(res.rows[1]?.error).toBe("not_found");
    expect(res.rows[2]?.value?.deleted).toBe(true);
    expect(res.rows[3]?.value?.rev).toBe(revs.get("k1"));
    expect(res.totalRows).toBe(2);
    expect((await store.allDocs({ keys: ["k1", "nope"] })).totalRows).toBe(2);
  });

  it("returns only the changes after a saved checkpoint (sequences passed back as they are)", async () => {
    const store = await backend.newStore();
    await seed(store, ["old-1", "old-2"]);
    const checkpoint = (await store.changes()).lastSeq;
    await store.putLocal({ _id: "checkpoint", seq: checkpoint });
    await seed(store, ["new-1", "new-2"]);
    const saved = (await store.getLocal("checkpoint"))?.seq;
    expect(typeof saved).toBe("string");
    const later = await store.changes({ since: saved as string });
    expect(later.results.map((c) => c.id).sort()).toEqual(["new-1", "new-2"]);
    expect(later.results.every((c) => typeof c.seq === "string")).toBe(true);
    const none = await store.changes({ since: later.lastSeq });
    expect(none.results).toEqual([]);
  });

  it("pages through changes with limit and lastSeq, each document once", async () => {
    const store = await backend.newStore();
    const ids = ["p1", "p2", "p3", "p4", "p5"];
    await seed(store, ids);
    const seen: string[] = [];
    let since: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await store.changes(since === undefined ? { limit: 2 } : { limit: 2, since });
      if (page.results.length === 0) break;
      expect(page.results.length).toBeLessThanOrEqual(2);
      seen.push(...page.results.map((c) => c.id));
      since = page.lastSeq;
    }
    expect(seen.sort()).toEqual(ids);
  });

  it("reports pending changes after a limited page exactly when it declares reportsPending", async () => {
    const store = await backend.newStore();
    await seed(store, ["q1", "q2", "q3"]);
    const page = await store.changes({ limit: 1 });
    expect(page.results).toHaveLength(1);
    if (store.capabilities.reportsPending) expect(page.pending).toBe(2);
    else expect(page.pending).toBeUndefined();
  });

  it("filters changes by doc_ids", async () => {
    const store = await backend.newStore();
    await seed(store, ["a", "b", "c", "d"]);
    const res = await store.changes({ docIds: ["b", "d", "zz"] });
    expect(res.results.map((c) => c.id).sort()).toEqual(["b", "d"]);
  });

  it("filters changes by a Mango selector", async () => {
    const store = await backend.newStore();
    await seed(store, ["t1", "t2", "s1"], (id) => ({ schema: id.startsWith("t") ? "todo-item" : "settings", version: 1 }));
    const res = await store.changes({ selector: { schema: "todo-item" }, includeDocs: true });
    expect(res.results.map((c) => c.id).sort()).toEqual(["t1", "t2"]);
    expect(res.results.every((c) => c.doc?.schema === "todo-item")).toBe(true);
  });

  it("refuses changes filtered by both a selector and doc_ids with BAD_REQUEST", async () => {
    const store = await backend.newStore();
    const err = await rejection(store.changes({ selector: { a: 1 }, docIds: ["x"] }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toContain("$in");
  });

  it("includes the current documents in changes when asked, and not otherwise", async () => {
    const store = await backend.newStore();
    const revs = await seed(store, ["i"]);
    await store.put({ _id: "i", _rev: revs.get("i") as string, v: "edited" });
    const withDocs = await store.changes({ includeDocs: true });
    expect(withDocs.results).toHaveLength(1);
    expect(withDocs.results[0]?.doc?.v).toBe("edited");
    const without = await store.changes();
    expect(without.results[0]?.doc).toBeUndefined();
  });

  it("lists every leaf revision in changes with style all_docs", async () => {
    const store = await backend.newStore();
    await store.bulkDocs(
      [
        { _id: "s", _rev: `1-${hex("1")}` },
        { _id: "s", _rev: `2-${hex("2")}`, _revisions: { start: 2, ids: [hex("2"), hex("1")] } },
        { _id: "s", _rev: `2-${hex("3")}`, _revisions: { start: 2, ids: [hex("3"), hex("1")] } },
      ],
      { newEdits: false },
    );
    const main = await store.changes();
    expect(main.results[0]?.changes.map((c) => c.rev)).toEqual([`2-${hex("3")}`]);
    const all = await store.changes({ style: "all_docs" });
    expect(all.results[0]?.changes.map((c) => c.rev).sort()).toEqual([`2-${hex("2")}`, `2-${hex("3")}`]);
  });

  it("shows deletions in changes as deleted", async () => {
    const store = await backend.newStore();
    const revs = await seed(store, ["keep", "drop"]);
    const since = (await store.changes()).lastSeq;
    const removed = await store.remove("drop", revs.get("drop") as string);
    const res = await store.changes({ since });
    expect(res.results).toHaveLength(1);
    expect(res.results[0]).toMatchObject({ id: "drop", deleted: true, changes: [{ rev: removed.rev }] });
  });

  it("delivers a write to a live changes feed within 1 s, and nothing after stop", async () => {
    const store = await backend.newStore();
    await seed(store, ["before"]);
    const since = (await store.changes()).lastSeq;
    const received: Change[] = [];
    let arrived!: (c: Change) => void;
    const firstLive = new Promise<Change>((resolve) => (arrived = resolve));
    const errors: Error[] = [];
    const feed = store.liveChanges(
      { since, includeDocs: true },
      {
        onChange: (c) => {
          received.push(c);
          arrived(c);
        },
        onError: (e) => errors.push(e),
      },
    );
    await store.put({ _id: "live-1", v: 1 });
    const change = await within(firstLive, 1000, "the live change");
    expect(change.id).toBe("live-1");
    expect(change.doc?.v).toBe(1);
    await feed.stop();
    await feed.done;
    // A second feed sees the next write; by then the stopped one would have seen it too.
    let sawAfter!: () => void;
    const after = new Promise<void>((resolve) => (sawAfter = resolve));
    const control = store.liveChanges({ since }, { onChange: (c) => (c.id === "after-stop" ? sawAfter() : undefined) });
    await store.put({ _id: "after-stop", v: 2 });
    await within(after, 2000, "the control feed's change");
    await control.stop();
    expect(received.map((c) => c.id)).toEqual(["live-1"]);
    expect(errors).toEqual([]);
  });

  it("reports a live feed handler's failure through onError and done, then stops", async () => {
    const store = await backend.newStore();
    let calls = 0;
    let reported!: (e: Error) => void;
    const onError = new Promise<Error>((resolve) => (reported = resolve));
    const feed = store.liveChanges(
      { since: "now" },
      {
        onChange: () => {
          calls += 1;
          throw new Error("handler broke");
        },
        onError: (e) => reported(e),
      },
    );
    await store.put({ _id: "boom-1" });
    const err = await within(onError, 2000, "the handler failure report");
    expect(err.message).toContain("handler broke");
    await expect(feed.done).rejects.toThrow("handler broke");
    await store.put({ _id: "boom-2" });
    await feed.stop();
    expect(calls).toBe(1);
  });

  it("round-trips ids with URL-special characters, design documents included", async () => {
    const store = await backend.newStore();
    const ids = ["todo-item:a/b?c#d&e", "with space+plus%25", "ünïcödé:☕", "_design/x y"];
    for (const id of ids) await store.put({ _id: id, id });
    for (const id of ids) expect((await store.get(id)).id).toBe(id);
    const { rows } = await store.allDocs({ keys: ids });
    expect(rows.map((r) => r.value !== undefined)).toEqual([true, true, true, true]);
  });

  it("applies the selector to a live changes feed", async () => {
    const store = await backend.newStore();
    const seen: string[] = [];
    let gotWanted!: () => void;
    const wanted = new Promise<void>((resolve) => (gotWanted = resolve));
    const feed = store.liveChanges(
      { since: "now", selector: { schema: "todo-item" } },
      {
        onChange: (c) => {
          seen.push(c.id);
          if (c.id === "wanted-2") gotWanted();
        },
      },
    );
    await store.put({ _id: "wanted-1", schema: "todo-item" });
    await store.put({ _id: "other", schema: "settings" });
    await store.put({ _id: "wanted-2", schema: "todo-item" });
    await within(wanted, 2000, "the second matching live change");
    await feed.stop();
    expect(seen).toEqual(["wanted-1", "wanted-2"]);
  });

  it("stores _local documents by id with or without the prefix, outside changes and allDocs", async () => {
    const store = await backend.newStore();
    expect(await store.getLocal("state")).toBeUndefined();
    const w1 = await store.putLocal({ _id: "state", v: 1, seq: "opaque" });
    expect(w1.id).toBe("_local/state");
    const read = await store.getLocal("_local/state");
    expect(read).toMatchObject({ _id: "_local/state", v: 1, seq: "opaque" });
    const w2 = await store.putLocal({ _id: "_local/state", _rev: read?._rev as string, v: 2 });
    expect((await store.getLocal("state"))?.v).toBe(2);
    expect(w2.rev).not.toBe(w1.rev);
    expect((await store.allDocs()).rows).toEqual([]);
    expect((await store.changes()).results).toEqual([]);
    await store.removeLocal("state");
    expect(await store.getLocal("_local/state")).toBeUndefined();
    await store.removeLocal("state"); // absent: no error
  });

  it("a _local write with a stale or missing revision overwrites (CouchDB 3: last writer wins) or gets CONFLICT (PouchDB), never half of each", async () => {
    const store = await backend.newStore();
    const first = await store.putLocal({ _id: "state", owner: "a", n: 1 });
    await store.putLocal({ _id: "state", _rev: first.rev, owner: "b", n: 2 });
    let expected = "b";
    for (const [rev, owner] of [[first.rev, "c"], [undefined, "d"]] as const) {
      const outcome = await store.putLocal({ _id: "state", ...(rev === undefined ? {} : { _rev: rev }), owner }).then(
        () => "written",
        (e: unknown) => e,
      );
      if (outcome !== "written") expect((outcome as { code?: unknown }).code).toBe("CONFLICT");
      else expected = owner;
      const now = await store.getLocal("state");
      expect(now?.owner).toBe(expected);
      expect(now?.n, "a write replaces the whole document").toBe(expected === "b" ? 2 : undefined);
    }
  });

  it("finds documents by Mango selector with fields, sort and limit on a created index", async () => {
    const store = await backend.newStore();
    expect(store.capabilities.supportsFind).toBe(true);
    const first = await store.createIndex({ fields: ["schema", "rank"], name: "by-schema-rank", ddoc: "idx" });
    expect(first).toEqual({ result: "created", name: "by-schema-rank" });
    const again = await store.createIndex({ fields: ["schema", "rank"], name: "by-schema-rank", ddoc: "idx" });
    expect(again.result).toBe("exists");
    await seed(store, ["a", "b", "c", "d"], (id) => ({ schema: id === "d" ? "settings" : "todo-item", rank: { a: 3, b: 1, c: 2, d: 0 }[id] }));
    const res = await store.find({
      selector: { schema: "todo-item", rank: { $gt: 0 } },
      fields: ["_id", "rank"],
      sort: [{ schema: "asc" }, { rank: "asc" }],
      limit: 2,
      useIndex: ["idx", "by-schema-rank"],
    });
    expect(res.docs).toEqual([
      { _id: "b", rank: 1 },
      { _id: "c", rank: 2 },
    ]);
  });

  it("reports which revisions it lacks with revsDiff", async () => {
    const store = await backend.newStore();
    const { rev } = await store.put({ _id: "r", v: 1 });
    const diff = await store.revsDiff({ r: [rev, `2-${hex("e")}`], other: [`1-${hex("f")}`] });
    expect(diff.r?.missing).toEqual([`2-${hex("e")}`]);
    expect(diff.other?.missing).toEqual([`1-${hex("f")}`]);
  });

  it("creates and destroys idempotently; a re-created database is empty", async () => {
    const store = await backend.newStore();
    await store.create();
    await store.put({ _id: "x" });
    await store.destroy();
    await store.destroy();
    await store.create();
    await store.create();
    expect((await store.info()).docCount).toBe(0);
    expect((await store.allDocs()).rows).toEqual([]);
  });

  describe.skipIf(!backendSupportsVdu(backend))("validate_doc_update", () => {
    it("refuses a write with a clear FORBIDDEN error carrying the reason", async () => {
      const store = await backend.newStore();
      await store.put({
        _id: "_design/maintenance",
        validate_doc_update: `function (newDoc, oldDoc, userCtx) {
          if (newDoc.locked !== false) { throw({ forbidden: "database in maintenance: retry later" }); }
        }`,
      });
      const err = await rejection(store.put({ _id: "todo-item:1", title: "x" }));
      expect(err.code).toBe("FORBIDDEN");
      expect(err.message).toContain("database in maintenance: retry later");
      const results = await store.bulkDocs([{ _id: "todo-item:2" }, { _id: "ok", locked: false }]);
      expect(results[0]).toEqual({ id: "todo-item:2", ok: false, error: { code: "FORBIDDEN", reason: "database in maintenance: retry later" } });
      expect(results[1]?.ok).toBe(true);
      expect((await store.allDocs({ keys: ["todo-item:1", "todo-item:2"] })).rows.map((r) => r.error)).toEqual(["not_found", "not_found"]);
    });

    /** A design document whose function refuses every document marked `echo`, with what it was given as the reason. */
    const ECHO = {
      _id: "_design/echo",
      validate_doc_update: `function (newDoc, oldDoc, userCtx, secObj) {
        if (newDoc.echo || newDoc._deleted) throw({ forbidden: JSON.stringify({ newDoc: newDoc, oldDoc: oldDoc, db: userCtx.db, roles: userCtx.roles, secObj: secObj, self: this._id }) });
      }`,
    };
    type Seen = { newDoc: Record<string, unknown>; oldDoc: Record<string, unknown> | null; db: string; roles: string[]; secObj: unknown; self: string };
    const seen = (reason: string | undefined): Seen => JSON.parse(reason ?? "null") as Seen;
    const revisions = (rev: string) => ({ start: Number.parseInt(rev, 10), ids: [rev.slice(rev.indexOf("-") + 1)] });

    it("passes what CouchDB passes: newDoc with _revisions, the replaced revision as oldDoc, an admin's userCtx, the default security object", async () => {
      const store = await backend.newStore();
      await store.put(ECHO);
      const dbName = (await store.info()).name;
      const created = seen((await rejection(store.put({ _id: "a", echo: 1 }))).details?.["reason"] as string);
      expect(created).toEqual({
        newDoc: { _id: "a", echo: 1 },
        oldDoc: null,
        db: dbName,
        roles: ["_admin"],
        secObj: { members: { roles: ["_admin"] }, admins: { roles: ["_admin"] } },
        self: "_design/echo",
      });
      const { rev } = await store.put({ _id: "a", v: 1 });
      const [updated] = await store.bulkDocs([{ _id: "a", _rev: rev, echo: 2 }]);
      const update = seen(updated?.ok === false ? updated.error.reason : undefined);
      expect([update.newDoc, update.oldDoc]).toEqual([
        { _id: "a", _rev: rev, echo: 2, _revisions: revisions(rev) },
        { _id: "a", _rev: rev, v: 1, _revisions: revisions(rev) },
      ]);
      const deletion = seen((await rejection(store.remove("a", rev))).details?.["reason"] as string);
      expect(deletion.newDoc).toEqual({ _id: "a", _rev: rev, _deleted: true, _revisions: revisions(rev) });
      // A replicated revision is validated against its nearest ancestor the database has.
      const child = { start: 3, ids: [hex("c"), hex("b"), revisions(rev).ids[0] as string] };
      const [replicated] = await store.bulkDocs([{ _id: "a", _rev: `3-${hex("c")}`, _revisions: child, echo: 3 }], { newEdits: false });
      const fromReplication = seen(replicated?.ok === false ? replicated.error.reason : undefined);
      expect([fromReplication.newDoc._revisions, fromReplication.oldDoc?._rev]).toEqual([child, rev]);
    });

    it("does not validate design or _local documents, nor writes that conflict", async () => {
      const store = await backend.newStore();
      await store.put(ECHO);
      await store.put({ _id: "_design/other", echo: true });
      await store.putLocal({ _id: "_local/x", echo: true });
      const { rev } = await store.put({ _id: "b", v: 1 });
      await store.put({ _id: "b", _rev: rev, v: 2 });
      expect((await rejection(store.put({ _id: "b", _rev: rev, echo: true }))).code).toBe("CONFLICT");
      expect((await rejection(store.put({ _id: "b", echo: true }))).code).toBe("CONFLICT");
    });

    it("answers a crashing function with BAD_REQUEST and an unauthorized one with UNAUTHORIZED, like CouchDB's 500 and 401", async () => {
      const store = await backend.newStore();
      await store.put({
        _id: "_design/crash",
        validate_doc_update: `function (newDoc) {
          if (newDoc.crash) { newDoc.nothing.here(); }
          if (newDoc.who) { throw({ unauthorized: "log in first" }); }
        }`,
      });
      const crash = await rejection(store.put({ _id: "c", crash: true }));
      expect([crash.code, crash.details?.["status"], crash.details?.["error"]]).toEqual(["BAD_REQUEST", 500, "TypeError"]);
      const unauthorized = await rejection(store.put({ _id: "c", who: true }));
      expect([unauthorized.code, unauthorized.details?.["status"], unauthorized.details?.["reason"]]).toEqual(["UNAUTHORIZED", 401, "log in first"]);
      const results = await store.bulkDocs([{ _id: "d", crash: true }, { _id: "e", who: true }, { _id: "f" }]);
      expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["BAD_REQUEST", "UNAUTHORIZED", "ok"]);
    });
  });

  it("replicates into a PouchDB device once, copying every document and deletion", async () => {
    const store = await backend.newStore();
    const revs = await seed(store, ["a", "b", "c"]);
    await store.remove("c", revs.get("c") as string);
    const target = device();
    const result = await replicate(store, target);
    expect(result.docsWritten).toBe(3);
    expect((await target.allDocs()).rows.map((r) => r.id)).toEqual(["a", "b"]);
    expect((await target.get("a"))._rev).toBe(revs.get("a"));
    expect((await rejection(target.get("c"))).code).toBe("NOT_FOUND");
  });

  describe.skipIf(!backendSupportsSelectorReplication(backend))("selector replication", () => {
    it("copies only the documents matching a selector into a PouchDB device", async () => {
      const store = await backend.newStore();
      await seed(store, ["todo-item:1", "todo-item:2", "settings", "todo-item:old"], (id) => ({
        schema: id === "settings" ? "settings" : "todo-item",
        version: id.endsWith(":old") ? 1 : 2,
      }));
      const target = device();
      await replicate(store, target, { selector: { schema: "todo-item", version: { $gte: 2 } } });
      expect((await target.allDocs()).rows.map((r) => r.id)).toEqual(["todo-item:1", "todo-item:2"]);
    });
  });

  it("replicates only the given doc_ids", async () => {
    const store = await backend.newStore();
    await seed(store, ["a", "b", "c"]);
    const target = device();
    await replicate(store, target, { docIds: ["a", "c"] });
    expect((await target.allDocs()).rows.map((r) => r.id)).toEqual(["a", "c"]);
  });

  it("pushes a device's documents and conflicts into the store, keeping revisions", async () => {
    const store = await backend.newStore();
    const source = device();
    const { rev } = await source.put({ _id: "from-device", v: 1 });
    await store.put({ _id: "both", side: "store" });
    await source.put({ _id: "both", side: "device" });
    await replicate(source, store);
    expect((await store.get("from-device"))._rev).toBe(rev);
    const both = await store.get("both", { conflicts: true });
    expect(both._conflicts).toHaveLength(1);
  });

  it("replicates live until stopped", async () => {
    const store = await backend.newStore();
    const target = device();
    const live = replicateLive(store, target);
    let written!: () => void;
    const arrived = new Promise<void>((resolve) => (written = resolve));
    live.onChange(() => {
      void target.get("live-doc").then(() => written(), () => undefined);
    });
    await store.put({ _id: "live-doc", v: 1 });
    await within(arrived, 5000, "the live replication of live-doc");
    await live.stop();
    await store.put({ _id: "after-stop" });
    // A second live replication started after the write proves the write was replicable and gives the
    // stopped one the same time to (wrongly) carry it: only the second receives it.
    const witness = device();
    const second = replicateLive(store, witness);
    let seen!: () => void;
    const reached = new Promise<void>((resolve) => (seen = resolve));
    second.onChange(() => {
      void witness.get("after-stop").then(() => seen(), () => undefined);
    });
    await within(reached, 5000, "after-stop reaching a live replication started later");
    await second.stop();
    expect((await target.allDocs({ keys: ["after-stop"] })).rows[0]?.error).toBe("not_found");
  });

  it("a read after destroy is NOT_FOUND (PouchDB re-creates the database empty, CouchDB has none)", async () => {
    const store = await backend.newStore();
    await store.put({ _id: "x" });
    await store.destroy();
    // PouchDB re-creates a database on use, CouchDB does not: both agree the old document is gone.
    const err = await rejection(store.get("x"));
    expect(err.code).toBe("NOT_FOUND");
    await store.create();
  });
}

function backendSupportsVdu(backend: StoreBackend): boolean {
  return backend.capabilities.supportsValidateDocUpdate;
}

function backendSupportsSelectorReplication(backend: StoreBackend): boolean {
  return backend.capabilities.supportsSelectorReplication;
}
