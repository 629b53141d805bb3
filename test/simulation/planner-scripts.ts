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
 * Seed 500642's minimal script (`client-transformer-documents`, `client-lazy-database`): d3 sets a title on the new
 * version, d4 groups the todo twice (which the old version cannot show), and d2 sets a title on the old version, on the
 * translation of d3's. A replica holding the revisions in between (d4) finds d2's edit a fast-forward; one that
 * received only the latest of them, without the bodies of the others (d3), cannot tell that the group was all they
 * changed and finds it concurrent: the newer group won, and d3's title was written back as a winning branch.
 */
export const titleAfterUnseenGroups: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "release" },
  { kind: "device", device: "d3", app: "new" },
  { kind: "device", device: "d4", app: "new" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t1", title: "title 95" },
  { kind: "settle" },
  { kind: "set-new-field", device: "d4", todo: "t1", value: "group 2" },
  { kind: "set-new-field", device: "d4", todo: "t1", value: "group 1" },
  { kind: "settle" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 146" },
];

/**
 * A new-app device creates a todo and sets its group twice, translating each write to the old version as it makes it
 * (the groups change nothing the old version shows: its document still names the first revision); an old device then
 * sets the title (seed 501623; seed 501186 is the same script). The device that made the groups holds their bodies and
 * sees that the old title was made on what the new version shows; d1, upgraded, received the latest revision's body
 * alone, took the title for a concurrent edit of the older, lost revision, and showed the title it had replaced.
 */
export const groupsThenOldTitle: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "release" },
  { kind: "device", device: "d2", app: "new" },
  { kind: "create", device: "d2", todo: "t2", title: "title 11" },
  { kind: "upgrade", device: "d1" },
  { kind: "set-new-field", device: "d2", todo: "t2", value: "group 2" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "set-new-field", device: "d2", todo: "t2", value: "group 1" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t2", title: "title 25" },
];

/**
 * The same through an old title translated first (seed 507027): d2, upgraded, sets a title and two groups; d1, old,
 * sets another title on their translation, then upgrades without the bodies of the group revisions. Its transformer
 * took d1's title for a concurrent edit (the client transformer wrote the older title back as a winning branch: a
 * conflict on every replica; the lazy one showed the older title).
 */
export const titleAndGroupsThenOldTitle: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "release" },
  { kind: "offline", device: "d1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "online", device: "d1" },
  { kind: "create", device: "d2", todo: "t1", title: "title 15" },
  { kind: "upgrade", device: "d2" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 36" },
  { kind: "set-new-field", device: "d2", todo: "t1", value: "group 0" },
  { kind: "set-new-field", device: "d2", todo: "t1", value: "group 1" },
  { kind: "settle" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 63" },
  { kind: "upgrade", device: "d1" },
];

/**
 * Old titles and done beside new-app groups, then an old title (seed 501645): the new title document names an older
 * old revision than its status (the status was translated from the later done), and only the status's provenance
 * shows that the old title 30 was made on what the new version shows. d4, joining last, looked at the title document
 * alone, took title 30 for a concurrent edit of title 22 and wrote 22 back into the old version.
 */
export const doneBesideGroupsThenOldTitle: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "release" },
  { kind: "upgrade", device: "d1" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "set-new-field", device: "d1", todo: "t1", value: "group 2" },
  { kind: "settle" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 21" },
  { kind: "settle" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 22" },
  { kind: "set-new-field", device: "d1", todo: "t1", value: "group 1" },
  { kind: "settle" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "set-new-field", device: "d1", todo: "t1", value: "group 2" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t1", title: "title 30" },
  { kind: "device", device: "d4", app: "new" },
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

/**
 * A new-app group recorded on the old version beside an old title, then done on the upgraded device (seed 600017):
 * d2's group is written again into the old version unchanged (its record), so d1's later old title is one generation
 * deeper there than d1's done, made after it on the new version's status. The status names the old revision it was
 * translated from, not the title's: the title was taken for a concurrent, newer edit and translated over done.
 */
export const doneAfterRecordedGroupAndOldTitle: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "sync", device: "d1" },
  { kind: "settle" },
  { kind: "release" },
  { kind: "device", device: "d2", app: "new" },
  { kind: "settle" },
  { kind: "set-new-field", device: "d2", todo: "t1", value: "group 0" },
  { kind: "settle" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 12" },
  { kind: "sync", device: "d2" },
  { kind: "upgrade", device: "d1" },
  { kind: "settle" },
  { kind: "set-done", device: "d1", todo: "t1", done: true },
  { kind: "settle" },
];

/**
 * Seed 601790 (minimized): d2 upgrades and sets a group; d3 (old) edits the title, then upgrades and sets the todo done.
 * The translation of d3's title wrote the new version's title only: the status read the same, and kept provenance
 * naming the old revision before the title. The done made on it then named that revision, and looked concurrent with
 * the title it was made after: a conflict, "done" lost (and, in the full seed, the title).
 */
export const doneAfterTranslatedOldTitle: ScenarioEvent[] = [
  { kind: "device", device: "d2", app: "old" },
  { kind: "create", device: "d2", todo: "t1", title: "title 5" },
  { kind: "release" },
  { kind: "upgrade", device: "d2" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "set-new-field", device: "d2", todo: "t1", value: "group 1" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t1", title: "title 42" },
  { kind: "upgrade", device: "d3" },
  { kind: "set-done", device: "d3", todo: "t1", done: true },
];

/**
 * Seed 601790 (minimized, second cause): as {@link doneAfterTranslatedOldTitle}, but d3 upgrades offline, holding
 * the old version only: its translation of the old title is rebuilt without the new version's documents, and its done
 * edits it. Merged onto the new version's title document once that arrived, only the fields the edit changed were
 * set: the old title, which that document had not received, was lost.
 */
export const doneAfterOfflineUpgradeOverOldTitle: ScenarioEvent[] = [
  ...doneAfterTranslatedOldTitle.slice(0, 8),
  { kind: "offline", device: "d3" },
  ...doneAfterTranslatedOldTitle.slice(8),
];
