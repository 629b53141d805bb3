/**
 * Minimal scripts of the failure classes helper "gen" fixed (issue 16), and the legality rules they needed.
 * Each script failed before its fix; they run in the fast in-process world with the same invariants and
 * caveats as compare.
 */
import { describe, expect, it } from "vitest";
import { firstIllegal } from "../../examples/todo-app/simulate/script.js";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("an online upgrade may push and pull deletions (seed 80118)", () => {
  // d1 deletes t1 and upgrades online: most strategies push the deletion while upgrading, so d2, joining
  // afterwards, never sees t1 and its user cannot edit it.
  const base: ScenarioEvent[] = [
    { kind: "device", device: "d1", app: "old" },
    { kind: "create", device: "d1", todo: "t1", title: "title 1" },
    { kind: "settle" },
    { kind: "release" },
    { kind: "delete", device: "d1", todo: "t1" },
    { kind: "upgrade", device: "d1" },
    { kind: "device", device: "d2", app: "new" },
    { kind: "sync", device: "d2" },
  ];

  it("a device that synced after another device's online upgrade does not edit what that device deleted", () => {
    expect(firstIllegal([...base, { kind: "set-status", device: "d2", todo: "t1", status: "done" }])).toEqual({
      index: 8,
      reason: "the device has not received t1",
    });
  });

  it("an upgrade made offline pushes nothing: the edit is concurrent with the deletion, and legal", async () => {
    const offline: ScenarioEvent[] = [...base.slice(0, 5), { kind: "offline", device: "d1" }, ...base.slice(5)];
    const events: ScenarioEvent[] = [...offline, { kind: "set-status", device: "d2", todo: "t1", status: "done" }];
    expect(firstIllegal(events)).toBeUndefined();
    await holds("per-version-database", events, 80118);
  });

  it("a device that upgrades online does not edit a todo whose deletion another device had pushed", () => {
    expect(
      firstIllegal([
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "delete", device: "d1", todo: "t1" },
        { kind: "sync", device: "d1" },
        { kind: "upgrade", device: "d2" },
        { kind: "set-status", device: "d2", todo: "t1", status: "done" },
      ]),
    ).toEqual({ index: 8, reason: "the device has not received t1" });
  });
});

describe("a deletion concurrent with an edit deletes the whole entity or keeps it whole", () => {
  it("live-adapter (seed 80075): an old app edits the title of a v3 todo while a new app deletes it; todo-item-status is not left missing", async () => {
    await holds("live-adapter", [
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "upgrade", device: "d2" },
      { kind: "create", device: "d2", todo: "t1", title: "title 8" },
      { kind: "device", device: "d4", app: "old" },
      { kind: "settle" },
      { kind: "edit-title", device: "d4", todo: "t1", title: "title 35" },
      { kind: "delete", device: "d2", todo: "t1" },
    ], 80075);
  });

  for (const strategy of ["live-adapter", "live-adapter-new-app-only"]) {
    it(`${strategy} (seed 80902): a new app deletes a todo while another sets its group`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "release" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "upgrade", device: "d1" },
        { kind: "create", device: "d1", todo: "t4", title: "title 32" },
        { kind: "settle" },
        { kind: "delete", device: "d3", todo: "t4" },
        { kind: "set-new-field", device: "d1", todo: "t4", value: "group 2" },
      ], 80902);
    });
  }
});

describe("deleting a todo that holds users' conflicts deletes every conflicting revision", () => {
  for (const strategy of ["non-breaking", "live-adapter"]) {
    it(`${strategy} (seed 80905): two devices edit the title concurrently, then one deletes the todo; it does not come back`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 20" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "title 58" },
        { kind: "settle" },
        { kind: "delete", device: "d1", todo: "t1" },
      ], 80905);
    });
  }
});

describe("an old leaf that wins a conflict over a migrated one does not cost the status document", () => {
  const events: ScenarioEvent[] = [
    { kind: "device", device: "d1", app: "old" },
    { kind: "create", device: "d1", todo: "t1", title: "title 1" },
    { kind: "create", device: "d1", todo: "t2", title: "title 4" },
    { kind: "device", device: "d2", app: "old" },
    { kind: "settle" },
    { kind: "edit-title", device: "d2", todo: "t2", title: "title 17" },
    { kind: "release" },
    { kind: "upgrade", device: "d1" },
    { kind: "set-new-field", device: "d1", todo: "t2", value: "group 1" },
    { kind: "set-done", device: "d1", todo: "t2", done: true },
    { kind: "settle" },
    { kind: "edit-title", device: "d2", todo: "t2", title: "title 65" },
  ];

  it("live-adapter (seed 81904): the old app's next edit does not delete todo-item-status", async () => {
    await holds("live-adapter", events, 81904);
  });

  it("live-adapter (seed 81904): a new app's next edit does not overwrite todo-item-status with the status it derives", async () => {
    await holds("live-adapter", [...events.slice(0, 9), { kind: "upgrade", device: "d2" }, ...events.slice(9)], 81904);
  });
});
