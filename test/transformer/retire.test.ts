import { describe, expect, it } from "vitest";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { ending } from "../../strategies/transformer/provenance.js";
import { createTransformer } from "../../strategies/transformer/transformer.js";
import { item1, transformerFixtures } from "../support/transformer.js";

const fx = transformerFixtures("transformer-retire");

async function sides() {
  const [v1, v3] = await fx.stores(2);
  const t = fx.keep(
    createTransformer({
      sides: [
        { name: "1.0.0", store: v1!, shape: { "todo-item": 1 } },
        { name: "3.0.0", store: v3!, shape: { "todo-item": 3, "todo-item-status": 1 } },
      ],
      steps: todoSteps,
    }),
  );
  return { v1: v1!, v3: v3!, t };
}

describe("a retired side (retireSide, translated)", () => {
  it("receives no translations but deletions, and what it still receives is translated out of it", async () => {
    const { v1, v3, t } = await sides();
    await v1.bulkDocs([item1("a"), item1("b"), item1("late")]);
    await t.drain();
    await t.retireSide("1.0.0");
    // A 3.0 edit stays in 3.0; a 3.0 deletion reaches 1.0.
    const a3 = await v3.get("todo-item:a");
    await v3.put({ ...a3, title: "edited in 3.0" });
    const b3 = (await v3.allDocs({ keys: ["todo-item:b", "todo-item-status:b"] })).rows.map((r) => ({ _id: r.id, _rev: r.value!.rev, _deleted: true }));
    await v3.bulkDocs(b3);
    // An old device pushes an edit it made before the retirement.
    const late = await v1.get("todo-item:late");
    await v1.put({ ...late, title: "pushed late" });
    await t.drain();
    expect((await v1.get("todo-item:a"))["title"]).toBe("todo a");
    await expect(v1.get("todo-item:b")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await v3.get("todo-item:late"))["title"]).toBe("pushed late");
  });

  it("lists the documents the other sides hold translated; a tombstone that ends one deletes nothing, a deletion pushed later does", async () => {
    const { v1, v3, t } = await sides();
    await v1.bulkDocs([item1("kept"), item1("gone")]);
    await t.drain();
    await v1.put(item1("untranslated"));
    await t.retireSide("1.0.0");
    const translated = await t.translated("1.0.0");
    expect([...translated.keys()].sort()).toEqual(["todo-item:gone", "todo-item:kept"]);
    // Retirement removes them; an old device had deleted "gone" before it and pushes the deletion now.
    const gone = await v1.get("todo-item:gone");
    await v1.bulkDocs([...translated].map(([id, rev]) => ({ ...ending({ _id: id, _rev: rev }, "retired"), schema: "todo-item", version: 1 })));
    await v1.bulkDocs([{ _id: gone._id, _rev: "2-deletedbyauser", _deleted: true, _revisions: { start: 2, ids: ["deletedbyauser", gone._rev!.slice(2)] } }], { newEdits: false });
    await t.drain();
    expect((await v3.get("todo-item:kept"))["title"]).toBe("todo kept");
    await expect(v3.get("todo-item:gone")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await v3.get("todo-item:untranslated"))["title"]).toBe("todo untranslated");
  });
});
