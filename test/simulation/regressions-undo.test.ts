/**
 * An edit changed back to its starting value (issue 16): one side sets done and then undoes it while the other side
 * sets another status. Replication carries only a branch's last revision, so a three-way merge saw "no change" on the
 * undoing side and let the other side's value win; the undoing user's last value was on no server revision. Each
 * script failed before its fix; they run in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

/** A new-app device sets done and undoes it while an old device's offline "done" waits to sync (seed 80523). */
const newUndoes: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 6" },
  { kind: "settle" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "release" },
  { kind: "offline", device: "d2" },
  { kind: "reinstall", device: "d1" },
  { kind: "settle" },
  { kind: "set-done", device: "d1", todo: "t1", done: true },
  { kind: "set-done", device: "d1", todo: "t1", done: false },
];

/** An old device sets done and undoes it while an upgraded device rejects the todo (seed 81782). */
const oldUndoes: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "settle" },
  { kind: "set-done", device: "d1", todo: "t1", done: true },
  { kind: "release" },
  { kind: "upgrade", device: "d2" },
  { kind: "set-status", device: "d2", todo: "t1", status: "rejected" },
  { kind: "set-done", device: "d1", todo: "t1", done: false },
];

/** An old device sets done and undoes it through the translating proxy while an upgraded device rejects the todo (seed 91280). */
const oldUndoesThroughProxy: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t2", title: "title 4" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "release" },
  { kind: "upgrade", device: "d2" },
  { kind: "settle" },
  { kind: "set-done", device: "d3", todo: "t2", done: true },
  { kind: "set-status", device: "d2", todo: "t2", status: "rejected" },
  { kind: "set-done", device: "d3", todo: "t2", done: false },
];

describe("an edit changed back is kept against a concurrent change (a conflict, not lost)", () => {
  for (const strategy of ["amended", "client-side"]) {
    it(`${strategy}: a new-app device undoes "done" while an old device's "done" is offline (seed 80523)`, async () => {
      await holds(strategy, newUndoes, 80523);
    });
    it(`${strategy}: an old device undoes "done" while an upgraded device sets another status (seed 81782)`, async () => {
      await holds(strategy, oldUndoes, 81782);
    });
  }
  it("server-lazy: an old device's undo of \"done\" is kept against another version's status, which the old view cannot show (seed 91280)", async () => {
    await holds("server-lazy", oldUndoesThroughProxy, 91280);
  });
});
