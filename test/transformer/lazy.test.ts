import { describe, expect, it } from "vitest";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { createTransformer } from "../../strategies/transformer/transformer.js";
import { item1, transformerFixtures } from "../support/transformer.js";

const fx = transformerFixtures("transformer-lazy");
const V1 = { "todo-item": 1 };
const V3 = { "todo-item": 3, "todo-item-status": 1 };

async function sides(deterministicRevs = false) {
  const [v1, v3] = await fx.stores(2);
  const t = fx.keep(
    createTransformer({
      sides: [
        { name: "1.0.0", store: v1!, shape: V1 },
        { name: "3.0.0", store: v3!, shape: V3 },
      ],
      steps: todoSteps,
      deterministicRevs,
    }),
  );
  return { v1: v1!, v3: v3!, t };
}

describe("lazy use of the transformer (translateIds, readAt)", () => {
  it("readAt shows the translation of an entity without writing; translateIds writes it, and then readAt has nothing to add", async () => {
    const { v1, v3, t } = await sides();
    await v1.bulkDocs([item1("a", { isDone: true }), item1("b")]);
    const shown = await t.readAt("3.0.0", ["todo-item:a"]);
    expect([...shown.keys()].sort()).toEqual(["todo-item-status:a", "todo-item:a"]);
    expect(shown.get("todo-item-status:a")).toMatchObject({ status: "done", version: 1 });
    expect(shown.get("todo-item:a")).toMatchObject({ title: "todo a", version: 3, group: "default" });
    expect((await v3.info()).docCount).toBe(0);

    expect(await t.translateIds(["todo-item:a"])).toBe(2);
    expect((await v3.allDocs()).rows.map((r) => r.id)).toEqual(["todo-item-status:a", "todo-item:a"]); // b untouched
    expect((await t.readAt("3.0.0", ["todo-item:a"])).size).toBe(0);
  });

  it("an edit on either side shows on the other through readAt, and translateIds carries it over; a deletion shows as a tombstone", async () => {
    const { v1, v3, t } = await sides();
    await v1.bulkDocs([item1("a")]);
    await t.translateIds(["todo-item:a"]);
    const item3 = await v3.get("todo-item:a");
    await v3.put({ ...item3, title: "edited in 3.0" });
    expect((await t.readAt("1.0.0", ["todo-item:a"])).get("todo-item:a")).toMatchObject({ title: "edited in 3.0", version: 1 });
    expect(await t.translateIds(["todo-item:a"])).toBe(1);
    expect(await v1.get("todo-item:a")).toMatchObject({ title: "edited in 3.0" });

    const old = await v1.get("todo-item:a");
    await v1.remove(old._id, old._rev!);
    const gone = await t.readAt("3.0.0", ["todo-item:a"]);
    expect(new Map([...gone.values()].map((d) => [d._id, d._deleted]))).toEqual(
      new Map([
        ["todo-item:a", true],
        ["todo-item-status:a", true],
      ]),
    );
  });

  it("a deletion made in 3.0 is carried to 1.0, never undone by translating the untouched 1.0 document again (deterministic revisions too)", async () => {
    for (const deterministic of [false, true]) {
      const { v1, v3, t } = await sides(deterministic);
      await v1.put(item1("d"));
      await t.translateIds(["todo-item:d"]);
      const gone = (await v3.allDocs({ keys: ["todo-item:d", "todo-item-status:d"] })).rows.map((r) => ({ _id: r.id, _rev: r.value!.rev, _deleted: true }));
      await v3.bulkDocs(gone);
      expect((await t.readAt("3.0.0", ["todo-item:d"])).size).toBe(0);
      await t.translateIds(["todo-item:d"]);
      expect((await v3.allDocs()).rows).toEqual([]);
      expect((await v1.allDocs()).rows).toEqual([]);
    }
  });

  it("a 3.0 edit of the translation of 1.0's current revision is carried to 1.0, even when an older 1.0 revision read the same (A, B, A)", async () => {
    const { v1, v3, t } = await sides(true);
    const first = await v1.put(item1("e"));
    const done = await v1.put({ ...item1("e", { isDone: true }), _rev: first.rev });
    await v1.put({ ...item1("e"), _rev: done.rev });
    await t.translateIds(["todo-item:e"]);
    const status = await v3.get("todo-item-status:e");
    await v3.put({ ...status, status: "done" });
    expect((await t.readAt("3.0.0", ["todo-item:e"])).size).toBe(0);
    await t.translateIds(["todo-item:e"]);
    expect(await v3.get("todo-item-status:e")).toMatchObject({ status: "done" });
    expect(await v1.get("todo-item:e")).toMatchObject({ isDone: true });
    expect((await t.status()).conflicts).toEqual([]);
  });
});
