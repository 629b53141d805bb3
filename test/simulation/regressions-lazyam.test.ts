/**
 * The minimal scripts of the classes of failure fresh seeds (80000–81999) found in `server-lazy` and `amended`
 * (issue 16). Each failed before its fix; they run in the fast in-process world with the same invariants and
 * caveats as compare.
 */
import { describe, it } from "vitest";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("server-lazy", () => {
  it("an edit the new app made offline, before the new version's documents arrived, reaches the server in the sync that brings them (seed 81525)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t2", title: "title 6" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-status", device: "d1", todo: "t2", status: "blocked" },
      { kind: "online", device: "d1" },
      { kind: "sync", device: "d1" },
      { kind: "abandon", device: "d1" },
    ], 81525);
  });

  it("an old app's done does not silently overwrite a concurrent status the old version cannot show (seed 81951)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 3" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "settle" },
      { kind: "offline", device: "d2" },
      { kind: "set-done", device: "d3", todo: "t1", done: true },
      { kind: "create", device: "d1", todo: "t4", title: "title 76" },
      { kind: "online", device: "d2" },
      { kind: "create", device: "d3", todo: "t5", title: "title 96" },
      { kind: "release" },
      { kind: "upgrade", device: "d2" },
      { kind: "set-status", device: "d2", todo: "t1", status: "rejected" },
    ], 81951);
  });

  it("an offline-upgraded device's edit to the value another device set since it read the document stays a concurrent edit, not lost to that device's later undo (seed 501473)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "create", device: "d1", todo: "t2", title: "title 4" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "sync", device: "d2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "offline", device: "d2" },
      { kind: "sync", device: "d1" },
      { kind: "release" },
      { kind: "upgrade", device: "d2" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "create", device: "d2", todo: "t5", title: "title 70" },
    ], 501473);
  });

  it("two old devices that made the same first edit and then went on apart converge with the proxy when the revision they share was never served (seed 600536)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "settle" },
      { kind: "set-done", device: "d3", todo: "t1", done: true },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 43" },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 61" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
    ], 600536);
  });

  it("a device that upgraded offline sets a group the old app it synced could not show: the group set before that sync is no concurrent edit (seed 601790)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d2", todo: "t1", title: "title 5" },
      { kind: "release" },
      { kind: "upgrade", device: "d2" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "set-new-field", device: "d2", todo: "t1", value: "group 1" },
      { kind: "settle" },
      { kind: "offline", device: "d3" },
      { kind: "upgrade", device: "d3" },
      { kind: "set-new-field", device: "d3", todo: "t1", value: "group 2" },
    ], 601790);
  });

  it("an offline-upgraded device's status, set to what another device set meanwhile, converges with the proxy (seed 640097)", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 2" },
      { kind: "create", device: "d1", todo: "t2", title: "title 4" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "sync", device: "d1" },
      { kind: "offline", device: "d1" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "device", device: "d4", app: "old" },
      { kind: "settle" },
      { kind: "set-done", device: "d2", todo: "t2", done: true },
      { kind: "create", device: "d4", todo: "t5", title: "title 128" },
      { kind: "set-status", device: "d1", todo: "t2", status: "done" },
    ], 640097);
  });
});

describe("amended", () => {
  it("a new-app device edits an old app's late write it pulled before the server migrated it (seed 81643)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "sync", device: "d2" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 11" },
      { kind: "release" },
      { kind: "device", device: "d4", app: "new" },
      { kind: "sync", device: "d2" },
      { kind: "sync", device: "d4" },
      { kind: "edit-title", device: "d4", todo: "t1", title: "title 85" },
    ], 81643);
  });

  it("a re-installed device edits a todo an old device edited after the migration and pushed (seed 81387)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 2" },
      { kind: "create", device: "d1", todo: "t2", title: "title 3" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t2", title: "title 10" },
      { kind: "sync", device: "d1" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "reinstall", device: "d3" },
      { kind: "sync", device: "d3" },
      { kind: "set-new-field", device: "d3", todo: "t2", value: "group 0" },
    ], 81387);
  });

  it("a new-app device that joined after the release leaves merging an old edit to the server, which holds the revision both grew from (seed 91148)", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "sync", device: "d3" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 109" },
    ], 91148);
  });
});
