/**
 * Minimal scripts of the per-version-documents failures of seeds 81438 and 81945 (an old device's edit pushed
 * after a retirement overwrote the only copy of a concurrent edit); each failed before its fix.
 */
import { describe, it } from "vitest";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("a retirement keeps the edits its removal ended", () => {
  // The server translates d1's edit, the retirement ends the old revision it came from (translated), and d2's
  // concurrent edit, pushed after it, is the old document's only live revision: its translation must not
  // overwrite the new version's document, the only copy of d1's edit left.
  it("per-version-documents: an old device pushes, after the retirement, an edit concurrent with one the server translated (seed 81945)", async () => {
    await holds("per-version-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t2", title: "title 4" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t2", title: "title 13" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-done", device: "d2", todo: "t2", done: true },
      { kind: "retire" },
    ], 81945);
  });

  it("per-version-documents: two old devices edit one title, one syncs before the retirement, the other after (seed 81438)", async () => {
    await holds("per-version-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "title 3" },
      { kind: "online", device: "d1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 114" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 120" },
      { kind: "sync", device: "d1" },
      { kind: "retire" },
    ], 81438);
  });
});
