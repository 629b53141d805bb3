import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AllDocsOptions, BulkDocsOptions, ChangesOptions, Doc, DocumentStore } from "../../store/port.js";
import { ChangeFollower } from "../../strategies/runner/follow.js";
import { readCheckpoint } from "../../strategies/runner/local.js";
import { createMigration, runMigration } from "../../strategies/runner/runner.js";
import type { DocumentResult, QuarantineRecord } from "../../strategies/runner/types.js";
import { storeBackends } from "../support/backends.js";
import { contents, graph, memoryStores, todoV1, V3 } from "./fixtures.js";

const store = memoryStores("follow");

/** A follower of `s` from its current sequence. */
async function followerOf(s: DocumentStore): Promise<ChangeFollower> {
  return new ChangeFollower((since, limit) => s.changes({ since, limit, style: "all_docs" }), (await s.info()).updateSeq);
}

async function put(s: DocumentStore, doc: Doc): Promise<string> {
  const [r] = await s.bulkDocs([doc]);
  if (r?.ok !== true) throw new Error(`write of ${doc._id} failed`);
  return r.rev;
}


/** Every one of the `n` todos in `store` is at v3 with its status, and the old app's edit of the first one is kept. */
async function expectMigrated(store: Parameters<typeof contents>[0], n: number): Promise<void> {
  const after = await contents(store);
  const items = after.filter((d) => d["schema"] === "todo-item");
  expect(items).toHaveLength(n);
  expect(items.filter((d) => d["version"] !== 3).map((d) => d._id)).toEqual([]);
  expect(items.find((d) => d._id === "todo-item:000000")?.["title"]).toBe("old app");
  expect(after.filter((d) => d["schema"] === "todo-item-status")).toHaveLength(n);
}
/**
 * 20 todos at v1 in `inner`, and a source on which an old app edits each one (title "old app") just before the run's
 * `new_edits: false` write of its migrated revision: the edit and the run's revision are sibling leaves.
 */
async function editedBetweenReadAndWrite(inner: DocumentStore): Promise<{ inner: DocumentStore; edited: DocumentStore }> {
  const docs: Doc[] = [];
  for (let i = 0; i < 20; i++) docs.push(todoV1(i));
  await inner.bulkDocs(docs);
  const done = new Set<string>();
  const edited: DocumentStore = Object.create(inner) as DocumentStore;
  edited.bulkDocs = async (d: Doc[], o?: BulkDocsOptions) => {
    for (const x of d) {
      if (!x._id.startsWith("todo-item:") || x._revisions === undefined || done.has(x._id)) continue;
      done.add(x._id);
      const cur = await inner.get(x._id);
      if (cur["version"] === 1) await put(inner, { ...cur, title: "old app" });
    }
    return inner.bulkDocs(d, o);
  };
  return { inner, edited };
}

/**
 * The 20 todos of {@link editedBetweenReadAndWrite} after a run: every old app's edit is a leaf (nothing dropped), and
 * each leaf still at v1 (an edit the run's revision won over: it translates into two documents, so it cannot follow on
 * its own branch) is exactly one the run reported, quarantined as `CONFLICT`; every other leaf is at v3.
 */
async function expectEditsMigratedOrReported(s: DocumentStore, reported: readonly QuarantineRecord[]): Promise<void> {
  const old: string[] = [];
  const edits: string[] = [];
  for (let i = 0; i < 20; i++) {
    const id = `todo-item:${String(i).padStart(6, "0")}`;
    const cur = await s.get(id, { conflicts: true });
    expect(cur["version"]).toBe(3);
    for (const rev of [cur._rev!, ...((cur._conflicts as string[] | undefined) ?? [])]) {
      const leaf = await s.get(id, { rev });
      if (leaf["version"] !== 3) old.push(`${id}@${rev}`);
      if (leaf["title"] === "old app") edits.push(id);
    }
  }
  expect(edits).toHaveLength(20);
  expect(reported.every((r) => r.code === "CONFLICT")).toBe(true);
  expect(reported.map((r) => `${r.id}@${r.rev ?? ""}`).sort()).toEqual(old.sort());
}

describe("the change follower", () => {
  it("drops an own write's change whether the change is read before or after the write's answer, and keeps the others'", async () => {
    const s = store();
    const f = await followerOf(s);
    const revA = await put(s, todoV1(1));
    f.wrote("todo-item:000001", revA); // the answer first, then the change
    const revB = await put(s, todoV1(2));
    await put(s, todoV1(3)); // someone else's
    expect(await f.read(10)).toBe(3);
    expect(f.pending).toBe(2); // b's answer has not come yet, c is not the run's
    f.wrote("todo-item:000002", revB); // the change first, then the answer
    expect(f.pending).toBe(1);
    expect(f.take(10)).toEqual(["todo-item:000003"]);
    expect(f.held).toBe(0);
    expect(await f.read(10)).toBe(0);
  });

  it("counts a change its own only when every leaf revision it lists is one the run wrote", async () => {
    // An old app's edit of the revision the run read and the run's child of it: two leaves, and the run's may win.
    const s = store();
    const rev = await put(s, todoV1(1));
    const rev2 = await put(s, todoV1(2));
    const f = await followerOf(s);
    const mine = (r: string, n: number): Doc => ({ ...todoV1(n), version: 3, _rev: `2-${"f".repeat(32)}`, _revisions: { start: 2, ids: ["f".repeat(32), r.slice(2)] } });
    await put(s, { ...todoV1(1), title: "old app", _rev: rev });
    await s.bulkDocs([mine(rev, 1)], { newEdits: false });
    f.wrote("todo-item:000001", `2-${"f".repeat(32)}`); // the answer first
    await put(s, { ...todoV1(2), title: "old app", _rev: rev2 });
    await s.bulkDocs([mine(rev2, 2)], { newEdits: false });
    expect(await f.read(10)).toBe(2);
    f.wrote("todo-item:000002", `2-${"f".repeat(32)}`); // the change first
    expect(f.take(10)).toEqual(["todo-item:000001", "todo-item:000002"]);
    expect(f.held).toBe(0);
  });

  it("takes an id changed twice once, and at most n ids", async () => {
    const s = store();
    const f = await followerOf(s);
    const rev = await put(s, todoV1(1));
    await f.read(10);
    await put(s, { ...todoV1(1), title: "again", _rev: rev });
    for (let i = 2; i <= 4; i++) await put(s, todoV1(i));
    await f.read(10);
    expect(f.take(2)).toEqual(["todo-item:000001", "todo-item:000002"]);
    expect(f.take(10)).toEqual(["todo-item:000003", "todo-item:000004"]);
    expect(f.pending).toBe(0);
  });
});

describe("eager runner, in place, following the feed during the scan", () => {
  it("migrates each document once: its own writes never come back in the dirty pass", async () => {
    const s = store();
    const docs: Doc[] = [];
    for (let i = 0; i < 60; i++) docs.push(todoV1(i));
    await s.bulkDocs(docs);
    const results: DocumentResult[] = [];
    const m = createMigration({ source: s, plan: { graph, to: V3 }, batchSize: 7, concurrency: 3 });
    m.on("document", (r) => results.push(r));
    const report = await m.run();
    expect(report.completed).toBe(true);
    expect(report.dirtyRounds).toBe(0);
    expect(report.totals.migrated).toBe(60);
    expect(results.map((r) => r.id).sort()).toEqual(docs.map((d) => d._id));
    expect(results.every((r) => r.status === "migrated")).toBe(true);
    expect(report.lastSeq).toBe((await s.info()).updateSeq);
  });

  it("migrates again a migrated document an old app overwrote during the scan, and the documents it added", async () => {
    const inner = store();
    const docs: Doc[] = [];
    for (let i = 0; i < 40; i++) docs.push(todoV1(i));
    await inner.bulkDocs(docs);
    let pages = 0;
    const busy: DocumentStore = Object.create(inner) as DocumentStore;
    busy.allDocs = async (o?: AllDocsOptions) => {
      if (o?.keys === undefined && ++pages === 4) {
        // Pages 1–3 are read (and todo-item:000000 on page 1 most likely written): the old app writes it back at v1.
        const cur = await inner.get("todo-item:000000");
        if (cur["version"] === 3) await put(inner, { ...todoV1(0, { title: "old app" }), _rev: cur._rev! });
        await put(inner, todoV1(900));
      }
      return inner.allDocs(o);
    };
    const report = await runMigration({ source: busy, plan: { graph, to: V3 }, batchSize: 5, concurrency: 2 });
    expect(report.completed).toBe(true);
    expect(report.dirtyRounds).toBeGreaterThan(0);
    await expectMigrated(inner, 41);
  });

  it("migrates an old app's edit that replication brings with the run's own revision as its ancestor, though the sequence count cannot tell", async () => {
    // Another device migrated todo-item:000000 to the very revision this run writes (deterministic revisions), then its
    // old app edited it back at v1; replication brings both as one write (the edit's leaf, the migrated revision as its
    // ancestor) between this run's read and its write. The run's write of its revision then exists already: PouchDB
    // answers ok and makes no sequence, while the replicated write made one. So the database's update_seq moves by
    // exactly the number of writes the run was answered ok for, as if no one else had written: comparing those counts
    // cannot replace reading the feed back.
    const inner = store();
    const docs: Doc[] = [];
    for (let i = 0; i < 20; i++) docs.push(todoV1(i));
    await inner.bulkDocs(docs);
    const before = Number((await inner.info()).updateSeq);
    let replicated = false;
    let ownOk = 0;
    const busy: DocumentStore = Object.create(inner) as DocumentStore;
    busy.bulkDocs = async (d: Doc[], o?: BulkDocsOptions) => {
      const mine = d.find((x) => x._id === "todo-item:000000");
      if (!replicated && mine?._revisions !== undefined) {
        replicated = true;
        const { start, ids } = mine._revisions as { start: number; ids: string[] };
        const edit = { ...todoV1(0, { title: "old app" }), _rev: `${start + 1}-${"e".repeat(32)}`, _revisions: { start: start + 1, ids: ["e".repeat(32), ...ids] } };
        expect((await inner.bulkDocs([edit], { newEdits: false }))[0]?.ok).toBe(true);
      }
      const r = await inner.bulkDocs(d, o);
      ownOk += r.filter((x, i) => x.ok && !d[i]!._id.startsWith("_local/")).length;
      return r;
    };
    const report = await runMigration({ source: busy, plan: { graph, to: V3 }, batchSize: 5, concurrency: 2, deterministicRevs: true });
    expect(replicated).toBe(true);
    expect(report.completed).toBe(true);
    expect(Number((await inner.info()).updateSeq) - before).toBe(ownOk);
    await expectMigrated(inner, 20);
  });

  it("checkpoints the dirty pass after every batch, so a run stopped in it resumes there and ends with every document migrated", async () => {
    const inner = store();
    const docs: Doc[] = [];
    for (let i = 0; i < 20; i++) docs.push(todoV1(i));
    await inner.bulkDocs(docs);
    // Another writer adds 30 documents while the scan reads its first page: six dirty batches of 5, read in two pages of
    // changes while the scan writes (pages of 4 × 5), so the fifth batch is past the first page.
    let added = false;
    const busy: DocumentStore = Object.create(inner) as DocumentStore;
    busy.allDocs = async (o?: AllDocsOptions) => {
      if (o?.keys === undefined && !added) {
        added = true;
        const more: Doc[] = [];
        for (let i = 500; i < 530; i++) more.push(todoV1(i));
        await inner.bulkDocs(more);
      }
      return inner.allDocs(o);
    };
    const stop = new AbortController();
    let dirtyBatches = 0;
    const first = createMigration({ source: busy, plan: { graph, to: V3 }, batchSize: 5, signal: stop.signal });
    first.on("progress", (p) => {
      if (p.phase === "dirty" && ++dirtyBatches === 5) stop.abort();
    });
    const r1 = await first.run();
    expect(r1.completed).toBe(false);
    const cp = await readCheckpoint(inner, r1.id);
    expect(cp?.phase).toBe("dirty");
    expect(cp?.since).not.toBe(r1.startSeq);
    const r2 = await runMigration({ source: inner, plan: { graph, to: V3 }, batchSize: 5 });
    expect(r2.completed).toBe(true);
    expect(r2.resumed).toBe(true);
    const after = await contents(inner);
    const items = after.filter((d) => d["schema"] === "todo-item");
    expect(items).toHaveLength(50);
    expect(items.filter((d) => d["version"] !== 3).map((d) => d._id)).toEqual([]);
    expect(after.filter((d) => d["schema"] === "todo-item-status")).toHaveLength(50);
  });

  it("keeps the writes whose change is not read yet bounded when the feed is slower than the writes", async () => {
    const inner = store();
    const docs: Doc[] = [];
    for (let i = 0; i < 300; i++) docs.push(todoV1(i));
    await inner.bulkDocs(docs);
    let acknowledged = 0;
    let read = 0;
    let lag = 0;
    const slow: DocumentStore = Object.create(inner) as DocumentStore;
    slow.bulkDocs = async (d: Doc[], o?: BulkDocsOptions) => {
      const r = await inner.bulkDocs(d, o);
      acknowledged += r.filter((x) => x.ok).length;
      lag = Math.max(lag, acknowledged - read);
      return r;
    };
    slow.changes = async (o?: ChangesOptions) => {
      await new Promise((r) => setTimeout(r, 20)); // a feed far slower than the writes
      const page = await inner.changes(o);
      read += page.results.length;
      return page;
    };
    const report = await runMigration({ source: slow, plan: { graph, to: V3 }, batchSize: 5, concurrency: 2 });
    expect(report.completed).toBe(true);
    expect(report.totals.written).toBe(600);
    expect(report.dirtyRounds).toBe(0);
    // at most twice a follow page (2 × 4 × 5 writes) behind, plus the pages in flight and one follow page
    expect(lag).toBeLessThanOrEqual(2 * 4 * 5 + 2 * 10 + 4 * 5 + 10);
  });
  it("a resumed run also drops its own writes as their changes arrive, and still migrates what others changed", async () => {
    const inner = store();
    const docs: Doc[] = [];
    for (let i = 0; i < 300; i++) docs.push(todoV1(i));
    await inner.bulkDocs(docs);
    const stop = new AbortController();
    const first = createMigration({ source: inner, plan: { graph, to: V3 }, batchSize: 5, signal: stop.signal });
    first.on("progress", (p) => {
      if (p.phase === "scan" && p.done >= 100) stop.abort();
    });
    const r1 = await first.run();
    expect(r1.completed).toBe(false);
    expect((await readCheckpoint(inner, r1.id))?.phase).toBe("scan");
    // Between the runs, an old app writes a migrated todo back at v1, and adds one.
    const cur = await inner.get("todo-item:000000");
    expect(cur["version"]).toBe(3);
    await put(inner, { ...todoV1(0, { title: "old app" }), _rev: cur._rev! });
    await put(inner, todoV1(900));
    // The resumed run's writes whose change has not been read yet, at most, with a feed far slower than its writes.
    const unread = new Set<string>();
    let most = 0;
    const slow: DocumentStore = Object.create(inner) as DocumentStore;
    slow.bulkDocs = async (d: Doc[], o?: BulkDocsOptions) => {
      const r = await inner.bulkDocs(d, o);
      for (const x of r) if (x.ok) unread.add(`${x.id}@${x.rev}`);
      most = Math.max(most, unread.size);
      return r;
    };
    slow.changes = async (o?: ChangesOptions) => {
      await new Promise((r) => setTimeout(r, 20));
      const page = await inner.changes(o);
      for (const c of page.results) unread.delete(`${c.id}@${c.changes[0]?.rev ?? ""}`);
      return page;
    };
    const r2 = await runMigration({ source: slow, plan: { graph, to: V3 }, batchSize: 5, concurrency: 2 });
    expect(r2.completed).toBe(true);
    expect(r2.resumed).toBe(true);
    // The resumed scan wrote about 200 todos (400 documents): read back as they were written, as a first run's are.
    expect(most).toBeLessThanOrEqual(2 * 4 * 5 + 2 * 10 + 4 * 5 + 10);
    await expectMigrated(inner, 301);
  });
});

// On every backend: the HTTP store reads the feed with `style=all_docs` as PouchDB does.
for (const backend of storeBackends()) {
  describe.skipIf(backend.skipReason !== undefined)(`eager runner, in place, an old app's edit between the run's read and its write: ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it("migrates an old app's edit made between the run's read and its write, or reports it as a conflict where the run's revision won", async () => {
      const { inner, edited } = await editedBetweenReadAndWrite(await backend.newStore());
      const report = await runMigration({ source: edited, plan: { graph, to: V3 }, batchSize: 5, concurrency: 2, deterministicRevs: true });
      expect(report.completed).toBe(true);
      await expectEditsMigratedOrReported(inner, report.quarantined);
    });

    it("reports such an edit to a resumed run too (outstanding), as a restarted run finds it", async () => {
      const { inner, edited } = await editedBetweenReadAndWrite(await backend.newStore());
      expect((await runMigration({ source: edited, plan: { graph, to: V3 }, batchSize: 5, deterministicRevs: true })).completed).toBe(true);
      const resumed = await runMigration({ source: inner, plan: { graph, to: V3 }, batchSize: 5, deterministicRevs: true });
      expect(resumed.totals.migrated).toBe(0);
      await expectEditsMigratedOrReported(inner, resumed.outstanding);
      const restarted = await runMigration({ source: inner, plan: { graph, to: V3 }, batchSize: 5, deterministicRevs: true, restart: true });
      expect(restarted.totals.migrated).toBe(0);
      await expectEditsMigratedOrReported(inner, restarted.quarantined);
    });
  });
}
