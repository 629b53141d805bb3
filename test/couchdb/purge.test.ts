/**
 * Dropping legacy with `_purge` (per-version-documents, `removal: "purge"`): CouchDB only, since the
 * embedded server has no `_purge` (PouchDB's memory and LevelDB adapters cannot purge; that a server
 * without it is refused before anything is removed is tested in `test/strategies/per-version-documents.test.ts`).
 */
import { afterAll, describe, expect, it } from "vitest";
import { TODO_CHANGE } from "../../examples/strategies.js";
import { runComparison } from "../../examples/todo-app/compare.js";
import { httpStore } from "../../store/http.js";
import type { DocumentStore } from "../../store/port.js";
import { createPerVersionDocumentsStrategy } from "../../strategies/per-version-documents/index.js";
import { removeVersions } from "../../strategies/retire.js";
import { uniqueDbName } from "../support/backends.js";
import { comparisonBudget } from "../support/comparison.js";
import { externalServerUrl } from "../support/server.js";

const external = externalServerUrl();
if (external === undefined) console.info("[purge] skipping: COUCHDB_URL is not set (the embedded server has no _purge)");

describe.skipIf(external === undefined)("_purge for drop-legacy on CouchDB", () => {
  const stores: DocumentStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.destroy().finally(() => s.close());
  });

  it("purges the retired version's documents: no tombstone is left, in _all_docs or _changes", async () => {
    const store = httpStore(`${external}/${uniqueDbName("purge")}`);
    stores.push(store);
    await store.create();
    await store.bulkDocs([
      { _id: "todo-item:a:v:1", schema: "todo-item", version: 1, title: "a", isDone: false, createdAt: "2024-01-01T00:00:00Z" },
      { _id: "todo-item:b:v:1", schema: "todo-item", version: 1, title: "b", isDone: true, createdAt: "2024-01-01T00:00:00Z" },
      { _id: "todo-item:a:v:3", schema: "todo-item", version: 3, title: "a", group: "default", createdAt: "2024-01-01T00:00:00Z" },
    ]);
    expect(await removeVersions(store, { "todo-item": [1] }, { removal: "purge" })).toBe(2);
    const rows = (await store.allDocs({ keys: ["todo-item:a:v:1", "todo-item:b:v:1", "todo-item:a:v:3"] })).rows;
    expect(rows.map((r) => [r.id, r.error ?? (r.value?.deleted === true ? "deleted" : "live")])).toEqual([
      ["todo-item:a:v:1", "not_found"],
      ["todo-item:b:v:1", "not_found"],
      ["todo-item:a:v:3", "live"],
    ]);
    expect((await store.changes()).results.map((c) => c.id)).toEqual(["todo-item:a:v:3"]);
  });

  const options = { factories: [() => createPerVersionDocumentsStrategy({ change: TODO_CHANGE, removal: "purge" })], scenarios: ["drop-legacy"], seed: 3 };
  it(
    "the drop-legacy scenario with removal purge keeps every invariant",
    async () => {
      const [run] = (await runComparison(options)).runs;
      expect(run?.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`)).toEqual([]);
      expect([run?.status, run?.error]).toEqual(["pass", undefined]);
      expect(run?.retired).toMatch(/purged [1-9]\d* todo-item@1 document\(s\)/);
    },
    comparisonBudget(options),
  );
});
