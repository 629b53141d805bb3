/**
 * The examples of each class of failure the simulation found (issue 16), as minimal scripts. Each failed
 * before its fix; they run in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, expect, it } from "vitest";
import { firstIllegal } from "../../examples/todo-app/simulate/script.js";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { createStrategy } from "../../examples/strategies.js";
import { World } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds, env } = useRegressionEnv();

describe("deletes are not undone", () => {
  it("amended: an old device deletes a todo the server has just migrated in place, before it syncs", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "delete", device: "d1", todo: "t1" },
    ]);
  });

  it("amended: an old device edits, then deletes a todo the server migrated meanwhile", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t2", title: "title 4" },
      { kind: "sync", device: "d1" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t2", title: "title 13" },
      { kind: "delete", device: "d1", todo: "t2" },
    ]);
  });
});

describe("an upgraded device reads its data", () => {
  it("amended: a device that upgrades online edits a todo it wrote before the release and had not pushed", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 2" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
    ]);
  });
});

describe("an offline upgrade keeps unpushed data", () => {
  it("per-version-database: a device writes offline, then upgrades while still offline; its create and edit reach the server", async () => {
    await holds("per-version-database", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "buy oat milk" },
      { kind: "create", device: "d1", todo: "t2", title: "call the bank" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "online", device: "d1" },
    ]);
  });

  it("per-version-database: what an old device pushes after the old app was retired still reaches the new app", async () => {
    await holds("per-version-database", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d2", todo: "t1", title: "title 3" },
      { kind: "release" },
      { kind: "retire" },
      { kind: "upgrade", device: "d1" },
    ]);
  });
});

describe("lazy client transformers: what an app does to a todo no new app translated yet sticks", () => {
  for (const strategy of ["client-lazy-documents", "client-lazy-database"]) {
    it(`${strategy}: an upgraded phone deletes a todo it created with the old app; it stays deleted everywhere`, async () => {
      await holds(strategy, [
        { kind: "device", device: "phone", app: "old" },
        { kind: "create", device: "phone", todo: "t1", title: "buy milk" },
        { kind: "release" },
        { kind: "upgrade", device: "phone" },
        { kind: "delete", device: "phone", todo: "t1" },
      ]);
    });

    it(`${strategy}: done with the old app, upgraded, not done with the new app; "not done" reaches every replica`, async () => {
      await holds(strategy, [
        { kind: "device", device: "tablet", app: "old" },
        { kind: "create", device: "tablet", todo: "t1", title: "buy milk" },
        { kind: "release" },
        { kind: "set-done", device: "tablet", todo: "t1", done: true },
        { kind: "upgrade", device: "tablet" },
        { kind: "set-done", device: "tablet", todo: "t1", done: false },
      ]);
    });

    it(`${strategy}: two old edits, an upgrade, a new-app edit of the same field: no conflict, the last edit everywhere`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d2", app: "old" },
        { kind: "release" },
        { kind: "create", device: "d2", todo: "t1", title: "title 5" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 9" },
        { kind: "upgrade", device: "d2" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 21" },
      ], 19);
    });
  }
});

describe("retiring the old app loses nothing no new app translated yet", () => {
  const strategies = ["per-version-documents", "client-transformer-documents", "client-transformer-database", "client-lazy-documents", "client-lazy-database"];
  for (const strategy of strategies) {
    it(`${strategy}: a todo only the old app wrote is read by a new-app device that joins after the retirement`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "release" },
        { kind: "retire" },
        { kind: "device", device: "d3", app: "new" },
      ], 35);
    });

    it(`${strategy}: an old device upgrades after the retirement and deletes its todo; it stays deleted`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d2", todo: "t1", title: "title 3" },
        { kind: "release" },
        { kind: "retire" },
        { kind: "upgrade", device: "d2" },
        { kind: "delete", device: "d2", todo: "t1" },
      ], 12);
    });
  }

  it("per-version-documents: an old device offline across the retirement pushes its edit and deletion afterwards", async () => {
    await holds("per-version-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "create", device: "d1", todo: "t2", title: "title 2" },
      { kind: "release" },
      { kind: "device", device: "d2", app: "new" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 3" },
      { kind: "delete", device: "d1", todo: "t2" },
      { kind: "retire" },
      { kind: "settle" },
      { kind: "online", device: "d1" },
    ]);
  });
});

describe("a device that installs the new app offline reads and edits its data", () => {
  it("per-version-documents: release, create offline, upgrade offline, set the status: the new app edits the todo before it syncs", async () => {
    await holds("per-version-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "release" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-status", device: "d1", todo: "t1", status: "blocked" },
    ]);
  });

  it("per-version-documents: a device that upgraded offline does not keep stale old-version documents", async () => {
    await holds("per-version-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t2", title: "title 7" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t2", title: "title 28" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
    ]);
  });
});

describe("client transformers: translations made on several devices meet without conflicts", () => {
  for (const strategy of ["client-transformer-documents", "client-transformer-database"]) {
    it(`${strategy}: two devices back-fill the same todo from different source revisions`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "offline", device: "d2" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "buy oat milk" },
        { kind: "sync", device: "d1" },
        { kind: "upgrade", device: "d1" },
        { kind: "upgrade", device: "d2" },
        { kind: "online", device: "d2" },
      ]);
    });

    it(`${strategy}: a device that only received the old version of a new-app todo edits it with the old app and upgrades offline`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "offline", device: "d1" },
        { kind: "release" },
        { kind: "device", device: "d2", app: "new" },
        { kind: "create", device: "d2", todo: "t5", title: "title 22" },
        { kind: "online", device: "d1" },
        { kind: "settle" },
        { kind: "edit-title", device: "d1", todo: "t5", title: "title 32" },
        { kind: "offline", device: "d1" },
        { kind: "upgrade", device: "d1" },
      ]);
    });

    it(`${strategy}: a new device edits a todo right after the sync that brought it`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "sync", device: "d3" },
        { kind: "set-new-field", device: "d3", todo: "t1", value: "group 2" },
      ]);
    });
  }

  it("client-transformer-documents: an old-app delete of a todo created on a new-app device is not undone when an offline upgraded device syncs", async () => {
    await holds("client-transformer-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "create", device: "d3", todo: "t1", title: "buy milk" },
      { kind: "settle" },
      { kind: "offline", device: "d2" },
      { kind: "delete", device: "d1", todo: "t1" },
      { kind: "settle" },
      { kind: "upgrade", device: "d2" },
      { kind: "online", device: "d2" },
    ]);
  });
});

describe("per-version-database: an offline upgrade keeps the device's data readable and editable", () => {
  it("per-version-database: release, create offline, upgrade offline, set the status: the new app edits the todo before it syncs", async () => {
    await holds("per-version-database", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "release" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-status", device: "d1", todo: "t1", status: "blocked" },
    ], 1, true);
  });
});

describe("server-lazy: concurrent edits and offline upgrades through the translating proxy", () => {
  it("server-lazy: release, create offline, upgrade offline, set the status: the new app edits the todo before it syncs", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "release" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-status", device: "d1", todo: "t1", status: "blocked" },
    ]);
  });

  it("server-lazy: an old device deletes a todo while a device upgraded offline marks it done; no half-deleted todo", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t2", title: "title 12" },
      { kind: "release" },
      { kind: "create", device: "d2", todo: "t4", title: "title 30" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "upgrade", device: "d1" },
      { kind: "delete", device: "d2", todo: "t4" },
      { kind: "set-done", device: "d1", todo: "t4", done: true },
      { kind: "create", device: "d1", todo: "t5", title: "title 96" },
    ], 50191);
  });

  it("server-lazy: an upgraded device deletes a todo while a device upgraded offline marks it done; the todo ends deleted everywhere", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t2", title: "title 12" },
      { kind: "release" },
      { kind: "create", device: "d2", todo: "t4", title: "title 30" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "upgrade", device: "d2" },
      { kind: "upgrade", device: "d1" },
      { kind: "delete", device: "d2", todo: "t4" },
      { kind: "set-done", device: "d1", todo: "t4", done: true },
      { kind: "create", device: "d1", todo: "t5", title: "title 96" },
    ], 50191);
  });

  it("server-lazy: two old devices edit different fields of a todo concurrently; both edits are kept", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 4" },
      { kind: "settle" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 23" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
    ], 50);
  });

  it("server-lazy: an old and a new device edit the same field concurrently; both values stay on the server", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "upgrade", device: "d1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 121" },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 131" },
    ], 20);
  });

  it("server-lazy: a device that upgraded offline edits a title another device edits too; both values stay on the server", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 4" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "release" },
      { kind: "settle" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 83" },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 93" },
    ], 55);
  });

  it("server-lazy: an edit back to a value the proxy served before reaches the device that holds that older revision", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "device", device: "d4", app: "old" },
      { kind: "settle" },
      { kind: "set-done", device: "d4", todo: "t1", done: false },
      { kind: "set-done", device: "d4", todo: "t1", done: true },
    ], 88);
  });

  it("server-lazy: a merged concurrent edit that changes nothing stored still reaches the device whose branch it continues", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "device", device: "d4", app: "old" },
      { kind: "settle" },
      { kind: "set-done", device: "d4", todo: "t1", done: false },
      { kind: "set-done", device: "d4", todo: "t1", done: true },
      { kind: "create", device: "d1", todo: "t5", title: "title 151" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 162" },
    ], 88);
  });

  it("server-lazy: two devices upgrade, one sets done then not done, the other edits from an older proxy revision", async () => {
    await holds("server-lazy", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "upgrade", device: "d2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "sync", device: "d1" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
      { kind: "sync", device: "d1" },
      { kind: "sync", device: "d2" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "buy oat milk" },
    ]);
  });
});

describe("in-place migrations meet concurrent edits: both edits are kept (or kept in conflict), never dropped", () => {
  it("client-side: done on an offline 1.0 device, blocked on an upgraded one: both statuses stay on the server", async () => {
    await holds("client-side", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "upgrade", device: "d2" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "settle" },
      { kind: "set-status", device: "d2", todo: "t1", status: "blocked" },
    ]);
  });

  it("amended: an old device edits a todo twice across one merge of its first edit; the second edit builds on the first, no conflict", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 2" },
      { kind: "sync", device: "d1" },
      { kind: "release" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 63" },
      { kind: "sync", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 96" },
    ], 7096);
  });

  it("amended: two new apps edit a title concurrently while an offline 1.0 device sets done; no title is dropped by the merge", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 7" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "offline", device: "d1" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "settle" },
      { kind: "upgrade", device: "d2" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 121" },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 131" },
    ], 20);
  });

  it("client-side: an old device deletes a todo another device migrated meanwhile; it stays deleted", async () => {
    await holds("client-side", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "offline", device: "d1" },
      { kind: "online", device: "d1" },
      { kind: "release" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "settle" },
      { kind: "delete", device: "d2", todo: "t1" },
      { kind: "upgrade", device: "d1" },
    ], 4);
  });

  it("client-side: a device migrates an old revision another device had already edited and migrated; one revision, no conflict", async () => {
    await holds("client-side", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "release" },
      { kind: "create", device: "d1", todo: "t3", title: "title 16" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "sync", device: "d1" },
      { kind: "set-done", device: "d1", todo: "t3", done: true },
      { kind: "upgrade", device: "d1" },
    ], 17);
  });
});

describe("amended: a device that installs the new app offline reads and edits its data before it syncs", () => {
  it("amended: an offline 1.0 edit, an offline upgrade and a new-app edit; everything meets the server's migration without loss", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "create", device: "d1", todo: "t2", title: "call the bank" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "release" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "upgrade", device: "d1" },
      { kind: "set-status", device: "d1", todo: "t2", status: "blocked" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "buy oat milk" },
    ]);
  });

  it("amended: release, create offline, upgrade offline, set the status", async () => {
    await holds("amended", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "release" },
      { kind: "offline", device: "d1" },
      { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-status", device: "d1", todo: "t1", status: "blocked" },
    ]);
  });
});

describe("transactional: what the locked database refuses is reported and kept, never dropped", () => {
  for (const strategy of ["transactional", "transactional-online"]) {
    it(`${strategy}: an old device edits and deletes after the switch; both are kept as refused writes, and its upgrade carries them into the new database`, async () => {
      const world = await World.create({ strategy: createStrategy(strategy), scenario: "refused writes", seed: 1, transport: "memory", registry: env().registry, apps: env().apps });
      try {
        await world.play([
          { kind: "device", device: "d1", app: "old" },
          { kind: "create", device: "d1", todo: "t1", title: "buy milk" },
          { kind: "create", device: "d1", todo: "t2", title: "call the bank" },
          { kind: "settle" },
          { kind: "release" },
          { kind: "edit-title", device: "d1", todo: "t1", title: "buy oat milk" },
          { kind: "delete", device: "d1", todo: "t2" },
          { kind: "sync", device: "d1" },
        ]);
        const t1 = world.model.idOf("t1")!;
        const t2 = world.model.idOf("t2")!;
        const refused = await world.strategy.refusedWrites!(world.server);
        const local = world.devices.get("d1")!.binding.store;
        for (const id of [`todo-item:${t1}`, `todo-item:${t2}`]) {
          const rev = (await local.changes({})).results.find((c) => c.id === id)?.changes[0]?.rev;
          expect(refused.filter((r) => r.id === id).flatMap((r) => r.history), id).toContain(rev);
        }
        await world.play([{ kind: "upgrade", device: "d1" }, { kind: "settle" }]);
        const next = await world.server.open("-v3");
        expect((await next.get(`todo-item:${t1}`))["title"]).toBe("buy oat milk");
        const gone = await next.bulkGet([{ id: `todo-item:${t2}` }, { id: `todo-item-status:${t2}` }]);
        expect(gone.map((r) => ("ok" in r ? r.ok._deleted === true : true))).toEqual([true, true]);
      } finally {
        await world.close();
      }
    });

    it(`${strategy}: a todo deleted with the new app after the switch does not live on in the old database`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "d1" },
        { kind: "delete", device: "d1", todo: "t1" },
      ], 7018);
    });

    it(`${strategy}: a device that upgrades online edits a todo another new-app device created after the switch`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "release" },
        { kind: "upgrade", device: "d1" },
        { kind: "create", device: "d1", todo: "t3", title: "title 20" },
        { kind: "settle" },
        { kind: "upgrade", device: "d2" },
        { kind: "set-status", device: "d2", todo: "t3", status: "active" },
      ], 7039);
    });

    it(`${strategy}: a device that had not heard of a deletion made before the switch upgrades; the todo stays deleted`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "offline", device: "d1" },
        { kind: "create", device: "d1", todo: "t2", title: "title 6" },
        { kind: "online", device: "d1" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "offline", device: "d1" },
        { kind: "online", device: "d1" },
        { kind: "delete", device: "d1", todo: "t2" },
        { kind: "sync", device: "d1" },
        { kind: "release" },
        { kind: "upgrade", device: "d2" },
      ], 11023);
    });

    it(`${strategy}: an old device deletes after the switch and upgrades before it syncs; the todo stays deleted`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t2", title: "title 2" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "delete", device: "d1", todo: "t2" },
        { kind: "upgrade", device: "d1" },
      ], 20);
    });

    it(`${strategy}: two upgraded devices, one deletes a todo while the other edits its title; no half-deleted todo`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t2", title: "title 2" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "d1" },
        { kind: "upgrade", device: "d2" },
        { kind: "delete", device: "d2", todo: "t2" },
        { kind: "edit-title", device: "d1", todo: "t2", title: "title 51" },
      ], 50004);
    });

    it(`${strategy}: a device with a stale copy of a todo (offline while another marked it done) upgrades offline; no conflict`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d2", todo: "t2", title: "title 6" },
        { kind: "settle" },
        { kind: "offline", device: "d1" },
        { kind: "set-done", device: "d2", todo: "t2", done: true },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "d1" },
      ], 50189);
    });

    it(`${strategy}: a new-app device pushes the first document of a todo whose late create the locked database refused (it never received it)`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "release" },
        { kind: "device", device: "d2", app: "new" },
        { kind: "settle" },
        { kind: "push-first-document", device: "d2", todo: "t1" },
      ], 20006);
    });
  }
});

describe("lazy client transformers: a deletion by the old app ends the todo in the new version too", () => {
  for (const strategy of ["client-lazy-documents", "client-lazy-database"]) {
    it(`${strategy}: a new-app device creates a todo, an old device deletes it; it stays deleted everywhere`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "release" },
        { kind: "upgrade", device: "d1" },
        { kind: "create", device: "d1", todo: "t4", title: "title 59" },
        { kind: "settle" },
        { kind: "delete", device: "d2", todo: "t4" },
      ], 1069);
    });
  }
});

describe("a deletion wins over a concurrent edit of a translation: no half-deleted todo", () => {
  for (const strategy of ["per-version-documents", "per-version-database"]) {
    it(`${strategy}: an old device deletes a todo, a device upgraded offline edits its translation; the todo ends deleted everywhere or whole`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "title 1" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "delete", device: "d1", todo: "t1" },
        { kind: "create", device: "d1", todo: "t2", title: "title 6" },
        { kind: "offline", device: "d1" },
        { kind: "create", device: "d1", todo: "t3", title: "title 10" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "upgrade", device: "d2" },
        { kind: "settle" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 39" },
        { kind: "create", device: "d1", todo: "t9", title: "title 120" },
      ], 1232);
    });
  }
});

describe("client-side: an updated device reads and edits what old devices wrote", () => {
  it("client-side: two old devices edit a todo concurrently; its two old leaves are migrated as a conflict the new app reads", async () => {
    await holds("client-side", [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d2", todo: "t1", title: "title 3" },
        { kind: "settle" },
        { kind: "edit-title", device: "d1", todo: "t1", title: "title 9" },
        { kind: "device", device: "d3", app: "old" },
        { kind: "offline", device: "d2" },
        { kind: "create", device: "d2", todo: "t2", title: "title 24" },
        { kind: "release" },
        { kind: "settle" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 43" },
        { kind: "device", device: "d4", app: "new" },
        { kind: "offline", device: "d4" },
        { kind: "create", device: "d3", todo: "t3", title: "title 72" },
        { kind: "settle" },
      ], 7052);
  });

  it("client-side: an updated device edits todos an old device wrote right after the sync that brought them", async () => {
    await holds("client-side", [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "sync", device: "d1" },
        { kind: "create", device: "d2", todo: "t1", title: "title 5" },
        { kind: "create", device: "d2", todo: "t2", title: "title 8" },
        { kind: "sync", device: "d2" },
        { kind: "create", device: "d1", todo: "t3", title: "title 14" },
        { kind: "offline", device: "d1" },
        { kind: "settle" },
        { kind: "delete", device: "d2", todo: "t1" },
        { kind: "release" },
        { kind: "offline", device: "d2" },
        { kind: "settle" },
        { kind: "set-done", device: "d1", todo: "t3", done: false },
        { kind: "device", device: "d3", app: "new" },
        { kind: "abandon", device: "d3" },
        { kind: "device", device: "d4", app: "new" },
        { kind: "sync", device: "d4" },
        { kind: "upgrade", device: "d1" },
        { kind: "upgrade", device: "d2" },
        { kind: "create", device: "d1", todo: "t4", title: "title 74" },
        { kind: "set-status", device: "d4", todo: "t2", status: "rejected" },
        { kind: "set-done", device: "d4", todo: "t1", done: false },
        { kind: "sync", device: "d4" },
        { kind: "create", device: "d2", todo: "t5", title: "title 100" },
        { kind: "set-new-field", device: "d2", todo: "t2", value: "group 2" },
        { kind: "delete", device: "d2", todo: "t5" },
      ], 7098);
  });
});

describe("the generator draws only edits a device can make", () => {
  it("a device that synced after another pushed a todo's deletion edits it no more (it may have received the deletion; seed 50037)", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "delete", device: "d1", todo: "t1" },
      { kind: "sync", device: "d1" },
      { kind: "sync", device: "d2" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
    ];
    expect(firstIllegal(events)).toEqual({ index: 7, reason: "the device has not received t1" });
    // without the sync that may bring the deletion, the edit is concurrent with it, and legal
    await holds("live-adapter", events.filter((_e, i) => i !== 6), 50037);
  });
});

describe("an edit back to a translation's content is an edit, not transformer output", () => {
  for (const strategy of ["per-version-database", "per-version-documents", "client-transformer-documents", "client-transformer-database"]) {
    it(`${strategy}: a new app marks a todo done, another new app undoes it; the old app reads it not done`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "device", device: "d3", app: "old" },
        { kind: "release" },
        { kind: "create", device: "d1", todo: "t2", title: "title 18" },
        { kind: "upgrade", device: "d1" },
        { kind: "upgrade", device: "d2" },
        { kind: "set-done", device: "d1", todo: "t2", done: true },
        { kind: "settle" },
        { kind: "set-done", device: "d2", todo: "t2", done: false },
      ], 7026);
    });
  }
});

describe("an old edit of a todo whose new-version edit changed nothing the old version shows is no conflict", () => {
  for (const strategy of ["client-transformer-database", "client-transformer-documents"]) {
    it(`${strategy}: a new app sets a group, an old app then edits the title; a device that joins later keeps both`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "release" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "upgrade", device: "d1" },
        { kind: "create", device: "d1", todo: "t3", title: "title 19" },
        { kind: "set-new-field", device: "d1", todo: "t3", value: "group 0" },
        { kind: "settle" },
        { kind: "edit-title", device: "d2", todo: "t3", title: "title 23" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "abandon", device: "d1" },
      ], 7099);
    });
  }
});

describe("a new-version edit the old version cannot show does not conflict with later old edits (a re-installed device holds no ancestors)", () => {
  it("client-transformer-documents: a new app sets a group, an old app edits the title; a re-installed new device keeps both", async () => {
    await holds("client-transformer-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "set-new-field", device: "d1", todo: "t1", value: "group 1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 18" },
      { kind: "reinstall", device: "d1" },
      { kind: "set-done", device: "d3", todo: "t1", done: true },
    ], 1003);
  });

  it("client-lazy-documents: an old title edit concurrent with new-app group edits, then another title edit; the re-installed device reads the last title", async () => {
    await holds("client-lazy-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "offline", device: "d2" },
      { kind: "create", device: "d2", todo: "t1", title: "title 5" },
      { kind: "online", device: "d2" },
      { kind: "create", device: "d2", todo: "t2", title: "title 16" },
      { kind: "release" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "settle" },
      { kind: "reinstall", device: "d2" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 39" },
      { kind: "set-new-field", device: "d3", todo: "t1", value: "group 0" },
      { kind: "set-new-field", device: "d3", todo: "t1", value: "group 1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d1", todo: "t1", title: "title 86" },
    ], 1246);
  });
});

describe("translations of two revisions of one old document meet: the newer one wins, the old app reads the new app's edit", () => {
  it("per-version-documents: done offline with the old app, upgrade offline, title edited with the new app; done and the title reach every app", async () => {
    await holds("per-version-documents", [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "create", device: "d1", todo: "t2", title: "title 4" },
      { kind: "create", device: "d1", todo: "t3", title: "title 6" },
      { kind: "settle" },
      { kind: "offline", device: "d1" },
      { kind: "release" },
      { kind: "set-done", device: "d1", todo: "t3", done: true },
      { kind: "upgrade", device: "d1" },
      { kind: "edit-title", device: "d1", todo: "t3", title: "title 37" },
    ], 11018);
  });
});

describe("client transformers: the winning branch of a concurrent edit is not ended as a stale translation", () => {
  for (const strategy of ["client-transformer-documents", "client-transformer-database"]) {
    it(`${strategy}: an old title edit concurrent with a new-app done, then a group; the title stays on the server`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d1", app: "old" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "create", device: "d2", todo: "t1", title: "title 3" },
        { kind: "release" },
        { kind: "create", device: "d2", todo: "t2", title: "title 10" },
        { kind: "device", device: "d3", app: "new" },
        { kind: "device", device: "d4", app: "old" },
        { kind: "offline", device: "d4" },
        { kind: "settle" },
        { kind: "set-new-field", device: "d3", todo: "t2", value: "group 0" },
        { kind: "settle" },
        { kind: "upgrade", device: "d1" },
        { kind: "edit-title", device: "d2", todo: "t1", title: "title 58" },
        { kind: "set-done", device: "d3", todo: "t1", done: true },
        { kind: "sync", device: "d3" },
        { kind: "set-new-field", device: "d3", todo: "t1", value: "group 2" },
        { kind: "settle" },
      ], 40065);
    });
  }
});

describe("a status the old version cannot show is still an edit of the status", () => {
  for (const strategy of ["client-transformer-database", "client-transformer-documents"]) {
    it(`${strategy}: an old app marks a todo done while a new app blocks it; "blocked" stays on a server revision`, async () => {
      await holds(strategy, [
        { kind: "device", device: "d2", app: "old" },
        { kind: "release" },
        { kind: "create", device: "d2", todo: "t4", title: "title 34" },
        { kind: "device", device: "d4", app: "new" },
        { kind: "settle" },
        { kind: "set-done", device: "d2", todo: "t4", done: true },
        { kind: "set-status", device: "d4", todo: "t4", status: "blocked" },
      ], 60099);
    });
  }
});
