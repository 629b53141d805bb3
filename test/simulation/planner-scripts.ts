/**
 * Scripts of the transformer planner's regressions, played against the per-version strategies (`regressions-pvd`) and
 * the client-side transformers (`regressions-ctx`).
 */
import type { ScenarioEvent } from "../../examples/todo-app/world.js";

/**
 * An old device sets a todo done while a new-app device, offline too, blocks and then rejects it (found by reasoning
 * about the planner, not by a seed): the new version's edit is newer, so translating the old side said "the new
 * version wins", but translating the new side said "its edits are invisible to the old version (both read as not
 * done), the old edit flows from there". Neither wrote: the old app showed done, the new one rejected, for good,
 * with no conflict anywhere. Edits of a field the other side changed too are no longer invisible: the rule decides.
 */
export const doneWhileRejected: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "release" },
  { kind: "device", device: "d3", app: "new" },
  { kind: "settle" },
  { kind: "offline", device: "d1" },
  { kind: "offline", device: "d3" },
  { kind: "set-done", device: "d1", todo: "t1", done: true },
  { kind: "set-status", device: "d3", todo: "t1", status: "blocked" },
  { kind: "set-status", device: "d3", todo: "t1", status: "rejected" },
];

/**
 * The same class through the other check (found by reasoning): the old device sets done on the translation of a title
 * the new app set, while the new app moves the status on three times. The old edit's translation was made of the
 * status before those edits, which the old version reads the same (not done), so translating the new side took the
 * old edit for an edit of its current revisions and left it to flow from there; translating the old side let the
 * newer status win. A target edit of a field the source changed since is that concurrent edit.
 */
export const doneOnTranslationWhileBlocked: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "release" },
  { kind: "device", device: "d3", app: "new" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t1", title: "title 2" },
  { kind: "settle" },
  { kind: "offline", device: "d1" },
  { kind: "offline", device: "d3" },
  { kind: "set-status", device: "d3", todo: "t1", status: "blocked" },
  { kind: "set-status", device: "d3", todo: "t1", status: "rejected" },
  { kind: "set-status", device: "d3", todo: "t1", status: "blocked" },
  { kind: "set-done", device: "d1", todo: "t1", done: true },
];
