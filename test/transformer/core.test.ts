import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadRegistry } from "../../schemas/load.js";
import { multiVersionIds } from "../../adapters/ids.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { openStore } from "../../store/open.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { createTransformer, type Transformer, type TransformerSide } from "../../strategies/transformer/transformer.js";
import { isPristine } from "../../strategies/transformer/provenance.js";
import { item1 as fixtureItem1 } from "../support/transformer.js";

const MemoryPouch = pouchDefaults({ adapter: "memory" });
let n = 0;
const open: DocumentStore[] = [];
const running: Transformer[] = [];
async function db(): Promise<DocumentStore> {
  n += 1;
  const s = await openStore(`transformer-core-${process.pid}-${n}`, { PouchDB: MemoryPouch });
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
  for (const s of open.splice(0)) {
    await s.destroy();
    await s.close();
  }
});

const V1 = { "todo-item": 1, settings: 1 };
const V2 = { "todo-item": 2, settings: 1 };
const V3 = { "todo-item": 3, "todo-item-status": 1, settings: 1 };

async function threeDbs(): Promise<{ v1: DocumentStore; v2: DocumentStore; v3: DocumentStore; t: Transformer }> {
  const [v1, v2, v3] = [await db(), await db(), await db()];
  const sides: TransformerSide[] = [
    { name: "v1", store: v1, shape: V1 },
    { name: "v2", store: v2, shape: V2 },
    { name: "v3", store: v3, shape: V3 },
  ];
  const t = createTransformer({ sides, steps: todoSteps });
  running.push(t);
  return { v1, v2, v3, t };
}

const item1 = (id: string, extra: Record<string, unknown> = {}): Doc => fixtureItem1(id, { title: "buy milk", ...extra });

describe("transformer core (per-version databases)", () => {
  it("translates a v1 todo up into v2 and v3 (item + status) with provenance, then goes quiet", async () => {
    const { v1, v2, v3, t } = await threeDbs();
    await v1.put(item1("a"));
    await t.drain();
    const i2 = await v2.get("todo-item:a");
    expect(i2).toMatchObject({ version: 2, status: "active", title: "buy milk" });
    const i3 = await v3.get("todo-item:a");
    const s3 = await v3.get("todo-item-status:a");
    expect(i3).toMatchObject({ version: 3, group: "default", title: "buy milk" });
    expect(s3).toMatchObject({ schema: "todo-item-status", version: 1, status: "active" });
    expect(i3["divan"]).toMatchObject({ from: "v1", id: "todo-item:a" });
    expect(isPristine(i3)).toBe(true);
    const writes = (await t.status()).writes;
    expect(writes).toBe(3);
    expect(await t.drain()).toBe(0);
    // Restarting from the checkpoint does not write again either.
    await t.stop();
  });

  it("an old edit keeps the group and the blocked status set by v3 (no information loss)", async () => {
    const { v1, v3, t } = await threeDbs();
    await v1.put(item1("b"));
    await t.drain();
    const i3 = await v3.get("todo-item:b");
    const s3 = await v3.get("todo-item-status:b");
    await v3.bulkDocs([{ ...i3, group: "garden" }, { ...s3, status: "blocked" }]);
    await t.drain();
    const old = await v1.get("todo-item:b");
    expect(old["isDone"]).toBe(false);
    await v1.put({ ...old, title: "buy oat milk" });
    await t.drain();
    expect(await v3.get("todo-item:b")).toMatchObject({ title: "buy oat milk", group: "garden" });
    expect(await v3.get("todo-item-status:b")).toMatchObject({ status: "blocked" });
    expect((await t.status()).conflicts).toEqual([]);
  });

  it("waits for a status that has not arrived (Marten), then translates when it does", async () => {
    const { v1, v3, t } = await threeDbs();
    await v3.put({ _id: "todo-item:c", schema: "todo-item", version: 3, title: "visa", group: "default", createdAt: "2024-01-01T00:00:00.000Z" });
    await t.drain();
    await expect(v1.get("todo-item:c")).rejects.toMatchObject({ code: "NOT_FOUND" });
    const st = await t.status();
    expect(st.waiting).toBe(1);
    expect(st.quarantine).toEqual([]);
    expect(st.feeds.every((f) => f.lastError === undefined)).toBe(true);
    await v3.put({ _id: "todo-item-status:c", schema: "todo-item-status", version: 1, status: "done" });
    await t.drain();
    expect(await v1.get("todo-item:c")).toMatchObject({ isDone: true, title: "visa" });
    expect((await t.status()).waiting).toBe(0);
  });

  it("propagates deletions to every other version", async () => {
    const { v1, v2, v3, t } = await threeDbs();
    const r = await v1.put(item1("d"));
    await t.drain();
    await v1.remove("todo-item:d", r.rev);
    await t.drain();
    for (const [store, id] of [[v2, "todo-item:d"], [v3, "todo-item:d"], [v3, "todo-item-status:d"]] as const) {
      await expect(store.get(id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    expect(await t.drain()).toBe(0);
  });

  it("quarantines a document of the wrong version and leaves it in place", async () => {
    const { v1, v3, t } = await threeDbs();
    await v3.put({ _id: "todo-item:e", schema: "todo-item", version: 1, title: "old", isDone: false, createdAt: "2024-01-01T00:00:00.000Z" });
    await v3.put({ _id: "todo-item-status:e", schema: "todo-item-status", version: 1, status: "active" });
    await t.drain();
    const st = await t.status();
    expect(st.quarantine).toEqual([expect.objectContaining({ side: "v3", id: "todo-item:e" })]);
    expect(st.feeds.find((f) => f.sides.includes("v3"))?.quarantined).toBe(1);
    await expect(v1.get("todo-item:e")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await v3.get("todo-item:e")).toMatchObject({ version: 1 });
  });

  it("with verify, a todo whose translation is not valid at its version is written nowhere and quarantined SCHEMA_INVALID, left where it was", async () => {
    const [v1, v3] = [await db(), await db()];
    const registry = await loadRegistry(path.resolve(import.meta.dirname, "../../examples/todo-app/schemas"));
    const t = createTransformer({ sides: [{ name: "v1", store: v1, shape: V1 }, { name: "v3", store: v3, shape: V3 }], steps: todoSteps, verify: registry });
    running.push(t);
    await v1.put(item1("ok"));
    await v1.put(item1("long", { title: "x".repeat(100) })); // invalid at every version (title at most 64)
    await t.drain();
    const st = await t.status();
    expect(st.quarantine).toEqual([expect.objectContaining({ side: "v1", id: "todo-item:long", code: "SCHEMA_INVALID", type: "todo-item", version: 1 })]);
    expect(st.quarantine[0]?.reason).toContain("/title");
    for (const id of ["todo-item:long", "todo-item-status:long"]) await expect(v3.get(id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await v1.get("todo-item:long")).toMatchObject({ version: 1, title: "x".repeat(100) });
    expect(await v3.get("todo-item:ok")).toMatchObject({ version: 3 });
  });

  it("concurrent edits in v1 and v3: the newer revision wins everywhere, the loser stays as a conflict revision", async () => {
    const { v1, v2, v3, t } = await threeDbs();
    await v1.put(item1("f"));
    await t.drain();
    // v3 edits twice (generation 3), v1 once (generation 2), before the transformer runs.
    let i3 = await v3.get("todo-item:f");
    const r1 = await v3.put({ ...i3, title: "v3 title" });
    i3 = await v3.get("todo-item:f");
    await v3.put({ ...i3, title: "v3 title 2", _rev: r1.rev });
    const o = await v1.get("todo-item:f");
    const lost = await v1.put({ ...o, title: "v1 title" });
    await t.drain();
    for (const store of [v1, v2, v3]) expect(await store.get("todo-item:f")).toMatchObject({ title: "v3 title 2" });
    const st = await t.status();
    expect(st.conflicts).toHaveLength(1);
    expect(st.conflicts[0]).toMatchObject({ winner: "v3", loser: "v1", loserRevs: { "todo-item:f": lost.rev } });
    const withConflicts = await v1.get("todo-item:f", { conflicts: true });
    expect(withConflicts._conflicts).toEqual([lost.rev]);
    expect(await v1.get("todo-item:f", { rev: lost.rev })).toMatchObject({ title: "v1 title" });
    expect(await t.drain()).toBe(0);
  });

  it("done set in v1 and a status v1 reads as not done set in v3, concurrently: one side wins on both, the conflict is reported", async () => {
    const { v1, v3, t } = await threeDbs();
    await v1.put(item1("s"));
    await t.drain();
    // v3 blocks, then rejects the todo (generation 3: the newer edit); v1, which reads both as not done, sets it done.
    const s3 = await v3.get("todo-item-status:s");
    const blocked = await v3.put({ ...s3, status: "blocked" });
    await v3.put({ ...s3, _rev: blocked.rev, status: "rejected" });
    const lost = await v1.put({ ...(await v1.get("todo-item:s")), isDone: true });
    await t.drain();
    // Before, each direction left the other to decide ("target wins" one way, "edits invisible" the other): v1 stayed
    // done and v3 rejected for good, with no conflict anywhere.
    expect(await v3.get("todo-item-status:s")).toMatchObject({ status: "rejected" });
    const old = await v1.get("todo-item:s", { conflicts: true });
    expect(old).toMatchObject({ isDone: false });
    expect(old._conflicts).toEqual([lost.rev]);
    expect((await t.status()).conflicts).toEqual([expect.objectContaining({ winner: "v3", loser: "v1", loserRevs: { "todo-item:s": lost.rev } })]);
    expect(await t.drain()).toBe(0);
  });

  it("done set in v1 on the translation of a v3 title, while v3 moves the status on: one side wins on both, the conflict is reported", async () => {
    const { v1, v3, t } = await threeDbs();
    await v1.put(item1("u"));
    await t.drain();
    await v3.put({ ...(await v3.get("todo-item:u")), title: "set on v3" });
    await t.drain();
    // v3 blocks, rejects and blocks the todo again (generation 4: the newer edit); v1 sets done on the translation of
    // v3's title, whose provenance names the status before these edits, all of which v1 reads as not done.
    let s3 = await v3.get("todo-item-status:u");
    for (const status of ["blocked", "rejected", "blocked"]) s3 = { ...s3, status, _rev: (await v3.put({ ...s3, status })).rev };
    const lost = await v1.put({ ...(await v1.get("todo-item:u")), isDone: true });
    await t.drain();
    // Before, v1's done read as an edit of the translation of v3's current revisions (v3 changed since only what v1
    // cannot show) one way, and as the older edit the other way: done and blocked for good, no conflict anywhere.
    expect(await v3.get("todo-item-status:u")).toMatchObject({ status: "blocked" });
    const old = await v1.get("todo-item:u", { conflicts: true });
    expect(old).toMatchObject({ isDone: false, title: "set on v3" });
    expect(old._conflicts).toEqual([lost.rev]);
    expect((await t.status()).conflicts).toEqual([expect.objectContaining({ winner: "v3", loser: "v1", loserRevs: { "todo-item:u": lost.rev } })]);
    expect(await t.drain()).toBe(0);
  });

  it("resumes from its _local checkpoint after a restart and ends in the same state", async () => {
    const { v1, v2, v3 } = await threeDbs();
    const sides = [
      { name: "v1", store: v1, shape: V1 },
      { name: "v2", store: v2, shape: V2 },
      { name: "v3", store: v3, shape: V3 },
    ];
    const first = createTransformer({ sides, steps: todoSteps, batchSize: 2 });
    for (let i = 0; i < 6; i++) await v1.put(item1(`r${i}`));
    await first.drain();
    expect(await v1.getLocal("divan-transformer")).toMatchObject({ v: 1 });
    for (let i = 6; i < 10; i++) await v1.put(item1(`r${i}`));
    const second = createTransformer({ sides, steps: todoSteps, batchSize: 2 });
    expect(await second.drain()).toBe(4 * 3);
    expect((await v3.info()).docCount).toBe(20);
  });

  it("works inside one database with multi-version ids (the per-version-documents layout)", async () => {
    const shared = await db();
    const t = createTransformer({
      ids: multiVersionIds,
      steps: todoSteps,
      sides: [
        { name: "v1", store: shared, shape: V1 },
        { name: "v3", store: shared, shape: V3 },
      ],
    });
    running.push(t);
    await shared.put({ ...item1("g"), _id: "todo-item:g:v:1" });
    await shared.put({ _id: "settings:v:1", schema: "settings", version: 1, color: "red" });
    await t.drain();
    expect(await shared.get("todo-item:g:v:3")).toMatchObject({ version: 3, group: "default" });
    expect(await shared.get("todo-item-status:g:v:1")).toMatchObject({ status: "active" });
    const s = await shared.get("todo-item-status:g:v:1");
    await shared.put({ ...s, status: "done" });
    await t.drain();
    expect(await shared.get("todo-item:g:v:1")).toMatchObject({ isDone: true });
    expect((await shared.info()).docCount).toBe(4);
    expect(await t.drain()).toBe(0);
  });
});
