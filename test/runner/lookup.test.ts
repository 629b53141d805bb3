/**
 * How the runner reads the target's current documents before it writes: by `_all_docs` key range per id
 * prefix (one seek answers for ids that do not exist), cut off by a limit when the range holds many other
 * documents, with the rest asked for by `keys`. Whatever the path, a stored document is found, so writes
 * carry its revision and never conflict.
 */
import { describe, expect, it } from "vitest";
import type { AllDocsOptions, Doc, DocumentStore } from "../../store/port.js";
import { COPY_MARKER_ID } from "../../strategies/runner/local.js";
import { createMigration, runMigration } from "../../strategies/runner/runner.js";
import { contents, graph, memoryStores, todoV1, withRevs } from "./fixtures.js";

const V3 = { "todo-item": 3, "todo-item-status": 1 };
const store = memoryStores("lookup");

/** `store` with every `allDocs` call recorded. */
function spied(s: DocumentStore): { store: DocumentStore; calls: AllDocsOptions[] } {
  const calls: AllDocsOptions[] = [];
  const proxy: DocumentStore = Object.create(s) as DocumentStore;
  proxy.allDocs = (o?: AllDocsOptions) => {
    calls.push({ ...o });
    return s.allDocs(o);
  };
  return { store: proxy, calls };
}

describe("reading the target before writing", () => {
  it("a copy into a new database reads none of its documents before it writes them", async () => {
    const src = store();
    await src.bulkDocs(Array.from({ length: 100 }, (_, i) => todoV1(i)));
    const { store: dst, calls } = spied(store());
    const r = await runMigration({ source: src, target: dst, plan: { graph, to: V3 }, batchSize: 50, lease: false });
    expect(r.totals.migrated).toBe(100);
    expect(r.totals.conflicts).toBe(0);
    expect(calls).toEqual([]);
    expect(await contents(dst)).toHaveLength(200);
  });

  it("a copy into a new database that someone else writes into as well plans a conflicted entity again on what it reads", async () => {
    const src = store();
    await src.bulkDocs(Array.from({ length: 100 }, (_, i) => todoV1(i)));
    const inner = store();
    const dst: DocumentStore = Object.create(inner) as DocumentStore;
    let foreign = false;
    dst.bulkDocs = async (docs: Doc[], o) => {
      if (!foreign && docs.some((d) => d._id === "todo-item:000060")) {
        foreign = true; // written after the page was planned, before its write arrives
        await inner.bulkDocs([{ _id: "todo-item:000060", schema: "todo-item", version: 3, title: "theirs", group: "work", createdAt: "2024-01-01T00:00:00.000Z" }]);
      }
      return inner.bulkDocs(docs, o);
    };
    const results: string[] = [];
    const m = createMigration({ source: src, target: dst, plan: { graph, to: V3 }, batchSize: 50, lease: false });
    m.on("document", (d) => results.push(d.status));
    const r = await m.run();
    expect(foreign).toBe(true);
    expect(r.totals.migrated).toBe(100);
    expect(r.totals.changed).toBe(0);
    expect(results.filter((s) => s !== "migrated")).toEqual([]);
    const out = await withRevs(inner);
    expect(out).toHaveLength(200);
    const item = out.find((d) => d._id === "todo-item:000060")!;
    // their document was the translation's base (its group kept) and is replaced, not conflicted
    expect(item).toMatchObject({ version: 3, title: "todo 60", group: "work" });
    expect(Number.parseInt(item._rev!, 10)).toBe(2);
    const [withConflicts] = (await inner.allDocs({ keys: ["todo-item:000060"], includeDocs: true, conflicts: true })).rows;
    expect(withConflicts?.doc?._conflicts ?? []).toEqual([]);
  });

  it("a rerun of a finished copy finds every stored document by range and writes nothing", async () => {
    const src = store();
    const dst = store();
    await src.bulkDocs(Array.from({ length: 60 }, (_, i) => todoV1(i)));
    await runMigration({ source: src, target: dst, plan: { graph, to: V3 }, batchSize: 25, lease: false });
    const before = await withRevs(dst);
    const again = await runMigration({ source: src, target: dst, plan: { graph, to: V3 }, batchSize: 25, lease: false, restart: true });
    expect(again.totals.conflicts).toBe(0);
    expect(again.totals.written).toBe(0);
    expect(await withRevs(dst)).toEqual(before);
  });

  it("a range crowded with documents that were not asked for is cut off and the rest found by key: no conflict", async () => {
    // The target holds 200 migrated todos; the source has every 10th of them, edited at v1.
    const full = store();
    const dst = store();
    await full.bulkDocs(Array.from({ length: 200 }, (_, i) => todoV1(i)));
    await runMigration({ source: full, target: dst, plan: { graph, to: V3 }, id: "fill", lease: false });
    const src = store();
    await src.bulkDocs(Array.from({ length: 20 }, (_, k) => todoV1(k * 10, { title: `edited ${k * 10}` })));
    // The target holds documents: a copy goes only into divan's copy of the same source, so it says it is src's.
    await dst.putLocal({ ...(await dst.getLocal(COPY_MARKER_ID)), _id: COPY_MARKER_ID, source: (await src.info()).name });
    const { store: spy, calls } = spied(dst);
    const r = await runMigration({ source: src, target: spy, plan: { graph, to: V3 }, id: "edits", batchSize: 20, lease: false });
    expect(r.totals.conflicts).toBe(0);
    expect(r.totals.migrated).toBe(20);
    // the todo-item: range (todo-item:000000 … todo-item:000190) holds 191 documents: cut off, then by key
    expect(calls.some((c) => c.keys !== undefined && c.keys.length > 0)).toBe(true);
    const out = await withRevs(dst);
    expect(out).toHaveLength(400);
    for (let i = 0; i < 200; i++) {
      const item = out.find((d) => d._id === todoV1(i)._id)!;
      expect(item["title"]).toBe(i % 10 === 0 ? `edited ${i}` : `todo ${i}`);
      expect(item._rev!.startsWith(i % 10 === 0 ? "2-" : "1-")).toBe(true);
    }
  });

  it("in place, existing status documents of the page's todos are found by range and updated, not conflicted", async () => {
    const s = store();
    const todos: Doc[] = Array.from({ length: 40 }, (_, i) => todoV1(i));
    const statuses: Doc[] = todos.map((t) => ({ _id: t._id.replace("todo-item:", "todo-item-status:"), schema: "todo-item-status", version: 1, status: "rejected" }));
    await s.bulkDocs([...todos, ...statuses]);
    // pages of 20: the status documents (they sort first) are on earlier pages than their todos
    const r = await runMigration({ source: s, plan: { graph, to: V3 }, batchSize: 20, lease: false });
    expect(r.totals.conflicts).toBe(0);
    const out = await withRevs(s);
    expect(out).toHaveLength(80);
    expect(out.filter((d) => d["schema"] === "todo-item").every((d) => d["version"] === 3)).toBe(true);
    const page = await s.allDocs({ keys: statuses.map((d) => d._id), includeDocs: true });
    expect(page.rows.every((row) => row.doc !== undefined && row.doc !== null && row.doc._conflicts === undefined)).toBe(true);
  });
});
