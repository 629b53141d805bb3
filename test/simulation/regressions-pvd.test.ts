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

describe("per-version-documents", () => {
  it("a device that synced the retirement and upgrades offline still reads its todos (seed 101312)", async () => {
    await holds("per-version-documents", upgradeOfflineAfterRetirement, 101312);
  });
});
