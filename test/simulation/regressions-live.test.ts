/**
 * Minimal scripts of live-adapter failures (issue 16): seeds 100117 and 101399 (deletions and late status documents),
 * 500831 (an old leaf's value lost). Each failed before its fix; they run in the in-process world, invariants as compare.
 */
import { describe, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

/**
 * d1 migrates t2 with an offline edit and pushes only its todo-item; d2 receives the todo-item without the status
 * document and deletes the todo (seed 100117). The status document d1 pushes at the end belongs to a deleted todo.
 */
const deleteWithoutStatus: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "offline", device: "d1" },
  { kind: "create", device: "d1", todo: "t2", title: "title 7" },
  { kind: "online", device: "d1" },
  { kind: "release" },
  { kind: "set-done", device: "d1", todo: "t2", done: true },
  { kind: "upgrade", device: "d1" },
  { kind: "sync", device: "d1" },
  { kind: "offline", device: "d1" },
  { kind: "set-done", device: "d1", todo: "t2", done: false },
  { kind: "push-first-document", device: "d1", todo: "t2" },
  { kind: "settle" },
  { kind: "device", device: "d2", app: "new" },
  { kind: "sync", device: "d2" },
  { kind: "delete", device: "d2", todo: "t2" },
];

/**
 * The same with two devices that each migrate t2 offline (the todo-item and the status document each in conflict),
 * push only the todo-item, and an old device that reads along: the late statuses bring the todo back nowhere.
 */
const deleteWithoutConflictingStatuses: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t2", title: "title 7" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "device", device: "d4", app: "old" },
  { kind: "settle" },
  { kind: "release" },
  { kind: "upgrade", device: "d1" },
  { kind: "upgrade", device: "d3" },
  { kind: "offline", device: "d1" },
  { kind: "offline", device: "d3" },
  { kind: "set-done", device: "d1", todo: "t2", done: true },
  { kind: "set-status", device: "d3", todo: "t2", status: "blocked" },
  { kind: "push-first-document", device: "d1", todo: "t2" },
  { kind: "push-first-document", device: "d3", todo: "t2" },
  { kind: "settle" },
  { kind: "device", device: "d2", app: "new" },
  { kind: "sync", device: "d2" },
  { kind: "delete", device: "d2", todo: "t2" },
  { kind: "settle" },
  { kind: "online", device: "d1" },
  { kind: "online", device: "d3" },
  { kind: "settle" },
  { kind: "check", label: "after the late statuses" },
];

/**
 * The old app (without an adapter in `live-adapter-new-app-only`) deletes a todo the new app had split into a
 * todo-item and a status document; the old app knows no status document, so it deletes only the todo-item (seed 101399).
 */
const oldDeletesSplitTodo: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "offline", device: "d1" },
  { kind: "online", device: "d1" },
  { kind: "create", device: "d1", todo: "t2", title: "title 9" },
  { kind: "settle" },
  { kind: "edit-title", device: "d1", todo: "t2", title: "title 18" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "offline", device: "d2" },
  { kind: "release" },
  { kind: "online", device: "d2" },
  { kind: "sync", device: "d2" },
  { kind: "upgrade", device: "d2" },
  { kind: "set-new-field", device: "d2", todo: "t2", value: "group 0" },
  { kind: "settle" },
  { kind: "delete", device: "d1", todo: "t2" },
];

/**
 * d2 (old app) marks t1 done while d1 is offline; d1 upgrades and edits the title, which migrates t1 (todo-item@3
 * and a status document "active"). The old leaf (isDone true) wins the todo-item conflict, so a new app reads t1 as
 * done; its next edit (the group) wrote todo-item@3 over that leaf and left the status document "active": the done
 * d2's user set was on no revision (seed 500831).
 */
const oldLeafStatus: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 5" },
  { kind: "settle" },
  { kind: "offline", device: "d1" },
  { kind: "release" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "settle" },
  { kind: "upgrade", device: "d1" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 83" },
  { kind: "reinstall", device: "d2" },
  { kind: "online", device: "d1" },
  { kind: "settle" },
  { kind: "set-new-field", device: "d2", todo: "t1", value: "group 1" },
];

describe("a new app's edit on an old leaf that won a conflict keeps the status the leaf holds", () => {
  for (const strategy of ["live-adapter", "live-adapter-new-app-only"]) {
    it(`${strategy}: the status document of the losing migrated branch does not replace the old leaf's (seed 500831)`, async () => {
      await holds(strategy, oldLeafStatus, 500831);
    });
  }
});

describe("a todo is deleted with the documents a device holds, and what arrives later of it is deleted too", () => {
  for (const strategy of ["live-adapter", "live-adapter-new-app-only"]) {
    it(`${strategy}: the new app deletes a todo whose status document has not arrived (seed 100117)`, async () => {
      await holds(strategy, deleteWithoutStatus, 100117);
    });
    it(`${strategy}: the late status documents of a deleted todo, in conflict, bring it back on no replica`, async () => {
      await holds(strategy, deleteWithoutConflictingStatuses, 100117);
    });
  }
  it("live-adapter-new-app-only: the old app deletes a todo the new app split; its status document does not stay (seed 101399)", async () => {
    await holds("live-adapter-new-app-only", oldDeletesSplitTodo, 101399);
  });
});
