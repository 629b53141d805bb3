/**
 * The deletion rule of in-place migrations (`honourConcurrentDeletes`) on every backend: a deletion concurrent with a
 * migrated revision wins, and the feed is read page by page, so a large database is never held in one response. A
 * deletion concurrent with a user's own edit (no revision divan wrote on the live branch) is left as CouchDB left it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStepGraph } from "../../adapters/path.js";
import { defineStep } from "../../adapters/steps.js";
import { isDivanError } from "../../core/errors.js";
import type { ChangesOptions, Doc, DocumentStore } from "../../store/port.js";
import { honourConcurrentDeletes } from "../../strategies/deletes.js";
import { storeBackends } from "../support/backends.js";

const graph = createStepGraph([defineStep({ from: { task: 1 }, to: { task: 2 }, ops: [{ op: "rename", from: "name", to: "title" }] })]);

/** `store` with the options of every `changes` read noted in `reads`. */
function watched(store: DocumentStore, reads: ChangesOptions[]): DocumentStore {
  const changes: DocumentStore["changes"] = (options) => {
    reads.push({ ...options });
    return store.changes(options);
  };
  return new Proxy(store, { get: (target, key) => (key === "changes" ? changes : Reflect.get(target, key, target) as unknown) });
}

for (const backend of storeBackends()) {
  describe.skipIf(backend.skipReason !== undefined)(`concurrent deletions: ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it("past the first page of the feed, ends a migrated revision a concurrent deletion met, and reads the feed in bounded pages", async () => {
      const store = await backend.newStore();
      const filler: Doc[] = Array.from({ length: 1_200 }, (_, i) => ({ _id: `task:f${String(i).padStart(4, "0")}`, schema: "task", version: 2, title: `t${i}` }));
      for (let i = 0; i < filler.length; i += 400) await store.bulkDocs(filler.slice(i, i + 400));
      // One revision, then two branches on it: the migration's live revision and an old app's deletion.
      await store.bulkDocs(
        [
          { _id: "task:e1", _rev: "1-aaa", _revisions: { start: 1, ids: ["aaa"] }, schema: "task", version: 1, name: "n" },
          { _id: "task:e1", _rev: "2-bbb", _revisions: { start: 2, ids: ["bbb", "aaa"] }, schema: "task", version: 2, title: "n" },
          { _id: "task:e1", _rev: "2-ccc", _revisions: { start: 2, ids: ["ccc", "aaa"] }, _deleted: true },
        ],
        { newEdits: false },
      );
      const reads: ChangesOptions[] = [];
      const deleted = await honourConcurrentDeletes(watched(store, reads), { graph, shapes: [{ task: 1 }, { task: 2 }] });
      expect(deleted).toEqual(["e1"]);
      await expect(store.get("task:e1")).rejects.toSatisfy((e: unknown) => isDivanError(e, "NOT_FOUND"));
      expect((await store.get("task:f1199")).title).toBe("t1199");
      expect(reads.length).toBeGreaterThanOrEqual(3);
      for (const read of reads) expect(read.limit).toBeLessThanOrEqual(500);
    });

    it("leaves a user's own old-version edit live when a deletion is concurrent with it and no migration wrote on its branch", async () => {
      const store = await backend.newStore();
      // An old app edits a todo on one device and deletes it on another: a user's own conflict, no migration.
      await store.bulkDocs(
        [
          { _id: "task:u1", _rev: "1-aaa", _revisions: { start: 1, ids: ["aaa"] }, schema: "task", version: 1, name: "n" },
          { _id: "task:u1", _rev: "2-bbb", _revisions: { start: 2, ids: ["bbb", "aaa"] }, schema: "task", version: 1, name: "edited" },
          { _id: "task:u1", _rev: "2-ccc", _revisions: { start: 2, ids: ["ccc", "aaa"] }, _deleted: true },
        ],
        { newEdits: false },
      );
      const deleted = await honourConcurrentDeletes(store, { graph, shapes: [{ task: 1 }, { task: 2 }] });
      expect(deleted).toEqual([]);
      const doc = await store.get("task:u1");
      expect(doc).toMatchObject({ _rev: "2-bbb", name: "edited" });
    });

    it("leaves a user's edit of a document migrated long before live when a deletion is concurrent with the edit only", async () => {
      const store = await backend.newStore();
      // Migrated (2-mmm records its old revision 1-aaa as a base), then edited on one device and deleted on another.
      const bases = { "1-aaa": { schema: "h", version: "h", title: "h" } };
      await store.bulkDocs(
        [
          { _id: "task:u2", _rev: "3-eee", _revisions: { start: 3, ids: ["eee", "mmm", "aaa"] }, schema: "task", version: 2, title: "edited", divan: { bases } },
          { _id: "task:u2", _rev: "3-ddd", _revisions: { start: 3, ids: ["ddd", "mmm", "aaa"] }, _deleted: true },
        ],
        { newEdits: false },
      );
      expect(await honourConcurrentDeletes(store, { graph, shapes: [{ task: 1 }, { task: 2 }] })).toEqual([]);
      expect(await store.get("task:u2")).toMatchObject({ _rev: "3-eee", title: "edited" });
    });

    it("ends a migrated revision a concurrent deletion met when replication carried only the leaves (the migration told by the bases it records)", async () => {
      const store = await backend.newStore();
      // Neither the old revision's body nor the migrated one's parent is here: the leaf's `divan.bases` names 1-aaa.
      const bases = { "1-aaa": { schema: "h", version: "h", title: "h" } };
      await store.bulkDocs(
        [
          { _id: "task:m1", _rev: "3-eee", _revisions: { start: 3, ids: ["eee", "mmm", "aaa"] }, schema: "task", version: 2, title: "edited", divan: { bases } },
          { _id: "task:m1", _rev: "2-ddd", _revisions: { start: 2, ids: ["ddd", "aaa"] }, _deleted: true },
        ],
        { newEdits: false },
      );
      expect(await honourConcurrentDeletes(store, { graph, shapes: [{ task: 1 }, { task: 2 }] })).toEqual(["m1"]);
      await expect(store.get("task:m1")).rejects.toSatisfy((e: unknown) => isDivanError(e, "NOT_FOUND"));
    });
  });
}
