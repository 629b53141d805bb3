// migrateAfterSync through the divan/client exports: what a new-app device runs after each sync (client-side strategy).
import { afterEach, describe, expect, it } from "vitest";
import { migrateAfterSync, migrateLocal } from "../../client/index.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import { pouchStore } from "../../store/pouch.js";
import { replicate } from "../../store/replicate.js";
import type { DocumentStore } from "../../store/port.js";
import { todoShapes, todoSteps } from "../../examples/todo-app/steps/index.js";

const Pouch = pouchDefaults({ adapter: "memory" });
const open: PouchDB.Database[] = [];
let n = 0;
afterEach(async () => {
  for (const d of open.splice(0)) await d.destroy();
});
function db(): DocumentStore {
  const p = new Pouch(`after-sync-${process.pid}-${++n}`);
  open.push(p);
  return pouchStore(p);
}
const T = "2024-03-01T09:30:00.000Z";
const shapes = [todoShapes.v1, todoShapes.v3];

/** A server, an old-app device and a new-app device that migrated `todo-item:a` and `todo-item:b` (both synced). */
async function world(): Promise<{ server: DocumentStore; old: DocumentStore; updated: DocumentStore }> {
  const [server, old, updated] = [db(), db(), db()];
  await server.bulkDocs([
    { _id: "todo-item:a", schema: "todo-item", version: 1, title: "one", isDone: false, createdAt: T },
    { _id: "todo-item:b", schema: "todo-item", version: 1, title: "two", isDone: false, createdAt: T },
  ]);
  await replicate(server, old);
  await replicate(server, updated);
  const first = await migrateLocal(updated, { steps: todoSteps, to: todoShapes.v3 });
  expect(first.report.totals.migrated).toBe(2);
  await replicate(updated, server);
  return { server, old, updated };
}

describe("migrateAfterSync (divan/client)", () => {
  it("merges an old device's offline edit made after the migration three ways: both sides' changes survive, no conflict is left", async () => {
    const { server, old, updated } = await world();
    // The old app (offline, never saw the migration) ticks `a` off; the new app renames it meanwhile.
    const a = await old.get("todo-item:a");
    await old.put({ ...a, isDone: true });
    const migrated = await updated.get("todo-item:a");
    await updated.put({ ...migrated, title: "one, renamed" });
    await replicate(old, server);
    await replicate(server, updated);
    expect((await updated.get("todo-item:a", { conflicts: true }))._conflicts).toHaveLength(1);

    const r = await migrateAfterSync(updated, { steps: todoSteps, to: todoShapes.v3, shapes });
    expect(r.merged).toEqual(["todo-item:a"]);
    expect(r.conflicts).toEqual([]);
    const item = await updated.get("todo-item:a", { conflicts: true });
    expect(item._conflicts ?? []).toEqual([]);
    expect(item).toMatchObject({ version: 3, title: "one, renamed" });
    expect(await updated.get("todo-item-status:a")).toMatchObject({ status: "done" });
    // Another device that merges the same conflict writes the same revisions: replication converges without a conflict.
    const other = db();
    await replicate(server, other);
    await migrateLocal(other, { steps: todoSteps, to: todoShapes.v3 });
    await replicate(updated, other);
    await migrateAfterSync(other, { steps: todoSteps, to: todoShapes.v3, shapes });
    await replicate(other, updated);
    for (const store of [updated, other]) {
      const rows = (await store.allDocs({ includeDocs: true, conflicts: true })).rows;
      expect(rows.filter((row) => row.doc?._conflicts !== undefined).map((row) => row.id)).toEqual([]);
    }
    expect((await other.get("todo-item:a"))._rev).toBe((await updated.get("todo-item:a"))._rev);
  });

  it("reports a real clash (both sides changed the title) and keeps the old edit on a conflicting revision", async () => {
    const { server, old, updated } = await world();
    const b = await old.get("todo-item:b");
    await old.put({ ...b, title: "two, old app", isDone: true });
    const migrated = await updated.get("todo-item:b");
    await updated.put({ ...migrated, title: "two, new app" });
    await replicate(old, server);
    await replicate(server, updated);

    const r = await migrateAfterSync(updated, { steps: todoSteps, to: todoShapes.v3, shapes });
    expect(r.conflicts).toEqual(["todo-item:b"]);
    const item = await updated.get("todo-item:b", { conflicts: true });
    expect(item).toMatchObject({ version: 3, title: "two, new app" });
    expect(item._conflicts).toHaveLength(1);
    const loser = await updated.get("todo-item:b", { rev: item._conflicts![0]! });
    // The old edit's title is kept, translated to the new version; what did not clash (ticked off) is merged into the winner.
    expect(loser).toMatchObject({ version: 3, title: "two, old app" });
    expect(await updated.get("todo-item-status:b")).toMatchObject({ status: "done" });
  });

  it("two updated devices each merge a different one of an old device's successive edits: the later title wins, on every replica (seed 50037)", async () => {
    const { server, old, updated } = await world();
    const second = db();
    await replicate(server, second);
    // The old app renames `a` and syncs; one updated device merges that edit and goes offline before pushing it.
    const a = await old.get("todo-item:a");
    await old.put({ ...a, title: "one, then two" });
    await replicate(old, server);
    await replicate(server, updated);
    await migrateAfterSync(updated, { steps: todoSteps, to: todoShapes.v3, shapes });
    // The old app renames it again; the other updated device merges that later edit.
    await old.put({ ...(await old.get("todo-item:a")), title: "one, then three" });
    await replicate(old, server);
    await replicate(server, second);
    await migrateAfterSync(second, { steps: todoSteps, to: todoShapes.v3, shapes });
    // Both merges are children of the migrated revision; once they meet, every replica folds them the same way.
    await replicate(updated, server);
    await replicate(second, server);
    await replicate(server, updated);
    await replicate(server, second);
    const results = [];
    for (const store of [updated, second]) results.push(await migrateAfterSync(store, { steps: todoSteps, to: todoShapes.v3, shapes }));
    expect(results.map((r) => r.conflicts)).toEqual([[], []]);
    await replicate(updated, server);
    await replicate(second, server);
    await replicate(server, updated);
    await replicate(server, second);
    for (const store of [updated, second, server]) {
      const item = await store.get("todo-item:a", { conflicts: true });
      expect(item._conflicts ?? []).toEqual([]);
      expect(item).toMatchObject({ version: 3, title: "one, then three" });
    }
    expect((await second.get("todo-item:a"))._rev).toBe((await updated.get("todo-item:a"))._rev);
  });

  it("merges two old devices' concurrent edits of a document it migrated meanwhile, one after the other (seed 1061)", async () => {
    const { server, old, updated } = await world();
    const other = db();
    await replicate(old, other);
    const a = await old.get("todo-item:a");
    await old.put({ ...a, isDone: true });
    await other.put({ ...(await other.get("todo-item:a")), title: "one, renamed" });
    await replicate(old, server);
    await replicate(other, server);
    await replicate(server, updated);
    const r = await migrateAfterSync(updated, { steps: todoSteps, to: todoShapes.v3, shapes });
    expect(r.conflicts).toEqual([]);
    const item = await updated.get("todo-item:a", { conflicts: true });
    expect(item._conflicts ?? []).toEqual([]);
    expect(item).toMatchObject({ version: 3, title: "one, renamed" });
    expect(await updated.get("todo-item-status:a")).toMatchObject({ status: "done" });
  });

  it("on a database nothing was synced into, it only migrates (as migrateLocal)", async () => {
    const store = db();
    await store.bulkDocs([{ _id: "todo-item:c", schema: "todo-item", version: 1, title: "three", isDone: true, createdAt: T }]);
    const r = await migrateAfterSync(store, { steps: todoSteps, to: todoShapes.v3 });
    expect([r.report.totals.migrated, r.merged, r.conflicts, r.deleted]).toEqual([1, [], [], []]);
    expect(await store.get("todo-item:c")).toMatchObject({ version: 3 });
  });

  it("after its first pass, looks only at what changed since the last pass began, and still merges what a sync brought", async () => {
    const { server, old, updated } = await world();
    const reads: (string | undefined)[] = [];
    const watched = new Proxy(updated, {
      get: (target, key) =>
        key === "changes"
          ? (options?: Parameters<DocumentStore["changes"]>[0]) => {
              if (options?.docIds === undefined) reads.push(options?.since === undefined ? undefined : String(options.since));
              return target.changes(options);
            }
          : (Reflect.get(target, key, target) as unknown),
    });
    await migrateAfterSync(watched, { steps: todoSteps, to: todoShapes.v3, shapes });
    const first = reads.splice(0);
    expect(first.filter((s) => s === undefined).length).toBeGreaterThan(0);
    // The old app ticks `b` off offline; the sync brings it as a conflict with the migration.
    const b = await old.get("todo-item:b");
    await old.put({ ...b, isDone: true });
    await replicate(old, server);
    await replicate(server, updated);
    const r = await migrateAfterSync(watched, { steps: todoSteps, to: todoShapes.v3, shapes });
    expect(r.merged).toEqual(["todo-item:b"]);
    expect(await updated.get("todo-item-status:b")).toMatchObject({ status: "done" });
    // Every feed read of the second pass starts after the first pass began (the runner's own follow too).
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((s) => s === undefined)).toEqual([]);
  });
});
