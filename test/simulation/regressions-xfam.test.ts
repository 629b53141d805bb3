/**
 * Helper xfam's classes of failure (issue 16) in the client-side transformers, as minimal scripts (seeds of
 * `npm run simulate -- --runs 2000 --seed 80000`, shrunk with `--minimize`). Each failed before its fix; they run
 * in the fast in-process world with the same invariants and caveats as compare.
 */
import { describe, it } from "vitest";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { useRegressionEnv } from "./holds.js";

const { holds } = useRegressionEnv();

describe("an edit of what the other version cannot show is not translated back over that version's concurrent edit", () => {
  it("client-transformer-documents: a group set twice on 3.0 and a 1.0 title edit made on the translation before them; the title is kept with the group, without a conflict", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "release" },
      { kind: "create", device: "d1", todo: "t2", title: "title 3" },
      { kind: "upgrade", device: "d1" },
      { kind: "set-new-field", device: "d1", todo: "t2", value: "group 0" },
      { kind: "device", device: "d2", app: "new" },
      { kind: "create", device: "d2", todo: "t3", title: "title 13" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "offline", device: "d3" },
      { kind: "device", device: "d4", app: "old" },
      { kind: "set-new-field", device: "d1", todo: "t2", value: "group 2" },
      { kind: "settle" },
      { kind: "edit-title", device: "d4", todo: "t2", title: "title 79" },
    ];
    await holds("client-transformer-documents", events, 81730);
  });

  it("client-transformer-documents: a group set on 3.0 by a re-installed device, then a 1.0 title edit on the old translation", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "create", device: "d1", todo: "t1", title: "title 1" },
      { kind: "settle" },
      { kind: "release" },
      { kind: "reinstall", device: "d1" },
      { kind: "create", device: "d1", todo: "t2", title: "title 6" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "create", device: "d3", todo: "t3", title: "title 48" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
      { kind: "settle" },
      { kind: "set-new-field", device: "d1", todo: "t3", value: "group 0" },
      { kind: "settle" },
      { kind: "edit-title", device: "d3", todo: "t3", title: "title 85" },
    ];
    await holds("client-transformer-documents", events, 81803);
  });
});

describe("an edit back to what the transformer wrote is an edit", () => {
  it("client-transformer-*: done then not done on 3.0 while an offline 1.0 device had set done and edits the title; \"not done\" stays on a revision", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "settle" },
      { kind: "create", device: "d1", todo: "t1", title: "title 6" },
      { kind: "sync", device: "d1" },
      { kind: "sync", device: "d2" },
      { kind: "settle" },
      { kind: "settle" },
      { kind: "set-done", device: "d2", todo: "t1", done: true },
      { kind: "release" },
      { kind: "device", device: "d3", app: "new" },
      { kind: "offline", device: "d2" },
      { kind: "create", device: "d3", todo: "t2", title: "title 54" },
      { kind: "reinstall", device: "d1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d2", todo: "t1", title: "title 77" },
      { kind: "set-done", device: "d1", todo: "t1", done: true },
      { kind: "edit-title", device: "d3", todo: "t1", title: "title 103" },
      { kind: "set-done", device: "d1", todo: "t1", done: false },
    ];
    await holds("client-transformer-documents", events, 80523);
    await holds("client-transformer-database", events, 80523);
  });
});

describe("a source edited on an older translation did not see the target's edit", () => {
  it("client-transformer-*: a 1.0 title edit, upgraded offline, meets the group another device set on 3.0 on the translation before it; both are kept", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "create", device: "d2", todo: "t2", title: "title 6" },
      { kind: "create", device: "d1", todo: "t3", title: "title 8" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "release" },
      { kind: "settle" },
      { kind: "upgrade", device: "d2" },
      { kind: "set-new-field", device: "d2", todo: "t3", value: "group 1" },
      { kind: "settle" },
      { kind: "edit-title", device: "d3", todo: "t3", title: "title 64" },
      { kind: "offline", device: "d3" },
      { kind: "upgrade", device: "d3" },
    ];
    await holds("client-transformer-documents", events, 81305);
    await holds("client-transformer-database", events, 81305);
  });
});

describe("an edit of a translation rebuilt without its base is merged onto the document it was translated from", () => {
  it("client-transformer-*: a todo created and grouped on 3.0 reached an old device as 1.0 only; upgraded offline, the device edits the title; title and group are kept, without a conflict", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "create", device: "d1", todo: "t3", title: "title 33" },
      { kind: "set-new-field", device: "d1", todo: "t3", value: "group 1" },
      { kind: "settle" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
      { kind: "edit-title", device: "d2", todo: "t3", title: "title 99" },
    ];
    await holds("client-transformer-documents", events, 11027);
    await holds("client-transformer-database", events, 11027);
  });
});

describe("a device that upgraded offline reads and edits what it holds only as the old version's translation", () => {
  it("client-lazy-*: a todo created on 3.0 reached an old device as 1.0 only; upgraded offline, the device marks it not done", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "create", device: "d1", todo: "t3", title: "title 33" },
      { kind: "settle" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
      { kind: "set-done", device: "d2", todo: "t3", done: false },
    ];
    await holds("client-lazy-documents", events, 11027);
    await holds("client-lazy-database", events, 11027);
  });

  it("client-lazy-*: the same todo grouped on 3.0 first; the offline-upgraded device edits its title; title and group are kept, without a conflict", async () => {
    const events: ScenarioEvent[] = [
      { kind: "device", device: "d1", app: "old" },
      { kind: "device", device: "d2", app: "old" },
      { kind: "release" },
      { kind: "upgrade", device: "d1" },
      { kind: "create", device: "d1", todo: "t3", title: "title 33" },
      { kind: "set-new-field", device: "d1", todo: "t3", value: "group 1" },
      { kind: "settle" },
      { kind: "offline", device: "d2" },
      { kind: "upgrade", device: "d2" },
      { kind: "edit-title", device: "d2", todo: "t3", title: "title 99" },
    ];
    await holds("client-lazy-documents", events, 11027);
    await holds("client-lazy-database", events, 11027);
  });
});
