/**
 * The minimal scripts of the classes of failure fresh seeds (100000 on) found in `amended`, `server-lazy` and
 * `transactional*` (issue 16). Each failed before its fix; they run in the fast in-process world with the same
 * invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("amended", () => {
  it("an old app that deletes a todo whose late edit conflicts with the migration deletes the status document it does not know (seed 101874)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "online", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "title 3" },
      { kind: "create", device: "d1", todo: "t2", title: "title 4" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t2", title: "title 13" },
      { kind: "sync", device: "d1" },
      { kind: "delete", device: "d1", todo: "t2" },
      { kind: "upgrade", device: "d1" },
    ], 101874);
  });

  it("an old device sets done as another did, then not done offline, and upgrades offline; its status reaches the server (seed 108849)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "settle" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "release" },
      { kind: "settle" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "upgrade", device: "d1" },
    ], 108849);
  });
});

describe("amended: a change back out of the merged side's own history (variants of 108849)", () => {
  it("an old device edits the title, sets done as another did, then not done offline, and upgrades offline: its \"active\", split off the todo whose history holds the undo, reaches the server", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "settle" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "release" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "upgrade", device: "d1" },
    ], 108849);
  });

  it("an old device's undo merged into the migration holds the ancestor's status; another device's late \"done\" does not take it for untouched", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "settle" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "release" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "upgrade", device: "d1" },
    ], 108849);
  });
});

describe("amended: two migrations of different revisions of one old document", () => {
  it("the status documents they split off meet where their sources do: the device's later \"active\" wins without a conflict (seed 150278)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "title 4" },
      { kind: "online", device: "d1" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "sync", device: "d1" },
      { kind: "offline", device: "d1" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "push-first-document", device: "d1", todo: "t1" },
    ], 150278, true);
  });
});

describe("amended: an old edit merged on one replica and migrated on another", () => {
  it("a new device migrates an old edit the server merged into its migration; the device that made it upgrades and edits on: its title wins without a conflict (seed 151222)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "sync", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 5" },
      { kind: "release" },
      { kind: "sync", device: "d1" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "sync", device: "d3" },
      { kind: "upgrade", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 57" },
    ], 151222, true);
  });

  it("an old device's late \"done\" clashes with a status an upgraded device set back; its conflicting revision, on the merge that held \"done\", is not merged away (seed 151061)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 7" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "sync", device: "d2" },
      { kind: "release" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "upgrade", device: "d2" },
      { kind: "set-done", device: "d2", todo: "t1", done: false },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
    ], 151061);
  });
});

describe("amended: one device edits offline across the release and upgrades offline", () => {
  it("the server's migration of its earlier revision, merged into the device's, is no edit of its own: the later title wins without a conflict (seed 110108)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 3" },
      { kind: "sync", device: "d1" },
      { kind: "offline", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 9" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "online", device: "d1" },
      { kind: "sync", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 23" },
    ], 110108);
  });

  // d1's old edit (title 27) met the server's migration of its parent on the device (a sync pulled it), CouchDB chose
  // the migration, and the offline upgrade left the old edit a losing leaf: the new app showed the migrated title and
  // edited it (title 53), while the server merged the old edit into the migration. Both leaves then changed the
  // title from the migration's, a clash, and the user's last title lost. The device merges as the server does.
  it("an old edit that met the migration on the device before an offline upgrade is merged there: the next title wins (seed 180042)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 27" },
      { kind: "sync", device: "d1" },
      { kind: "offline", device: "d1" },
      { kind: "upgrade", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 53" },
    ], 180042);
  });

  // The server migrated t1's first revision, the offline device its second (title 7): the status documents they split
  // off hold the same status but record different bases, so they are two roots with no revision in common. Pushed
  // after the todo-item (already merged), they stayed in conflict: leaves with the same attributes merge without one.
  it("the status documents the server and the device split off two revisions of a todo merge (seed 180392)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "sync", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 7" },
      { kind: "offline", device: "d1" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "push-first-document", device: "d1", todo: "t1" },
    ], 180392);
  });
});

describe("amended: a new device that first pulls an old edit beside a merge of the one before it", () => {
  // The server merged d1's late "not done" into its migration; d1's next "done" reached the server before the next
  // pass. d2 pulled both leaves, holding the body of neither the ancestor (the "not done" revision) nor the status
  // document's first revision, which translated the "done" before it: that older base passed for an edit the status
  // side kept since the ancestor, so d2 took the one user's "done" for a clash with its own earlier "not done".
  it("one old device's successive statuses merge on the new device as on the server, without a conflict (seed 301368)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "settle" },
      { kind: "release" },
      { kind: "device", device: "d2", app: "new" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "sync", device: "d1" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
    ], 301368);
  });
});

describe("server-lazy", () => {
  it("a device that upgraded offline sets a status on a todo an old device deleted meanwhile; its status document ends deleted on the device too (seed 108814)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "title 2" },
      { kind: "online", device: "d1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "settle" },
      { kind: "offline", device: "d3" },
      { kind: "release" },
      { kind: "upgrade", device: "d3" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "set-status", device: "d3", todo: "t1", status: "blocked" },
      { kind: "delete", device: "d1", todo: "t1" },
    ], 108814);
  });
});
