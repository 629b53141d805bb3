/**
 * Replicas that wrote different merges of one old edit and a migrated leaf (`resolveMigrationConflicts`): when those
 * merges meet, every replica ends the same ones, and only one whose content another live leaf holds.
 */
import { describe, expect, it } from "vitest";
import { historyOf, type Doc, type DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { withDeterministicRev } from "../../strategies/runner/canonical.js";
import { endCoveredLeaves } from "../../strategies/runner/covers.js";
import { resolveMigrationConflicts } from "../../strategies/runner/conflicts.js";
import { runMigration } from "../../strategies/runner/runner.js";
import { graph, leavesOf, memoryStores, todoV1, V3 } from "./fixtures.js";

const store = memoryStores("merged");

const ITEM = "todo-item:000001";
const STATUS = "todo-item-status:000001";


/** What `client-side` and `amended` run on a replica after a sync (`mergeAfterSync`, `amendLateWrites`). */
const resolve = (s: DocumentStore) => resolveMigrationConflicts(s, { graph, to: V3, deterministicRevs: true, recordBases: true });

/** Replicates `from` to `to`. */
const sync = (from: DocumentStore, to: DocumentStore) => replicate(from, to);

describe("two merges of the same old edit meet", () => {
  it.each(["later", "earlier"] as const)("one replica holds a merge with its end, another the same merge without it (its own was a conflict) beside a third merge, %s in revision order: the title edit stays on a live leaf, and the replicas agree", async (order) => {
    // Todo 1 at 1.0. Device a edits its title on the old app and migrates; device d marks it done on the old app.
    const server = store();
    const a = store();
    const d = store();
    const e = store();
    await server.bulkDocs([todoV1(1, { isDone: false, title: "title 7" })]);
    await sync(server, a);
    await sync(server, d);
    await a.bulkDocs([{ ...(await a.get(ITEM)), title: "title 38" }]);
    await runMigration({ source: a, plan: { graph, to: V3 }, deterministicRevs: true, recordBases: true, lease: false, followChanges: false });
    await d.bulkDocs([{ ...(await d.get(ITEM)), isDone: true }]);
    await sync(d, server);
    await sync(a, d);
    const migrated = (await leavesOf(d, ITEM)).find((l) => l["version"] === 3)!;
    const oldEdit = (await leavesOf(d, ITEM)).find((l) => l["version"] === 1)!;

    // a holds the common ancestor's body: it merges the done in cleanly (merge X, the old edit's branch ends into X).
    await sync(server, a);
    expect((await resolve(a)).conflicts).toEqual([]);
    const x = await a.get(ITEM, { revs: true });
    expect(x["title"]).toBe("title 38");
    expect(historyOf(x)[1]).toBe(migrated._rev);

    // e, a fresh replica, holds neither the ancestor's body nor its recorded bases: the 'unknown ancestor' merge writes
    // the same X on the migrated leaf, and keeps the old edit's title on its branch as a reported conflict.
    await sync(d, e);
    expect((await resolve(e)).conflicts).toContain(ITEM);
    expect((await leavesOf(e, ITEM)).map((l) => l._rev)).toContain(x._rev);
    await sync(e, server);

    // d merged the same inputs differently (Y: X's values with a kept mark, as the release before 301613's fix wrote
    // it, or any future divergence), its end naming Y.
    const { _rev, _revisions, ...content } = x;
    void [_rev, _revisions];
    const ys = [["createdAt"], ["schema"], ["version"], ["group"], ["createdAt", "group"]].map((kept) =>
      withDeterministicRev({ ...content, divan: { ...(x["divan"] as object), kept }, _rev: migrated._rev! }),
    );
    const y = ys.find((c) => (c._rev! > x._rev!) === (order === "later"))!;
    const end = withDeterministicRev({ _id: ITEM, _rev: oldEdit._rev!, _deleted: true, divan: { merged: true, into: y._rev } });
    await d.bulkDocs([y, end], { newEdits: false });

    // d gets e's X (without a's end), a gets d's Y with its end: both resolve at the same time.
    await sync(server, d);
    await sync(d, server);
    await sync(server, a);
    await resolve(d);
    await resolve(a);

    // Everyone meets and resolves again.
    for (let round = 0; round < 2; round++) {
      for (const r of [a, d, e]) await sync(r, server);
      for (const r of [a, d, e]) await sync(server, r);
      for (const r of [a, d, e]) await resolve(r);
    }
    for (const r of [a, d, e]) await sync(r, server);
    for (const r of [a, d, e]) await sync(server, r);

    const titles = (await leavesOf(server, ITEM)).map((l) => l["title"]);
    const statuses = (await leavesOf(server, STATUS)).map((l) => l["status"]);
    expect(titles).toContain("title 38");
    expect(statuses).toContain("done");
    const leafRevs = async (s: DocumentStore) => [ITEM, STATUS].map(async (id) => (await leavesOf(s, id)).map((l) => l._rev).sort());
    const onServer = await Promise.all(await leafRevs(server));
    for (const r of [a, d, e]) expect(await Promise.all(await leafRevs(r))).toEqual(onServer);
  });
});

describe("endCoveredLeaves", () => {
  const leaf = (rev: string, extra: Record<string, unknown> = {}): Doc => ({ _id: ITEM, _rev: rev, schema: "todo-item", version: 3, title: "t", ...extra });
  const ended = (leaves: Doc[]) => endCoveredLeaves(new Map([["todo-item", leaves]])).map((d) => d._rev);

  it("of two leaves with the same content, the older ends (the newest stays, as the fold keeps it)", () => {
    expect(ended([leaf("4-b"), leaf("4-a")])).toEqual(["4-a"]);
    expect(ended([leaf("3-z"), leaf("4-a")])).toEqual(["3-z"]);
  });

  it("a leaf that keeps or records more covers one that keeps or records less, whatever their order", () => {
    const more = { divan: { kept: ["createdAt"], bases: { "1-o": {}, "2-p": {} } } };
    const less = { divan: { bases: { "1-o": {} } } };
    expect(ended([leaf("4-a", more), leaf("4-b", less)])).toEqual(["4-b"]);
    expect(ended([leaf("4-b", more), leaf("4-a", less)])).toEqual(["4-a"]);
  });

  it("leaves that each hold something the other does not both stay", () => {
    expect(ended([leaf("4-a", { title: "one" }), leaf("4-b", { title: "two" })])).toEqual([]);
    expect(ended([leaf("4-a", { divan: { kept: ["title"] } }), leaf("4-b", { divan: { kept: ["createdAt"] } })])).toEqual([]);
    expect(ended([leaf("4-a", { group: "g" }), leaf("4-b")])).toEqual([]);
  });
});
