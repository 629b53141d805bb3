/**
 * Minimal scripts of the client-side transformers' failures of fresh seeds (`client-transformer-*`,
 * `client-lazy-*`); each failed before its fix.
 */
import { describe, it } from "vitest";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("client-side transformers keep the last value users set", () => {
  // d1's title and d2's concurrent one conflict on the old version; d1's group edit translates its title back as a
  // winning branch, which the stale scan ends once the new version moved on (the group). Translated again from the
  // newer revision, the same content must be a new branch, not the ended one written again (a no-op): else the
  // conflict's loser wins on the old version, and d2's next title, made on it, loses to d1's older one.
  it("client-lazy-documents: a title set on the old version after a group set on a conflicting title (seed 100264)", async () => {
    await holds("client-lazy-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d2", todo: "t1", title: "title 5" },
      { kind: "create", device: "d2", todo: "t2", title: "title 16" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "create", device: "d1", todo: "t3", title: "title 30" },
      { kind: "settle" },
      { kind: "edit-title", device: "d2", todo: "t3", title: "title 50" },
      { kind: "edit-title", device: "d1", todo: "t3", title: "title 56" },
      { kind: "settle" },
      { kind: "set-new-field", device: "d1", todo: "t3", value: "group 0" },
      { kind: "settle" },
      { kind: "edit-title", device: "d2", todo: "t3", title: "title 85" },
    ], 100264);
  });
});
