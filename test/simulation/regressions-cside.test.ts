/**
 * The classes of `client-side` failures fresh seeds found (issue 16), as minimal scripts. Each failed before its
 * fix; they run in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds, agree } = useRegressionEnv();

describe("client-side: devices merge an old edit the same way, whatever bodies they hold", () => {
  it("a device that joined after the migration holds no body of the old revision it grew from, and still merges a clashing old edit three ways (seed 80263)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "sync", device: "d1" },
        { kind: "release" },
        { kind: "offline", device: "d1" },
        { kind: "device", device: "d2", app: "new" },
        { kind: "sync", device: "d2" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "create", device: "d3", todo: "t3", title: "title 50" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "title 53" },
        { kind: "settle" },
        { kind: "edit-title", device: "d3", todo: "t1", title: "title 129" },
      ],
      80263,
    );
  });

  it("the migration translated an old edit concurrent with another old device's edit of the same title: no replica holds their ancestor, so the other title is kept as a conflict, never overwritten (seed 80587)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 5" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "offline", device: "d1" },
        { kind: "release" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "title 12" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 57" },
        { kind: "sync", device: "d2" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "settle" },
      ],
      80587,
    );
  });

  it("two devices each merge a different one of an old device's successive done / not done: the later one wins on the status document too (the status-document clash across two merges)", async () => {
    await holds("client-side", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "device", device: "d2", app: "new" },
      { kind: "sync", device: "d2" },
      { kind: "sync", device: "d2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "sync", device: "d1" },
      { kind: "sync", device: "d2" },
      { kind: "offline", device: "d2" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "sync", device: "d1" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "sync", device: "d3" },
      { kind: "sync", device: "d3" },
    ]);
  });
});

/** Seed 180381: two devices migrate different revisions of one old todo; the first then sets done and "active". */
const DIFFERENT_REVISIONS: ScenarioEvent[] = [
  { kind: "device", device: "d2", app: "old" },
  { kind: "create", device: "d2", todo: "t1", title: "title 3" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "settle" },
  { kind: "release" },
  { kind: "set-done", device: "d3", todo: "t1", done: true },
  { kind: "upgrade", device: "d2" },
  { kind: "upgrade", device: "d3" },
  { kind: "set-done", device: "d2", todo: "t1", done: true },
  { kind: "set-status", device: "d2", todo: "t1", status: "active" },
];

describe("client-side: two devices migrate different revisions of one old todo", () => {
  it("one migrated the original, the other its old \"done\" made offline; the first sets done then active on the new app: its \"active\" survives the settle (seed 180381)", async () => {
    await holds("client-side", DIFFERENT_REVISIONS, 180381);
  });

  it("the same, merged on the device that made the \"done\": it holds no body of the other's done and active, and still keeps that \"active\"", async () => {
    await holds("client-side", [...DIFFERENT_REVISIONS, { kind: "sync", device: "d2" }, { kind: "sync", device: "d3" }], 180381);
  });
});

describe("client-side: a translation is no user's edit, also where its parent's body is not here", () => {
  it("an old edit migrated on one device, the original on an offline one: the new app's later edit merges with no conflict (seed 301160)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 2" },
        { kind: "create", device: "d1", todo: "t2", title: "title 3" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "offline", device: "d2" },
        { kind: "release" },
        { kind: "upgrade", device: "d2" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "edit-title", device: "d1", todo: "t2", title: "title 42" },
        { kind: "settle" },
        { kind: "create", device: "d3", todo: "t3", title: "title 64" },
        { kind: "set-new-field", device: "d3", todo: "t2", value: "group 1" },
      ],
      301160,
    );
  });

  it("the same with two title edits, whose bodies the offline device never holds: what that side may have changed back stays in the merge's history and marks nothing kept, so the later group edit merges with no conflict (seed 301160, unminimized)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 2" },
        { kind: "create", device: "d1", todo: "t2", title: "title 3" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "edit-title", device: "d1", todo: "t2", title: "title 18" },
        { kind: "offline", device: "d2" },
        { kind: "release" },
        { kind: "upgrade", device: "d2" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "edit-title", device: "d1", todo: "t2", title: "title 42" },
        { kind: "settle" },
        { kind: "create", device: "d3", todo: "t3", title: "title 64" },
        { kind: "set-new-field", device: "d3", todo: "t2", value: "group 1" },
      ],
      301160,
    );
  });

  it("an old device merges its done into a migrated title edit it received alone as the device that migrated it does: the title is not lost (seed 301613)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "offline", device: "d1" },
        { kind: "create", device: "d1", todo: "t1", title: "title 7" },
        { kind: "create", device: "d1", todo: "t2", title: "title 9" },
        { kind: "create", device: "d1", todo: "t3", title: "title 21" },
        { kind: "online", device: "d1" },
        { kind: "settle" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "title 38" },
        { kind: "set-done", device: "d2", todo: "t1", done: true },
        { kind: "offline", device: "d2" },
        { kind: "release" },
        { kind: "upgrade", device: "d1" },
        { kind: "settle" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "create", device: "d1", todo: "t4", title: "title 85" },
      ],
      301613,
    );
  });
});

describe("client-side: a clash kept on one leaf is not against a later old edit of its own value", () => {
  it("an old device edits the title it was shown (one side of a users' clash, kept against the other) after the migration: its edit wins on that leaf, the clash stays on the other (seed 600005)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "device", device: "d3", app: "old" },
        { kind: "device", device: "d4", app: "old" },
        { kind: "create", device: "d2", todo: "t2", title: "title 26" },
        { kind: "settle" },
        { kind: "offline", device: "d4" },
        { kind: "edit-title", device: "d4", todo: "t2", title: "title 63" },
        { kind: "settle" },
        { kind: "online", device: "d4" },
        { kind: "sync", device: "d4" },
        { kind: "release" },
        { kind: "edit-title", device: "d2", todo: "t2", title: "title 115" },
        { kind: "settle" },
        { kind: "edit-title", device: "d3", todo: "t2", title: "title 141" },
        { kind: "upgrade", device: "d4" },
        { kind: "sync", device: "d4" },
      ],
      600005,
    );
  });
});

/**
 * Seed 600005, second cause: an updated device migrates two old apps' concurrent titles on a branch each and merges
 * them; an old device edits one of them. The old devices receive those merges without the bodies of the revisions below
 * them, so they cannot tell divan's writes from users' there, while the updated device can.
 */
const MERGED_LEAVES_ABOVE_MISSING_BODIES: ScenarioEvent[] = [
  { kind: "device", device: "d2", app: "old" },
  { kind: "device", device: "d3", app: "old" },
  { kind: "device", device: "d4", app: "old" },
  { kind: "create", device: "d2", todo: "t2", title: "title 26" },
  { kind: "settle" },
  { kind: "offline", device: "d4" },
  { kind: "edit-title", device: "d4", todo: "t2", title: "title 63" },
  { kind: "offline", device: "d3" },
  { kind: "online", device: "d4" },
  { kind: "release" },
  { kind: "edit-title", device: "d2", todo: "t2", title: "title 115" },
  { kind: "online", device: "d3" },
  { kind: "settle" },
  { kind: "edit-title", device: "d3", todo: "t2", title: "title 141" },
  { kind: "upgrade", device: "d4" },
];

describe("client-side: an old device does not merge what it cannot tell from a user's edit", () => {
  it("an old edit made on one of two migrated conflicting titles: the old devices, missing the bodies of the migration's writes, leave the merge to the updated device, whose later title wins (seed 600005)", async () => {
    await holds("client-side", MERGED_LEAVES_ABOVE_MISSING_BODIES, 600005);
  });

  it("the same: every device shows the same title at the end", async () => {
    await agree("client-side", MERGED_LEAVES_ABOVE_MISSING_BODIES, 600005);
  });
});
