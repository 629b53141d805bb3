/**
 * `per-version-documents` and `per-version-database` (issue 16): scripts fresh seeds found, each failing before its
 * fix; they run in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

/**
 * An old device syncs after the retirement, then upgrades offline (seed 101312): the retirement's tombstones of its
 * old documents had reached it, so the new app found nothing to read. A device keeps its copies until it compacts.
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

describe("per-version-documents", () => {
  it("the retirement leaves a document with a conflicting leaf, so the older leaf is not translated over the newer edit (seed 101584)", async () => {
    await holds("per-version-documents", retireConflicted, 101584);
  });
  it("a device that synced the retirement and upgrades offline still reads its todos (seed 101312)", async () => {
    await holds("per-version-documents", upgradeOfflineAfterRetirement, 101312);
  });
});
