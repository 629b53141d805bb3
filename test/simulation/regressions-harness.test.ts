/**
 * Minimal scripts of two classes of fresh seeds (issue 16) that were the harness's to judge, not the strategies' to
 * fix: what a design implies was recorded as an unexpected failure. Each minimal script failed before its caveat
 * was judged; the scripts that go on (a later sync, a later new-app device) show what users see, with no caveat.
 */
import { describe, expect, it } from "vitest";
import { caveatFor } from "../../examples/todo-app/invariants.js";
import { runScript } from "../../examples/todo-app/simulate/run.js";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { World } from "../../examples/todo-app/world.js";
import { createStrategy } from "../../examples/strategies.js";
import { useRegressionEnv } from "./holds.js";

const { holds, env } = useRegressionEnv();

/** Plays `events` in a fresh world (no final settle), hands it to `inspect`, and closes it. */
async function played(strategy: string, events: ScenarioEvent[], seed: number, inspect: (world: World) => void | Promise<void>): Promise<void> {
  const world = await World.create({ strategy: createStrategy(strategy), scenario: "regression", seed, transport: "memory", registry: env().registry, apps: env().apps });
  try {
    await world.play(events);
    await inspect(world);
  } finally {
    await world.close();
  }
}

/** Plays `events` to the end (final settle, check, invariants) and expects exactly `status`, with `expected` the invariants a caveat covered. */
async function ends(strategy: string, events: ScenarioEvent[], seed: number, status: "pass" | "expected", expected: string[] = []): Promise<void> {
  const v = await runScript(() => createStrategy(strategy), { seed, events }, env());
  expect(v.details, `${strategy}: ${v.details.join("; ")}`).toEqual([]);
  expect({ status: v.status, expected: v.expected }).toEqual({ status, expected });
}

for (const strategy of ["transactional", "transactional-online"]) {
  describe(`${strategy}: a device that joined on the old app after the switch never received what new apps wrote`, () => {
    // d3 joins on the old app after the switch and syncs with the locked old database, which never receives t3 (d2
    // wrote it in the new one); it upgrades offline, and its new app finds no t3: the old app's loss of support,
    // on the new app before it synced on it (seed 170220).
    const joinedOld: ScenarioEvent[] = [
      { kind: "release" },
      { kind: "device", device: "d2", app: "new" },
      { kind: "device", device: "d3", app: "old" },
      { kind: "create", device: "d2", todo: "t3", title: "title 42" },
      { kind: "settle" },
      { kind: "offline", device: "d3" },
      { kind: "upgrade", device: "d3" },
    ];
    const edit: ScenarioEvent = { kind: "set-new-field", device: "d3", todo: "t3", value: "group 0" };
    const synced: ScenarioEvent[] = [{ kind: "online", device: "d3" }, { kind: "sync", device: "d3" }];
    const editAgain: ScenarioEvent = { kind: "set-new-field", device: "d3", todo: "t3", value: "group 1" };

    it(`${strategy}: the offline new app cannot edit the todo it never received, as the old app's caveat predicts (seed 170220)`, async () => {
      await ends(strategy, [...joinedOld, edit], 170220, "expected", ["apps-read-their-data"]);
      await played(strategy, [...joinedOld, edit], 170220, (world) => {
        expect(world.refused.map((r) => ({ device: r.device, legacy: r.legacy }))).toEqual([{ device: "d3", legacy: true }]);
        expect(world.refused[0]!.error).toMatch(/NOT_FOUND/);
      });
    });

    it(`${strategy}: once it syncs on the new app, it edits the todo, and that edit needs no caveat`, async () => {
      await ends(strategy, [...joinedOld, edit, ...synced, editAgain], 170220, "expected", ["apps-read-their-data"]);
      await played(strategy, [...joinedOld, edit, ...synced, editAgain], 170220, (world) => {
        // Only the edit made before the sync was refused; the one after it wrote the group.
        expect(world.refused.map((r) => r.step)).toEqual([joinedOld.length + 1]);
      });
      await holds(strategy, [...joinedOld, ...synced, editAgain], 170220, true);
    });
  });
}

describe("client-side transformers: an old app's deletion once no new-app device is left", () => {
  // d3, the only new-app device, translated t2 (its own old-app todo, pushed when it upgraded) and is never seen again;
  // d2 deletes t2 on the old app. Nobody translates the deletion: the new version's documents of t2 stay on the
  // server (seed 180055). No app shows t2: a device that joins on the new app, or one reinstalled, translates it.
  const EAGER = ["client-transformer-documents", "client-transformer-database"];
  const LAZY = ["client-lazy-documents", "client-lazy-database"];
  const minimal: ScenarioEvent[] = [
    { kind: "device", device: "d2", app: "old" },
    { kind: "device", device: "d3", app: "old" },
    { kind: "create", device: "d3", todo: "t2", title: "title 13" },
    { kind: "offline", device: "d3" },
    { kind: "release" },
    { kind: "online", device: "d3" },
    { kind: "upgrade", device: "d3" },
    { kind: "settle" },
    { kind: "abandon", device: "d3" },
    { kind: "delete", device: "d2", todo: "t2" },
  ];
  // The lazy strategies write the new version only when the new app writes: d3 groups t2 before it is abandoned.
  const grouped: ScenarioEvent[] = [...minimal.slice(0, 7), { kind: "set-new-field", device: "d3", todo: "t2", value: "group 0" }, ...minimal.slice(7)];
  const scripts: [string[], ScenarioEvent[]][] = [
    [EAGER, minimal],
    [[...EAGER, ...LAZY], grouped],
  ];

  it("client-transformer-*, client-lazy-*: the new version's documents stay on the server, as the caveat predicts (seed 180055)", async () => {
    for (const [strategies, events] of scripts) for (const strategy of strategies) await ends(strategy, events, 180055, "expected", ["no-lost-documents"]);
  });

  it("client-transformer-*, client-lazy-*: a device that joins on the new app translates the deletion; t2 is deleted in every version", async () => {
    const joins: ScenarioEvent[] = [{ kind: "device", device: "d4", app: "new" }, { kind: "settle" }];
    for (const [strategies, events] of scripts) for (const strategy of strategies) await ends(strategy, [...events, ...joins], 180055, "pass");
  });

  it("client-transformer-*, client-lazy-*: the old device, reinstalled on the new app, translates its own deletion", async () => {
    const reinstalled: ScenarioEvent[] = [{ kind: "sync", device: "d2" }, { kind: "reinstall", device: "d2" }, { kind: "settle" }];
    for (const [strategies, events] of scripts) for (const strategy of strategies) await ends(strategy, [...events, ...reinstalled], 180055, "pass");
  });

  it("the deletion counts as untranslated only until a new-app device pulled it and synced again", async () => {
    await played("client-transformer-documents", [...minimal, { kind: "sync", device: "d2" }], 180055, (world) => {
      expect([...world.facts.untranslatedDeletes]).toEqual([world.model.idOf("t2")]);
    });
    // d4 pulls the deletion (first sync) and pushes its translation (second): the caveat no longer applies.
    const joined: ScenarioEvent[] = [...minimal, { kind: "sync", device: "d2" }, { kind: "device", device: "d4", app: "new" }, { kind: "sync", device: "d4" }];
    await played("client-transformer-documents", joined, 180055, (world) => {
      expect([...world.facts.untranslatedDeletes]).toEqual([world.model.idOf("t2")]);
    });
    await played("client-transformer-documents", [...joined, { kind: "sync", device: "d4" }], 180055, (world) => {
      expect([...world.facts.untranslatedDeletes]).toEqual([]);
    });
    // A deletion made on a device that then upgrades is its own new app's to translate.
    const upgraded: ScenarioEvent[] = [...minimal, { kind: "upgrade", device: "d2" }, { kind: "sync", device: "d2" }];
    await played("client-transformer-documents", upgraded, 180055, (world) => {
      expect([...world.facts.untranslatedDeletes]).toEqual([]);
    });
  });

  it("the caveat covers only the todos whose deletion no new-app device translated", () => {
    const strategy = createStrategy("client-transformer-documents");
    const todo = "0123456789abcdef0123456789abcdef";
    const other = "f".repeat(32);
    const facts = { oldAppAfterRelease: true, oldWrites: new Set([todo, other]), retired: false, untranslatedDeletes: new Set([todo]) };
    const cameBack = (id: string): { line: string } => ({ line: `"t" (${id}) was deleted but todo-item:${id}:v:3 came back` });
    expect(caveatFor(strategy, facts, "no-lost-documents", cameBack(todo))?.when).toBe("untranslated-old-delete");
    // A new-app device synced twice since the deletion reached the server (it is not in the facts): a failure.
    expect(caveatFor(strategy, facts, "no-lost-documents", cameBack(other))).toBeUndefined();
    expect(caveatFor(strategy, { ...facts, untranslatedDeletes: new Set<string>() }, "no-lost-documents", cameBack(todo))).toBeUndefined();
    // Nor does it cover another invariant about the same todo.
    expect(caveatFor(strategy, facts, "converged", { line: `d2: todo-item:${todo}:v:3 is 2-a on the device but missing on the server` })).toBeUndefined();
  });
});
