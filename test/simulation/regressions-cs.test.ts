/**
 * More classes of `client-side` failures fresh seeds found (issue 16, seeds 100000 on), as minimal scripts. Each
 * failed before its fix; they run in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("client-side: replicas that merged the same migration conflict in different orders agree", () => {
  it("one device merged the old edit into the other's migration, the other merged it the other way and its user set the status since: the later status wins, no conflict is left (seed 101082)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d2", app: "old" },
        { kind: "device", device: "d3", app: "old" },
        { kind: "release" },
        { kind: "create", device: "d2", todo: "t1", title: "title 8" },
        { kind: "sync", device: "d2" },
        { kind: "set-done", device: "d2", todo: "t1", done: true },
        { kind: "upgrade", device: "d3" },
        { kind: "upgrade", device: "d2" },
        { kind: "sync", device: "d3" },
        { kind: "sync", device: "d2" },
        { kind: "sync", device: "d3" },
        { kind: "set-done", device: "d2", todo: "t1", done: false },
      ],
      101082,
    );
  });
});

describe("client-side: a device that holds a migrated todo without the status document it split off writes that document itself", () => {
  const events = (status: "active" | "blocked") =>
    [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "push-first-document", device: "d1", todo: "t1" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "sync", device: "d3" },
      { kind: "set-status", device: "d3", todo: "t1", status },
    ] as const;

  it("a device migrates a todo and pushes only its todo-item@3; a new device then sets the status, and the migrating device's status document arrives as the same revision (seed 81146)", async () => {
    await holds("client-side", [...events("active")], 81146);
  });

  it("the same with a status the migration did not give: the new device's edit builds on the status revision the migration wrote", async () => {
    await holds("client-side", [...events("blocked")], 81146);
  });

  it("a new-app device that joined migrates what it pulled and pushes only a todo-item@3; another sets its group (seed 100595; the old app not reading migrated todos is the old-app-after-release caveat)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "offline", device: "d1" },
        { kind: "create", device: "d1", todo: "t1", title: "title 2" },
        { kind: "online", device: "d1" },
        { kind: "release" },
        { kind: "settle" },
        { kind: "device", device: "d2", app: "new" },
        { kind: "sync", device: "d2" },
        { kind: "device", device: "d4", app: "new" },
        { kind: "push-first-document", device: "d2", todo: "t1" },
        { kind: "sync", device: "d4" },
        { kind: "set-new-field", device: "d4", todo: "t1", value: "group 0" },
      ],
      100595,
    );
  });
});

describe("client-side: an old app merges its own edit into a migration when no updated device syncs again", () => {
  it("the only updated device migrated a todo an old device then set done, and is never used again: the old device merges its edit, no conflict is left (seed 81805)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d3", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 7" },
        { kind: "device", device: "d4", app: "old" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "d4" },
        { kind: "set-done", device: "d3", todo: "t1", done: true },
        { kind: "sync", device: "d4" },
        { kind: "abandon", device: "d4" },
      ],
      81805,
    );
  });

  it("an old device's offline title edit meets the migration of the only updated device, which is abandoned: the title is on the server's winning revision (seed 100405)", async () => {
    await holds(
      "client-side",
      [
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d2", todo: "t2", title: "title 11" },
        { kind: "release" },
        { kind: "offline", device: "d2" },
        { kind: "device", device: "d4", app: "old" },
        { kind: "online", device: "d2" },
        { kind: "upgrade", device: "d4" },
        { kind: "sync", device: "d2" },
        { kind: "offline", device: "d2" },
        { kind: "edit-title", device: "d2", todo: "t2", title: "title 134" },
        { kind: "settle" },
        { kind: "abandon", device: "d4" },
      ],
      100405,
    );
  });
});
