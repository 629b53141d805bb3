/**
 * The embedded server's `_all_docs` with `keys` (one get per key) answers exactly as PouchDB's own `allDocs`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allDocs } from "../../server/embedded/routes/support.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";

describe("embedded _all_docs with keys", () => {
  let db: PouchDB.Database;
  beforeAll(async () => {
    db = new MemoryPouchDB(uniqueDbName("divan-all-docs-keys"));
    await db.bulkDocs([{ _id: "a", n: 1 }, { _id: "b", n: 2 }, { _id: "_design/d", views: {} }, { _id: "_local/l", n: 3 } as never]);
    const gone = await db.put({ _id: "gone", n: 4 });
    await db.remove("gone", gone.rev);
    await db.putAttachment("att", "f.txt", Buffer.from("hello"), "text/plain");
    // a conflict on "b": a second leaf written as a replication would
    await db.bulkDocs([{ _id: "b", _rev: "1-ffffffffffffffffffffffffffffffff", n: 9 }], { new_edits: false });
  });
  afterAll(() => db.destroy());

  const keys = ["b", "missing", "a", "gone", "_design/d", "_local/l", "att", "a"];
  const variants: Record<string, unknown>[] = [
    {},
    { include_docs: true },
    { include_docs: true, conflicts: true },
    { conflicts: true },
    { skip: 2, limit: 3 },
    { descending: true, include_docs: true },
    { limit: 0 },
  ];
  for (const v of variants) {
    it(`answers ${JSON.stringify(v)} as PouchDB does`, async () => {
      const opts = { ...v, keys };
      expect(await allDocs(db, { ...opts, keys: [...keys] })).toEqual(await db.allDocs({ ...opts, keys: [...keys] } as PouchDB.Core.AllDocsWithKeysOptions));
    });
  }
});
