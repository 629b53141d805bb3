import { describe, expect, it } from "vitest";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { canonicalJson, contentOf, withDeterministicRev } from "../../strategies/runner/canonical.js";
import { createTransformer, type Transformer } from "../../strategies/transformer/transformer.js";
import { item1, transformerFixtures } from "../support/transformer.js";

const fx = transformerFixtures("transformer-detrev");
const V1 = { "todo-item": 1, settings: 1 };
const V3 = { "todo-item": 3, "todo-item-status": 1, settings: 1 };

/** A v1 and a v3 store with a transformer between them (one "device"). */
async function replica(deterministicRevs: boolean | undefined): Promise<{ v1: DocumentStore; v3: DocumentStore; t: Transformer }> {
  const [v1, v3] = await fx.stores(2);
  const t = fx.keep(
    createTransformer({
      sides: [
        { name: "1.0.0", store: v1!, shape: V1 },
        { name: "3.0.0", store: v3!, shape: V3 },
      ],
      steps: todoSteps,
      ...(deterministicRevs === undefined ? {} : { deterministicRevs }),
    }),
  );
  return { v1: v1!, v3: v3!, t };
}

/** Every document of a store, tombstones included, as canonical JSON keyed by id (revision included). */
async function snapshot(store: DocumentStore): Promise<Record<string, string>> {
  const page = await store.changes({ includeDocs: true });
  const out: Record<string, string> = {};
  for (const c of page.results) {
    const doc = c.doc ?? { _id: c.id, _rev: c.changes[0]?.rev ?? "", _deleted: true };
    out[c.id] = canonicalJson({ ...doc, _rev: c.changes[0]?.rev });
  }
  return out;
}

async function conflictsIn(store: DocumentStore): Promise<string[]> {
  const out: string[] = [];
  for (const row of (await store.allDocs()).rows) {
    const doc = await store.get(row.id, { conflicts: true });
    if ((doc._conflicts?.length ?? 0) > 0) out.push(row.id);
  }
  return out;
}

/** True when `doc` (a first revision) carries the revision `withDeterministicRev` derives from its content. */
function isDeterministicCreation(doc: Doc): boolean {
  return withDeterministicRev(contentOf(doc) as Doc)._rev === doc._rev;
}

describe("transformer core with deterministic revisions", () => {
  it("two replicas translating the same documents write identical documents and revisions, and merge without conflicts", async () => {
    const a = await replica(true);
    const b = await replica(true);
    const sync = async (x: DocumentStore, y: DocumentStore): Promise<void> => {
      await replicate(x, y);
      await replicate(y, x);
    };

    // A creation (v1 → v3: a split into two documents).
    await a.v1.put(item1("x", { title: "buy milk" }));
    await a.v1.put(item1("y", { title: "call the bank" }));
    await replicate(a.v1, b.v1);
    expect(await a.t.drain()).toBe(4);
    expect(await b.t.drain()).toBe(4);
    expect(await snapshot(b.v3)).toEqual(await snapshot(a.v3));
    expect(isDeterministicCreation(await a.v3.get("todo-item:x"))).toBe(true);

    // An old edit (update of v3 on top of the translated revision).
    const x1 = await a.v1.get("todo-item:x");
    await a.v1.put({ ...x1, title: "buy oat milk", isDone: true });
    await replicate(a.v1, b.v1);
    await a.t.drain();
    await b.t.drain();
    expect(await snapshot(b.v3)).toEqual(await snapshot(a.v3));
    expect(await a.v3.get("todo-item:x")).toMatchObject({ title: "buy oat milk", _rev: expect.stringMatching(/^2-/) });
    expect(await a.v3.get("todo-item-status:x")).toMatchObject({ status: "done" });

    // A new edit (v3 → v1), then a deletion (tombstones on the other side).
    const y3 = await a.v3.get("todo-item:y");
    await a.v3.put({ ...y3, title: "call the bank today", group: "errands" });
    await replicate(a.v3, b.v3);
    await a.t.drain();
    await b.t.drain();
    expect(await snapshot(b.v1)).toEqual(await snapshot(a.v1));
    expect(await a.v1.get("todo-item:y")).toMatchObject({ title: "call the bank today" });
    const y1 = await a.v1.get("todo-item:y");
    await a.v1.remove("todo-item:y", y1._rev!);
    await replicate(a.v1, b.v1);
    await a.t.drain();
    await b.t.drain();
    const a3 = await snapshot(a.v3);
    expect(await snapshot(b.v3)).toEqual(a3);
    expect(JSON.parse(a3["todo-item:y"]!)).toMatchObject({ _deleted: true, schema: "todo-item", version: 3 });

    // The replicas merge without a single conflicting revision, and nothing is left to translate.
    await sync(a.v1, b.v1);
    await sync(a.v3, b.v3);
    for (const s of [a.v1, a.v3, b.v1, b.v3]) expect(await conflictsIn(s)).toEqual([]);
    expect(await a.t.drain()).toBe(0);
    expect(await b.t.drain()).toBe(0);
    expect((await a.t.status()).conflicts).toEqual([]);
  });

  it("without the option the transformer writes ordinary revisions", async () => {
    for (const option of [undefined, false] as const) {
      const { v1, v3, t } = await replica(option);
      await v1.put(item1("x"));
      expect(await t.drain()).toBe(2);
      const written = await v3.get("todo-item:x");
      expect(written).toMatchObject({ title: "todo x", group: "default", _rev: expect.stringMatching(/^1-/) });
      expect(isDeterministicCreation(written)).toBe(false);
    }
  });

  it("a creation planned over a document that arrived meanwhile is planned again, not written as a second branch", async () => {
    const { v1, v3, t } = await replica(true);
    await v1.put(item1("z", { title: "plant tulips" }));
    // Another device's translation, already edited there in a field v1 cannot hold, replicated in first.
    await v3.bulkDocs([
      { _id: "todo-item:z", schema: "todo-item", version: 3, title: "plant tulips", group: "garden", createdAt: "2024-01-01T00:00:00.000Z" },
      { _id: "todo-item-status:z", schema: "todo-item-status", version: 1, status: "active" },
    ]);
    await t.drain();
    expect(await conflictsIn(v3)).toEqual([]);
    expect(await v3.get("todo-item:z")).toMatchObject({ group: "garden", _rev: expect.stringMatching(/^1-/) });
    expect((await t.status()).conflicts).toEqual([]);
  });
});
