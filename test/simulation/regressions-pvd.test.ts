/**
 * `per-version-documents` and `per-version-database` (issue 16): scripts fresh seeds found, each failing before its
 * fix; they run in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";
import { doneAfterInvisibleBlock, doneOnTranslationWhileBlocked, doneWhileRejected, ownDoneTakenForSeen } from "./planner-scripts.js";

const { holds, agree } = useRegressionEnv();

/**
 * An old device syncs after the retirement, then upgrades offline (seed 101312): the retirement's tombstones of its
 * old documents had reached it, so the new app found nothing to read. A device told that its version is retired
 * pulls the supported version's documents from then on.
 */
const upgradeOfflineAfterRetirement: ScenarioEvent[] = [
  { kind: "release" },
  { kind: "device", device: "d4", app: "old" },
  { kind: "create", device: "d4", todo: "t6", title: "title 54" },
  { kind: "sync", device: "d4" },
  { kind: "retire" },
  { kind: "sync", device: "d4" },
  { kind: "offline", device: "d4" },
  { kind: "upgrade", device: "d4" },
  { kind: "set-status", device: "d4", todo: "t6", status: "rejected" },
];

/**
 * Two old devices edit a todo concurrently, one then edits the winner again, and the retirement comes (seed 101584):
 * it ended the translated winner, the older losing leaf became the document's winner and was translated over the
 * newer title. A document with a conflicting leaf is not removed.
 */
const retireConflicted: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "create", device: "d2", todo: "t1", title: "title 3" },
  { kind: "settle" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 47" },
  { kind: "settle" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 71" },
  { kind: "release" },
  { kind: "upgrade", device: "d1" },
  { kind: "retire" },
];

/**
 * An old and a new-app device edit a todo's title concurrently, and the new app then sets it done (seed 100643). The
 * old edit was translated before the new one reached the server, so the new edit, replicated beside that translation,
 * won CouchDB's choice there while the conflict rule let the old edit win on the old side; the new version's "done"
 * then never reached the old app. The side whose edit wins the rule is translated again into the other side.
 */
const concurrentTitles: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "create", device: "d1", todo: "t2", title: "title 2" },
  { kind: "offline", device: "d1" },
  { kind: "create", device: "d1", todo: "t3", title: "title 8" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "release" },
  { kind: "online", device: "d1" },
  { kind: "sync", device: "d1" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 23" },
  { kind: "upgrade", device: "d2" },
  { kind: "device", device: "d3", app: "new" },
  { kind: "offline", device: "d1" },
  { kind: "settle" },
  { kind: "online", device: "d1" },
  { kind: "offline", device: "d3" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 79" },
  { kind: "settle" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
];

/**
 * A new-app device sets a todo done, an old device syncs its old-version translation, upgrades offline and sets
 * another status (the class of per-version-database seed 95295, which no longer reproduces as generated): the
 * device's transformer rebuilt the new-version documents without their base, so its edit was a second branch of the
 * status document, an unreported conflict. The server's settle merges such an edit onto its base.
 */
const editOfRebuiltTranslation: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "a" },
  { kind: "settle" },
  { kind: "release" },
  { kind: "device", device: "d2", app: "new" },
  { kind: "sync", device: "d2" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "settle" },
  { kind: "offline", device: "d1" },
  { kind: "upgrade", device: "d1" },
  { kind: "set-status", device: "d1", todo: "t1", status: "active" },
];

/**
 * An old device sets a todo done, syncs, upgrades offline, and the old app is retired before it edits the new field
 * (seed 180277). Its upgrade translated the done todo without the server's translation (of the todo before "done") as
 * base, so its edit was a second branch; the retirement had ended the old version's documents, and the server's stale
 * scan, finding no current source revision, no longer saw the server's translation as outdated: an unreported
 * conflict. A retired document's history still dates its translations.
 */
const upgradeOfflineAcrossRetirement: ScenarioEvent[] = [
  { kind: "device", device: "d3", app: "old" },
  { kind: "create", device: "d3", todo: "t1", title: "title 6" },
  { kind: "release" },
  { kind: "sync", device: "d3" },
  { kind: "set-done", device: "d3", todo: "t1", done: true },
  { kind: "sync", device: "d3" },
  { kind: "offline", device: "d3" },
  { kind: "upgrade", device: "d3" },
  { kind: "retire" },
  { kind: "set-new-field", device: "d3", todo: "t1", value: "group 2" },
];

/**
 * Two old devices edit a title concurrently, one of them sets the todo done, upgrades and sets the group a new-app
 * status edit already made outdated (seed 300635). The other title reached the server beside the old version's
 * translation of the first; the group made that translation outdated by provenance, though it was still what the
 * new version translates to, so the stale scan ended it, and the other, older title won both versions: the first
 * title was on no revision. A translation that is what its current source translates to is not stale.
 */
const outdatedByInvisibleEdit: ScenarioEvent[] = [
  { kind: "device", device: "d1", app: "old" },
  { kind: "create", device: "d1", todo: "t1", title: "title 1" },
  { kind: "device", device: "d2", app: "old" },
  { kind: "settle" },
  { kind: "edit-title", device: "d1", todo: "t1", title: "title 9" },
  { kind: "edit-title", device: "d2", todo: "t1", title: "title 19" },
  { kind: "release" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "upgrade", device: "d2" },
  { kind: "device", device: "d3", app: "new" },
  { kind: "sync", device: "d3" },
  { kind: "set-status", device: "d3", todo: "t1", status: "rejected" },
  { kind: "set-new-field", device: "d2", todo: "t1", value: "group 1" },
];

describe("per-version-database", () => {
  it("an old undo does not overwrite a new done its own earlier done only reads like (seed 501473)", async () => {
    await holds("per-version-database", ownDoneTakenForSeen, 501473);
  });
  it("an old done made after a new edit the old version cannot show is no conflict (seed 501812)", async () => {
    await holds("per-version-database", doneAfterInvisibleBlock, 501812);
    await agree("per-version-database", doneAfterInvisibleBlock, 501812);
  });
  it("an old done on the translation of a new title and a newer concurrent status end the same way on both versions", async () => {
    await holds("per-version-database", doneOnTranslationWhileBlocked);
    await agree("per-version-database", doneOnTranslationWhileBlocked);
  });
  it("an old done and a concurrent newer status the old version reads as not done end the same way on both versions", async () => {
    await holds("per-version-database", doneWhileRejected);
    await agree("per-version-database", doneWhileRejected);
  });
  it("an offline-upgraded device's edit of a todo it held only as the old version's translation is merged, not a conflict (class of seed 95295)", async () => {
    await holds("per-version-database", editOfRebuiltTranslation);
  });
  it("a concurrent title stays on a revision when a group edit outdates its translation only by provenance (seed 300635)", async () => {
    await holds("per-version-database", outdatedByInvisibleEdit, 300635);
  });
});

describe("per-version-documents", () => {
  it("an old undo does not overwrite a new done its own earlier done only reads like (seed 501473)", async () => {
    await holds("per-version-documents", ownDoneTakenForSeen, 501473);
  });
  it("an old done made after a new edit the old version cannot show is no conflict (seed 501812)", async () => {
    await holds("per-version-documents", doneAfterInvisibleBlock, 501812);
    await agree("per-version-documents", doneAfterInvisibleBlock, 501812);
  });
  it("an old done on the translation of a new title and a newer concurrent status end the same way on both versions", async () => {
    await holds("per-version-documents", doneOnTranslationWhileBlocked);
    await agree("per-version-documents", doneOnTranslationWhileBlocked);
  });
  it("an old done and a concurrent newer status the old version reads as not done end the same way on both versions", async () => {
    await holds("per-version-documents", doneWhileRejected);
    await agree("per-version-documents", doneWhileRejected);
  });
  it("an offline-upgraded device's edit of a todo it held only as the old version's translation is merged, not a conflict", async () => {
    await holds("per-version-documents", editOfRebuiltTranslation);
  });
  it("the side whose edit wins a concurrent edit wins on both sides, so a later edit flows to the old app (seed 100643)", async () => {
    await holds("per-version-documents", concurrentTitles, 100643);
  });
  it("the retirement leaves a document with a conflicting leaf, so the older leaf is not translated over the newer edit (seed 101584)", async () => {
    await holds("per-version-documents", retireConflicted, 101584);
  });
  it("a device that synced the retirement and upgrades offline still reads its todos (seed 101312)", async () => {
    await holds("per-version-documents", upgradeOfflineAfterRetirement, 101312);
  });
  it("an edit made after an offline upgrade across the retirement keeps the done and the group, without a conflict (seed 180277)", async () => {
    await holds("per-version-documents", upgradeOfflineAcrossRetirement, 180277);
  });
  it("a concurrent title stays on a revision when a group edit outdates its translation only by provenance (seed 300635)", async () => {
    await holds("per-version-documents", outdatedByInvisibleEdit, 300635);
  });
});
