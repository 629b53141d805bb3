/**
 * What the runner does with data nobody wrote for the tests (issue 14): entities split across pages, conflicted
 * documents, attachments in a copy, steps that would drop an attribute, a quarantine larger than one document,
 * failing stores and bugs. In memory (PouchDB); the CLI tests run the same on the HTTP servers.
 */
import { describe, expect, it } from "vitest";
import { isDivanError, DivanError } from "../../core/errors.js";
import type { Doc, DocumentStore, LocalDoc } from "../../store/port.js";
import { QuarantineLog, quarantineCount, quarantineId, readQuarantine } from "../../strategies/runner/local.js";
import { createMigration, runMigration } from "../../strategies/runner/runner.js";
import { resolveMigrationConflicts } from "../../strategies/runner/conflicts.js";
import { rollbackMigration } from "../../strategies/runner/verify.js";
import type { DocumentResult, QuarantineRecord } from "../../strategies/runner/types.js";
import { contents, graph, memoryStores, todoRegistry, todoV1, V1, V3 } from "./fixtures.js";

const store = memoryStores("safety");

const hex = (c: string): string => c.repeat(32);

/** Every leaf of `id`: the winner and its conflicts, with bodies, sorted by revision. */
async function leavesOf(s: DocumentStore, id: string): Promise<Doc[]> {
  const winner = await s.get(id, { conflicts: true });
  const others = (await s.bulkGet((winner._conflicts ?? []).map((rev) => ({ id, rev })))).flatMap((r) => ("ok" in r ? [r.ok] : []));
  return [winner, ...others].map(({ _conflicts, ...d }) => (void _conflicts, d as Doc)).sort((a, b) => String(a._rev).localeCompare(String(b._rev)));
}

const leafOf = (n: number, c: string): Doc => ({ ...todoV1(n), _rev: `1-${hex(c)}`, title: `leaf ${c}` });
const withoutRev = ({ _rev, _revisions, ...d }: Doc): Doc => (void _rev, void _revisions, d as Doc);

describe("entities split across pages", () => {
  it("an in-place rollback of the 1→3 split gathers each todo-item@3 with its todo-item-status@1 from another page", async () => {
    const s = store();
    await s.bulkDocs(Array.from({ length: 40 }, (_, i) => todoV1(i)));
    const original = await contents(s);
    await runMigration({ source: s, plan: { graph, to: V3 }, batchSize: 7 });
    // status documents sort before todo items: with 7 per page, every entity is split across pages
    const r = await rollbackMigration({ mode: "down", source: s, graph, from: V1, batchSize: 7, concurrency: 3, verify: await todoRegistry() });
    expect(r?.outstanding).toEqual([]);
    expect(r?.totals.quarantined).toBe(0);
    expect(r?.totals.migrated).toBe(80); // each item and each status document
    expect(await contents(s)).toEqual(original);
  });
});

describe("conflicted documents", () => {
  const leafA = { ...todoV1(1), _rev: `1-${hex("a")}`, title: "leaf a", isDone: true };
  const leafB = { ...todoV1(1), _rev: `1-${hex("b")}`, title: "leaf b" };

  it("in place, a losing revision that translates into itself is migrated on its own branch, and rolled back the same way", async () => {
    const s = store();
    await s.bulkDocs([leafA, leafB], { newEdits: false });
    const results: DocumentResult[] = [];
    const m = createMigration({ source: s, plan: { graph, to: { "todo-item": 2 } }, verify: await todoRegistry() });
    m.on("document", (d) => results.push(d));
    const r = await m.run();
    expect(r.totals.conflicts).toBe(1);
    expect(r.outstanding).toEqual([]);
    expect(results.filter((d) => d.status === "migrated").map((d) => d.rev).sort()).toEqual([leafA._rev, leafB._rev]);
    const up = await leavesOf(s, leafA._id);
    expect(up.map((d) => [d["version"], d["title"], d["status"]]).sort()).toEqual([
      [2, "leaf a", "done"],
      [2, "leaf b", "active"],
    ]);
    expect(up.every((d) => String(d._rev).startsWith("2-"))).toBe(true);
    await rollbackMigration({ mode: "down", source: s, graph, from: { "todo-item": 1 }, verify: await todoRegistry() });
    const byTitle = (a: Doc, b: Doc): number => String(a["title"]).localeCompare(String(b["title"]));
    expect((await leavesOf(s, leafA._id)).map(withoutRev).sort(byTitle)).toEqual([leafA, leafB].map(withoutRev));
  });

  it("in place, when a losing revision cannot follow (the split writes a status document too), the whole document is left as it is, quarantined and counted", async () => {
    const s = store();
    await s.bulkDocs([leafA, leafB], { newEdits: false });
    const r = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(r.totals.conflicts).toBe(1);
    expect(r.outstanding.map((q) => [q.rev, q.code]).sort()).toEqual([
      [leafA._rev, "CONFLICT"],
      [leafB._rev, "CONFLICT"],
    ]);
    expect(r.outstanding.every((q) => q.reason.includes("resolve the conflict"))).toBe(true);
    expect((await leavesOf(s, leafA._id)).map(withoutRev)).toEqual([leafA, leafB].map(withoutRev)); // untouched, both leaves
    expect(await s.get("todo-item-status:000001").catch((e: unknown) => e)).toMatchObject({ code: "NOT_FOUND" });
    // once the conflict is resolved, the next run migrates it
    await s.remove(leafA._id, leafA._rev);
    const after = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(after.outstanding).toEqual([]);
    expect((await s.get(leafA._id))).toMatchObject({ version: 3, title: "leaf b" });
  });

  it("a copy carries every leaf, with its revisions: a conflicted document is never translated into a copy (it would drop a leaf) but carried and quarantined", async () => {
    const src = store();
    const dst = store();
    const w = { _id: "widget:1", schema: "widget", version: 1 };
    await src.bulkDocs([leafA, leafB, { ...w, _rev: `1-${hex("c")}`, side: "c" }, { ...w, _rev: `2-${hex("d")}`, _revisions: { start: 2, ids: [hex("d"), hex("e")] }, side: "d" }], { newEdits: false });
    const r = await runMigration({ source: src, target: dst, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(r.totals.conflicts).toBe(2);
    expect((await leavesOf(dst, "widget:1")).map((d) => d._rev)).toEqual([`1-${hex("c")}`, `2-${hex("d")}`]);
    expect((await dst.get("widget:1", { revs: true }))._revisions?.ids).toEqual([hex("d"), hex("e")]);
    expect(r.outstanding).toEqual([expect.objectContaining({ id: leafA._id, rev: leafB._rev, code: "CONFLICT" })]);
    expect(await leavesOf(dst, leafA._id)).toEqual(await leavesOf(src, leafA._id));
  });
});

describe("attachments in a copy", () => {
  it("the target gets the attachment bodies of translated documents and of documents copied unchanged", async () => {
    const src = store();
    const dst = store();
    const data = Buffer.from("hello attachment").toString("base64");
    const att = { "a.txt": { content_type: "text/plain", data } };
    await src.bulkDocs([todoV1(1, { _attachments: att }), { _id: "widget:1", schema: "widget", version: 1, _attachments: att }]);
    const r = await runMigration({ source: src, target: dst, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(r.outstanding).toEqual([]);
    for (const id of [todoV1(1)._id, "widget:1"]) {
      const [got] = await dst.bulkGet([{ id }], { attachments: true });
      const doc = got !== undefined && "ok" in got ? got.ok : undefined;
      expect((doc?._attachments?.["a.txt"] as { data?: unknown } | undefined)?.data, id).toBe(data);
    }
    expect((await dst.get(todoV1(1)._id))["version"]).toBe(3);
  });
});

describe("nothing disappears silently", () => {
  it("a todo-item@1 whose unknown 'status' the 1→2 step would overwrite keeps it aside, and a rollback gives it back", async () => {
    const s = store();
    const weird = todoV1(2, { status: "weird" });
    await s.bulkDocs([todoV1(1), weird]);
    const r = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(r.outstanding).toEqual([]);
    expect(JSON.stringify(await s.get(weird._id))).toContain('"weird"');
    const back = await rollbackMigration({ mode: "down", source: s, graph, from: V1, verify: await todoRegistry() });
    expect(back?.outstanding).toEqual([]);
    expect(withoutRev(await s.get(weird._id))).toEqual(weird);
  });

  it("down a path, an attribute the schema does not name comes back too: a todo-item@3 with its own isDone rolls back and up again unchanged", async () => {
    const s = store();
    const item = { _id: "todo-item:x", schema: "todo-item", version: 3, title: "x", createdAt: "2024-01-01T00:00:00.000Z", group: "g", isDone: "mine" };
    const status = { _id: "todo-item-status:x", schema: "todo-item-status", version: 1, status: "done" };
    await s.bulkDocs([item, status]);
    const r = await rollbackMigration({ mode: "down", source: s, graph, from: V1, verify: await todoRegistry() });
    expect(r?.outstanding).toEqual([]);
    expect((await s.get("todo-item:x"))["version"]).toBe(1);
    const up = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(up.outstanding).toEqual([]);
    expect(withoutRev(await s.get("todo-item:x"))).toEqual(item);
    expect(withoutRev(await s.get("todo-item-status:x"))).toEqual(status);
  });

  it("outputs that fail their schema are quarantined with the reason, and the original stays", async () => {
    const s = store();
    const long = todoV1(3, { title: "x".repeat(65) });
    await s.bulkDocs([long]);
    const r = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(r.outstanding).toEqual([expect.objectContaining({ id: long._id, code: "SCHEMA_INVALID", reason: expect.stringContaining("/title") })]);
    expect(withoutRev(await s.get(long._id))).toEqual(long);
  });

  it("a later run retries what is quarantined and drops the record once the document changed", async () => {
    const s = store();
    const bad = todoV1(4, { isDone: "maybe" });
    await s.bulkDocs([bad]);
    const first = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(first.outstanding).toHaveLength(1);
    const again = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(again.outstanding).toHaveLength(1); // still there, still failing
    const stored = await s.get(bad._id);
    await s.put({ ...stored, isDone: false });
    const fixed = await runMigration({ source: s, plan: { graph, to: V3 }, verify: await todoRegistry() });
    expect(fixed.outstanding).toEqual([]);
    expect(await readQuarantine(s, fixed.id)).toEqual([]);
    expect((await s.get(bad._id))["version"]).toBe(3);
  });
});

describe("the quarantine holds any number of records", () => {
  const record = (i: number): QuarantineRecord => ({ id: `todo-item:${i}`, rev: `1-${i}`, type: "todo-item", version: 1, code: "SCHEMA_INVALID", reason: `reason ${i} ${"y".repeat(3000)}` });

  it("in pages of bounded size; every record and the count are what is stored; a record is added once", async () => {
    const s = store();
    const log = await QuarantineLog.load(s, "job");
    await log.append(Array.from({ length: 700 }, (_, i) => record(i)));
    await log.append([record(5), ...Array.from({ length: 700 }, (_, i) => record(700 + i))]);
    const stored = await readQuarantine(s, "job");
    expect(stored).toHaveLength(1400);
    expect(await quarantineCount(s, "job")).toBe(1400);
    expect(stored.every((r) => r.reason.length < 2100)).toBe(true); // reasons are cut
    const head = (await s.getLocal(quarantineId("job"))) as LocalDoc;
    expect(head["pages"]).toBeGreaterThanOrEqual(3);
    for (let n = 0; n < Number(head["pages"]); n++) {
      expect(JSON.stringify(await s.getLocal(`${quarantineId("job")}-${n}`)).length).toBeLessThan(1_100_000);
    }
    const reloaded = await QuarantineLog.load(s, "job");
    await reloaded.retain((r) => Number(r.id.split(":")[1]) % 2 === 0);
    expect(await readQuarantine(s, "job")).toHaveLength(700);
    expect(await quarantineCount(s, "job")).toBe(700);
  });

  it("a failed write keeps its records: the next run stores every one and the counts match", async () => {
    const inner = store();
    const n = 30;
    await inner.bulkDocs(Array.from({ length: n }, (_, i) => todoV1(i, { isDone: "no" })));
    let failures = 1;
    const flaky: DocumentStore = Object.create(inner) as DocumentStore;
    flaky.putLocal = async (doc: LocalDoc) => {
      if (doc._id.startsWith("_local/divan-quarantine-") && failures-- > 0) throw new DivanError("BAD_REQUEST", "document_too_large");
      return inner.putLocal(doc);
    };
    await expect(runMigration({ source: flaky, plan: { graph, to: V3 }, verify: await todoRegistry(), batchSize: 10 })).rejects.toSatisfy((e: unknown) => isDivanError(e, "BAD_REQUEST"));
    const r = await runMigration({ source: inner, plan: { graph, to: V3 }, verify: await todoRegistry(), batchSize: 10 });
    expect(r.outstanding).toHaveLength(n);
    expect(await readQuarantine(inner, r.id)).toHaveLength(n);
    expect(await quarantineCount(inner, r.id)).toBe(n);
  });

  it("a quarantine written by divan 0.1 (one document with every record) is read and moved into pages", async () => {
    const s = store();
    await s.putLocal({ _id: quarantineId("old"), v: 1, records: [record(1), record(2)] });
    const log = await QuarantineLog.load(s, "old");
    expect(log.all()).toHaveLength(2);
    await log.append([record(3)]);
    expect((await readQuarantine(s, "old")).map((r) => r.id)).toEqual(["todo-item:1", "todo-item:2", "todo-item:3"]);
    expect((await s.getLocal(quarantineId("old")))?.["records"]).toBeUndefined();
  });
});

describe("failures", () => {
  it("a bug (an error that is no DivanError) surfaces at once, without retries", async () => {
    const inner = store();
    await inner.bulkDocs([todoV1(1)]);
    let calls = 0;
    const buggy: DocumentStore = Object.create(inner) as DocumentStore;
    buggy.allDocs = async () => {
      calls++;
      throw new TypeError("cannot read properties of undefined");
    };
    const m = createMigration({ source: buggy, plan: { graph, to: V3 } });
    const errors: unknown[] = [];
    m.on("error", (e) => errors.push(e));
    await expect(m.run()).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
    expect(errors).toEqual([]);
  });

  it("resolving migration conflicts lets a bug surface instead of taking it for a missing document", async () => {
    const inner = store();
    await inner.bulkDocs([leafOf(1, "a"), leafOf(1, "b")], { newEdits: false });
    const buggy: DocumentStore = Object.create(inner) as DocumentStore;
    buggy.get = async () => {
      throw new TypeError("x is not a function");
    };
    await expect(resolveMigrationConflicts(buggy, { graph, to: V3 })).rejects.toBeInstanceOf(TypeError);
  });

  it("an unavailable store is retried with backoff", async () => {
    const inner = store();
    await inner.bulkDocs([todoV1(1)]);
    let failures = 2;
    const flaky: DocumentStore = Object.create(inner) as DocumentStore;
    flaky.bulkDocs = async (docs, options) => {
      if (failures-- > 0) throw new DivanError("STORE_UNAVAILABLE", "connection reset");
      return inner.bulkDocs(docs, options);
    };
    const r = await runMigration({ source: flaky, plan: { graph, to: V3 }, retry: { backoffMs: 1 } });
    expect(r.totals.migrated).toBe(1);
  });
});
