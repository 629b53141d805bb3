import { describe, expect, it } from "vitest";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { createTransformer } from "../../strategies/transformer/transformer.js";
import { item1, transformerFixtures } from "../support/transformer.js";

const fx = transformerFixtures("transformer-lazy");
const V1 = { "todo-item": 1 };
const V3 = { "todo-item": 3, "todo-item-status": 1 };

async function sides() {
  const [v1, v3] = await fx.stores(2);
  const t = fx.keep(
    createTransformer({
      sides: [
        { name: "1.0.0", store: v1!, shape: V1 },
        { name: "3.0.0", store: v3!, shape: V3 },
      ],
      steps: todoSteps,
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
});
