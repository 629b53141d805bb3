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

/**
 * Seed 501473 (minimized): d1 (old) sets a todo done and syncs; d2, holding the todo from before, upgrades and sets it
 * done on the new app; d1 sets it back to not done. d1's own earlier "done" read like d2's edit, so the planner took
 * that revision for one that had seen it, and translated the undo over d2's "done": it was on no revision. Only a
 * revision carrying the new version's provenance can have seen its edit.
 */
export const ownDoneTakenForSeen: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "settle" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "sync", device: "d2" },
  { kind: "set-done", device: "d1", todo: "t1", done: true },
  { kind: "sync", device: "d1" },
  { kind: "release" },
  { kind: "upgrade", device: "d2" },
  { kind: "set-done", device: "d1", todo: "t1", done: false },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
];

/**
 * Seed 501812: d1 upgrades, sets a group and blocks a todo (the old version reads it as not done, as before); d2 (old)
 * then sets it done, having seen that. The new version's edit changed nothing the old one shows, so it left no
 * revision there, and d2's later edit looked concurrent with it: a conflict no concurrent edit explains (and, with
 * client-side transformers in one database, "done" lost).
 */
export const doneAfterInvisibleBlock: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "sync", device: "d1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "settle" },
  { kind: "sync", device: "d2" },
  { kind: "release" },
  { kind: "sync", device: "d1" },
  { kind: "create", device: "d1", todo: "t1", title: "title 9" },
  { kind: "upgrade", device: "d1" },
  { kind: "set-new-field", device: "d1", todo: "t1", value: "group 2" },
  { kind: "set-status", device: "d1", todo: "t1", status: "blocked" },
  { kind: "settle" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "set-new-field", device: "d1", todo: "t1", value: "group 2" },
  { kind: "settle" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 31" },
];
