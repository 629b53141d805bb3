/**
 * Merging what an in-place migration and an old app's concurrent edit did to one todo
 * (`resolveMigrationConflicts`): three ways against the revision both grew from, so neither side's edit is
 * dropped; an attribute both changed differently stays on a conflicting revision for the app to resolve.
 * In memory (PouchDB); the simulation plays the same on both servers.
 */
import { describe, expect, it } from "vitest";
import type { Doc, DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { resolveMigrationConflicts } from "../../strategies/runner/conflicts.js";
import { runMigration } from "../../strategies/runner/runner.js";
import { graph, leavesOf, memoryStores, todoV1, V3 } from "./fixtures.js";

const store = memoryStores("conflicts");

const ITEM = "todo-item:000001";
const STATUS = "todo-item-status:000001";


/** A server holding todo 1 at 1.0 (not done) and a device that migrated it (as client-side does) and then edited it with `edit`. */
async function migratedElsewhere(edit: (item: Doc, status: Doc) => Doc[]): Promise<{ server: DocumentStore; device: DocumentStore }> {
  const server = store();
  const device = store();
  await server.bulkDocs([todoV1(1, { isDone: false })]);
  await replicate(server, device);
  await runMigration({ source: device, plan: { graph, to: V3 }, deterministicRevs: true, lease: false, followChanges: false });
  await device.bulkDocs(edit(await device.get(ITEM), await device.get(STATUS)));
  return { server, device };
}

const oldEdit = async (server: DocumentStore, change: Record<string, unknown>): Promise<void> => {
  const doc = await server.get(ITEM);
  await server.bulkDocs([{ ...doc, ...change }]);
};

describe("an old edit meets a migration another replica made", () => {
  it("done on the old app and blocked on the new one: both stay, blocked as the winner and done on a conflicting revision, and the conflict is reported", async () => {
    const { server, device } = await migratedElsewhere((_item, status) => [{ ...status, status: "blocked" }]);
    await oldEdit(server, { isDone: true });
    await replicate(device, server);
    const report = await resolveMigrationConflicts(server, { graph, to: V3, deterministicRevs: true });
    expect(report.conflicts).toEqual([STATUS]);
    const statuses = (await leavesOf(server, STATUS)).map((d) => d["status"]);
    expect(statuses.sort()).toEqual(["blocked", "done"]);
    const items = await leavesOf(server, ITEM);
    expect(items.map((d) => d["version"])).toEqual([3]);
  });

  it("a title edited on the new app and done on the old one: one revision with both, no conflict", async () => {
    const { server, device } = await migratedElsewhere((item) => [{ ...item, title: "new title" }]);
    await oldEdit(server, { isDone: true });
    await replicate(device, server);
    const report = await resolveMigrationConflicts(server, { graph, to: V3, deterministicRevs: true });
    expect(report.conflicts).toEqual([]);
    const items = await leavesOf(server, ITEM);
    expect(items.map((d) => [d["version"], d["title"]])).toEqual([[3, "new title"]]);
    expect((await leavesOf(server, STATUS)).map((d) => d["status"])).toEqual(["done"]);
  });

  it("the same title edited differently on both: the new app's title wins, the old one is on a conflicting revision of the item", async () => {
    const { server, device } = await migratedElsewhere((item) => [{ ...item, title: "new title" }]);
    await oldEdit(server, { title: "old title" });
    await replicate(device, server);
    const report = await resolveMigrationConflicts(server, { graph, to: V3 });
    expect(report.conflicts).toEqual([ITEM]);
    const items = await leavesOf(server, ITEM);
    expect(items.map((d) => d["version"])).toEqual([3, 3]);
    expect(items.map((d) => d["title"]).sort()).toEqual(["new title", "old title"]);
  });
});

describe("two replicas migrated different old revisions", () => {
  it("a device migrated the todo before an old edit, another after it: the leaves merge into one with the edit", async () => {
    const { server, device } = await migratedElsewhere(() => []);
    // A second device edits the 1.0 todo (done), then migrates it: a v3 leaf from another old revision.
    const other = store();
    await replicate(server, other);
    await other.bulkDocs([{ ...(await other.get(ITEM)), isDone: true }]);
    await runMigration({ source: other, plan: { graph, to: V3 }, deterministicRevs: true, lease: false, followChanges: false });
    await replicate(device, server);
    await replicate(other, server);
    expect(await leavesOf(server, ITEM)).toHaveLength(2);
    const report = await resolveMigrationConflicts(server, { graph, to: V3, deterministicRevs: true });
    expect(report.conflicts).toEqual([]);
    expect(await leavesOf(server, ITEM)).toHaveLength(1);
    expect((await leavesOf(server, STATUS)).map((d) => d["status"])).toEqual(["done"]);
  });
});
