/**
 * Minimal scripts of the classes of failure fresh seeds (80000–81999) found in `transactional`,
 * `transactional-online` and `per-version-database` (issue 16). Each failed before its fix; they run in the
 * fast in-process world with the same invariants and caveats as compare.
 */
import { describe, expect, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { createStrategy } from "../../examples/strategies.js";
import { World } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds, env } = useRegressionEnv();

/** Two old devices edit one todo concurrently and both sync before the release: the main database holds their conflict. */
const concurrentOldEdits: ScenarioEvent[] = [
  { kind: "device", device: "d2", app: "old" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "create", device: "d3", todo: "t2", title: "title 16" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t2", title: "title 29" },
  { kind: "set-done", device: "d2", todo: "t2", done: true },
  { kind: "settle" },
];

for (const strategy of ["transactional", "transactional-online"]) {
  describe(`${strategy}: old apps' concurrent edits at the switch`, () => {
    it(`${strategy}: two old devices' concurrent edits are in conflict at the switch; the copy translates each leaf and switches`, async () => {
      await holds(strategy, [...concurrentOldEdits, { kind: "release" }], 80662);
    });

    it(`${strategy}: the new database holds the users' conflict at the new version, with both edits`, async () => {
      const world = await World.create({ strategy: createStrategy(strategy), scenario: "conflict at the switch", seed: 80662, transport: "memory", registry: env().registry, apps: env().apps });
      try {
        await world.play([...concurrentOldEdits, { kind: "release" }]);
        const id = world.model.idOf("t2")!;
        const next = await world.server.open("-v3");
        const item = await next.get(`todo-item:${id}`, { conflicts: true });
        const leaves = await next.bulkGet([item._rev!, ...(item._conflicts ?? [])].map((rev) => ({ id: item._id, rev })));
        const docs = leaves.flatMap((r) => ("ok" in r ? [r.ok] : []));
        expect(docs.map((d) => d["version"])).toEqual([3, 3]);
        expect(docs.map((d) => d["title"]).sort()).toEqual(["title 16", "title 29"]);
        const status = await next.get(`todo-item-status:${id}`, { conflicts: true });
        expect([status._rev, ...(status._conflicts ?? [])]).toHaveLength(2);
      } finally {
        await world.close();
      }
    });

    it(`${strategy}: a device holding the users' conflict upgrades after the switch; the todo stays (its copy of the conflict is the switch's)`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 2" },
        { kind: "sync", device: "d1" },
        { kind: "offline", device: "d1" },
        { kind: "settle" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "online", device: "d1" },
        { kind: "sync", device: "d2" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 32" },
        { kind: "sync", device: "d2" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "title 42" },
        { kind: "device", device: "d3", app: "old" },
        { kind: "sync", device: "d1" },
        { kind: "release" },
        { kind: "sync", device: "d3" },
        { kind: "upgrade", device: "d3" },
      ], 81426);
    });

    it(`${strategy}: the same, the device upgrading offline`, async () => {
      await holds(strategy, [
        ...concurrentOldEdits,
        { kind: "release" },
        { kind: "offline", device: "d2" },
        { kind: "upgrade", device: "d2" },
        { kind: "set-status", device: "d2", todo: "t2", status: "blocked" },
        { kind: "online", device: "d2" },
        { kind: "sync", device: "d2" },
      ], 80662);
    });
  });

  describe(`${strategy}: what the locked database refuses is reported and kept`, () => {
    it(`${strategy}: an old device edits a revision another device replaced before the switch; the refused edit is kept though it loses CouchDB's order`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 2" },
        { kind: "set-done", device: "d1", todo: "t1", done: true },
        { kind: "settle" },
        { kind: "set-done", device: "d1", todo: "t1", done: false },
        { kind: "sync", device: "d1" },
        { kind: "release" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 55" },
      ], 81099);
    });

    it(`${strategy}: an old device deletes before the release and pushes only after the retirement; the deletion is refused and kept`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "settle" },
        { kind: "delete", device: "d1", todo: "t1" },
        { kind: "release" },
        { kind: "retire" },
      ], 81676);
    });
  });
}

describe("per-version-database: an offline upgrade keeps the old app's deletions", () => {
  it("per-version-database: a device deletes a todo offline after the release and upgrades offline; the todo stays deleted", async () => {
    await holds("per-version-database", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "sync", device: "d1" },
      { kind: "offline", device: "d1" },
      { kind: "release" },
      { kind: "delete", device: "d1", todo: "t1" },
      { kind: "upgrade", device: "d1" },
    ], 81520);
  });

  it("per-version-database: a device deletes another device's todo, goes offline and upgrades; the todo stays deleted", async () => {
    await holds("per-version-database", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 4" },
      { kind: "release" },
      { kind: "settle" },
      { kind: "delete", device: "d2", todo: "t1" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
    ], 81956);
  });
});
