import { describe, expect, it } from "vitest";
import type { Doc, DocumentStore } from "../../store/port.js";
import { contentHash, PROVENANCE_FIELD } from "../../strategies/transformer/provenance.js";
import { dropStaleTranslations } from "../../strategies/transformer/stale.js";
import { transformerFixtures } from "../support/transformer.js";

const fx = transformerFixtures("transformer-stale");
const SRC = "todo-item:e:v:1";
const OUT = "todo-item:e:v:3";
const rev = (gen: number, c: string): string => `${gen}-${c.repeat(32)}`;

/** Pristine transformer output translated from `SRC` at `srcRev` (a leaf of its own, child of nothing). */
function translation(srcRev: string, title: string, leafRev: string): Doc {
  const body: Doc = { _id: OUT, schema: "todo-item", version: 3, title };
  const hash = contentHash(body);
  return { ...body, [PROVENANCE_FIELD]: { from: "1.0.0", id: SRC, rev: srcRev, revs: { [SRC]: srcRev }, step: "s", hash }, _rev: leafRev };
}

/** One store holding the source at `srcRevs` (oldest first) and `leaves` of the translation. */
async function storeWith(srcRevs: string[], leaves: Doc[]): Promise<DocumentStore> {
  const [store] = await fx.stores(1);
  const ids = srcRevs.map((r) => r.slice(2)).reverse();
  await store!.bulkDocs(
    [{ _id: SRC, _rev: srcRevs[srcRevs.length - 1]!, schema: "todo-item", version: 1, title: "t", _revisions: { start: srcRevs.length, ids } }, ...leaves],
    { newEdits: false },
  );
  return store!;
}

const scan = (store: DocumentStore) =>
  dropStaleTranslations([
    { name: "1.0.0", store },
    { name: "3.0.0", store },
  ]);

describe("dropStaleTranslations", () => {
  it("ends the translation of an older source revision, keeping the current one, with the same tombstone on every replica", async () => {
    const leaves = [translation(rev(1, "a"), "old", rev(1, "f")), translation(rev(2, "b"), "new", rev(1, "0"))];
    const [one, two] = [await storeWith([rev(1, "a"), rev(2, "b")], leaves), await storeWith([rev(1, "a"), rev(2, "b")], leaves)];
    expect(await scan(one)).toEqual([OUT]);
    expect(await scan(two)).toEqual([OUT]);
    const [a, b] = [await one.get(OUT, { conflicts: true }), await two.get(OUT, { conflicts: true })];
    expect(a).toMatchObject({ title: "new", _rev: rev(1, "0") });
    expect(a._conflicts).toBeUndefined();
    expect((await one.changes({ style: "all_docs" })).results.find((c) => c.id === OUT)?.changes).toEqual((await two.changes({ style: "all_docs" })).results.find((c) => c.id === OUT)?.changes);
    expect(b.title).toBe("new");
    expect(await scan(one)).toEqual([]);
  });

  it("leaves the conflict alone on a replica that has not received the newer source revision", async () => {
    const store = await storeWith([rev(1, "a")], [translation(rev(1, "a"), "old", rev(1, "f")), translation(rev(2, "b"), "new", rev(1, "0"))]);
    expect(await scan(store)).toEqual([]);
    expect((await store.get(OUT, { conflicts: true }))._conflicts).toHaveLength(1);
  });

  it("never ends a leaf someone edited", async () => {
    const edited = { ...translation(rev(1, "a"), "old", rev(1, "f")), title: "edited by a user" };
    const store = await storeWith([rev(1, "a"), rev(2, "b")], [edited, translation(rev(2, "b"), "new", rev(1, "0"))]);
    expect(await scan(store)).toEqual([]);
    expect((await store.get(OUT, { conflicts: true }))._conflicts).toHaveLength(1);
  });

  it("of two translations of the same source revision on different parents, one stays (the same one on every replica); an edited one stays over a pristine one", async () => {
    const twins = [translation(rev(2, "b"), "new", rev(1, "f")), translation(rev(2, "b"), "new", rev(2, "0"))];
    const [one, two] = [await storeWith([rev(1, "a"), rev(2, "b")], twins), await storeWith([rev(1, "a"), rev(2, "b")], [...twins].reverse())];
    expect(await scan(one)).toEqual([OUT]);
    expect(await scan(two)).toEqual([OUT]);
    expect((await one.get(OUT, { conflicts: true }))._rev).toBe(rev(2, "0"));
    expect((await two.get(OUT, { conflicts: true }))._conflicts).toBeUndefined();

    const edited = { ...translation(rev(2, "b"), "new", rev(1, "0")), title: "edited on this translation" };
    const store = await storeWith([rev(1, "a"), rev(2, "b")], [edited, translation(rev(2, "b"), "new", rev(2, "f"))]);
    expect(await scan(store)).toEqual([OUT]);
    expect(await store.get(OUT, { conflicts: true })).toMatchObject({ title: "edited on this translation" });
  });

  it("ends a translation written without the document its source was made on, for the caller to translate the source again onto it", async () => {
    const [store] = await fx.stores(1);
    // The original 3.0 document, its 1.0 translation edited by an old app, and that edit translated back
    // on a device that never received the original (no base): two leaves of the 3.0 document.
    const original: Doc = { _id: OUT, _rev: rev(1, "c"), schema: "todo-item", version: 3, title: "t", group: "work" };
    const oldEdit: Doc = { _id: SRC, _rev: rev(2, "e"), _revisions: { start: 2, ids: ["e".repeat(32), "d".repeat(32)] }, schema: "todo-item", version: 1, title: "edited", divan: { from: "3.0.0", id: OUT, rev: rev(1, "c"), revs: { [OUT]: rev(1, "c") }, step: "s", hash: "edited since" } };
    await store!.bulkDocs([original, oldEdit, translation(rev(2, "e"), "edited", rev(1, "f"))], { newEdits: false });
    expect(await scan(store!)).toEqual([OUT]);
    expect(await store!.get(OUT, { conflicts: true })).toMatchObject({ _rev: rev(1, "c"), group: "work" });
  });

  it("dates translations by the history of a source a retirement ended, even where that source's body is gone", async () => {
    // The source at 2-b, ended by a retirement (3-c); a pristine translation of 1-a and a user's edit of the
    // translation of 2-b (rebuilt without base on a device that upgraded offline) meet.
    const retired: Doc = { _id: SRC, _rev: rev(3, "c"), _deleted: true, schema: "todo-item", version: 1, divan: { ended: "retired" }, _revisions: { start: 3, ids: ["c", "b", "a"].map((c) => c.repeat(32)) } };
    const edit = { ...translation(rev(2, "b"), "new", rev(2, "0")), group: "set on the new version" };
    for (const bodyGone of [false, true]) {
      const store = await storeWith([rev(1, "a"), rev(2, "b")], [translation(rev(1, "a"), "old", rev(1, "f")), edit]);
      await store.bulkDocs([retired], { newEdits: false });
      // Compacted: the bodies of revisions that are not leaves are gone.
      const compacted: DocumentStore = Object.create(store, {
        get: { value: (id: string, o?: { rev?: string }) => (id === SRC && o?.rev === rev(2, "b") ? Promise.reject(new Error("missing")) : store.get(id, o)) },
      });
      expect(await scan(bodyGone ? compacted : store)).toEqual([OUT]);
      expect(await store.get(OUT, { conflicts: true })).toMatchObject({ _rev: rev(2, "0"), group: "set on the new version" });
      expect((await store.get(OUT, { conflicts: true }))._conflicts).toBeUndefined();
    }
  });
});
