/**
 * `liveRows`: the live rows of many ids, read by key ranges where ids share a prefix, on every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveRows, RANGE_MIN_IDS } from "../../store/rows.js";
import { storeBackends } from "../support/backends.js";

const id = (type: string, n: number): string => `${type}:${n.toString(16).padStart(6, "0")}`;

for (const backend of storeBackends()) {
  describe.skipIf(backend.skipReason !== undefined)(`liveRows: ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it("answers exactly the live documents asked for, whether read by range, by key or after a cut-off range", async () => {
      const store = await backend.newStore();
      // task: dense (every id asked for exists or is missing); item: one in three, so its range is cut off and
      // continues as a range; note: one in nine, cut off and asked for by key; tag: a group too small for a range.
      const docs = [
        ...Array.from({ length: 40 }, (_, n) => ({ _id: id("task", n), n })),
        ...Array.from({ length: 200 }, (_, n) => ({ _id: id("note", n), n })),
        ...Array.from({ length: 100 }, (_, n) => ({ _id: id("item", n), n })),
        { _id: id("tag", 1), n: 1 },
      ];
      const written = await store.bulkDocs(docs);
      const revs = new Map(written.map((r) => [r.id, r.ok ? r.rev : ""]));
      await store.bulkDocs([{ _id: id("task", 3), _rev: revs.get(id("task", 3))!, _deleted: true }]);
      const asked = [
        ...Array.from({ length: 45 }, (_, n) => id("task", n)), // 40..44 do not exist, 3 is deleted
        ...Array.from({ length: RANGE_MIN_IDS + 4 }, (_, k) => id("note", k * 9)), // one in nine of a long range
        ...Array.from({ length: 2 * RANGE_MIN_IDS }, (_, k) => id("item", k * 3)),
        id("tag", 1),
        id("tag", 2),
      ];
      const rows = await liveRows(store, asked);
      const expected = asked.filter((x) => docs.some((d) => d._id === x) && x !== id("task", 3)).sort();
      expect(rows.map((r) => r.id).sort()).toEqual(expected);
      for (const r of rows) {
        expect(r.doc?._id).toBe(r.id);
        expect(r.value?.rev).toBe(r.doc?._rev);
      }
    });
  });
}
