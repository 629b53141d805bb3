/**
 * The set-up the regression files share: one in-process simulation environment per file, and `holds`, which plays a
 * minimal script against a strategy and expects no violation a caveat does not predict.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { openEnv, runScript, type SimulationEnv } from "../../examples/todo-app/simulate/run.js";
import { assertLegal, type Script } from "../../examples/todo-app/simulate/script.js";
import { World, type ScenarioEvent } from "../../examples/todo-app/world.js";
import type { Todo } from "../../examples/todo-app/app.js";
import { createStrategy } from "../../examples/strategies.js";

/** What {@link useRegressionEnv} gives a test file. */
export interface RegressionEnv {
  /**
   * Plays `events` (a legal script) against `strategy` and expects no unexpected violation (the details show when
   * there is one); with `noCaveat`, no violation at all, not even one a caveat predicts.
   */
  holds(strategy: string, events: ScenarioEvent[], seed?: number, noCaveat?: boolean): Promise<void>;
  /**
   * Plays `events` (a legal script), brings every device online, settles, and expects every device whose app is not
   * retired to show the same todos alike whatever its app version: the same title and done, and the same status and group where both apps show
   * them. Concurrent edits may end either way, but the same way on every version (the invariants accept, per app, any
   * value users gave a concurrent todo, so they do not see two versions that never converge).
   */
  agree(strategy: string, events: ScenarioEvent[], seed?: number): Promise<void>;
  /** The file's environment (open from `beforeAll` on). */
  env(): SimulationEnv;
}

/** What two apps both show of `t`, as a line to compare (status and group only when both have them). */
const shared = (t: Todo, other: Todo): string =>
  JSON.stringify([t.title, t.done, other.status === undefined ? undefined : t.status, other.group === undefined ? undefined : t.group]);

/** Opens an in-memory simulation environment for the calling test file (closed after it) and returns its helpers. */
export function useRegressionEnv(): RegressionEnv {
  let env: SimulationEnv | undefined;
  beforeAll(async () => {
    env = await openEnv("memory");
  });
  afterAll(async () => {
    await env?.close();
  });
  const opened = (): SimulationEnv => {
    if (env === undefined) throw new Error("the simulation environment opens in beforeAll");
    return env;
  };
  return {
    env: opened,
    async holds(strategy, events, seed = 1, noCaveat = false) {
      const script: Script = { seed, events };
      assertLegal(script);
      const v = await runScript(() => createStrategy(strategy), script, opened());
      expect(v.details, `${strategy}: ${v.details.join("; ")}`).toEqual([]);
      expect(noCaveat ? ["pass"] : ["pass", "expected"], `${strategy}: expected violations ${v.expected.join(", ")}`).toContain(v.status);
    },
    async agree(strategy, events, seed = 1) {
      assertLegal({ seed, events });
      const env = opened();
      const s = createStrategy(strategy);
      const world = await World.create({ strategy: s, scenario: `script ${seed}`, seed, transport: env.transport, registry: env.registry, apps: env.apps });
      try {
        await world.play(events);
        for (const d of world.devices.values()) if (!d.gone) d.online = true;
        await world.settle();
        const lists: { device: string; todos: Map<string, Todo> }[] = [];
        for (const d of world.devices.values()) {
          const list = d.gone ? undefined : await d.todoApp.list();
          // A retired app receives nothing more (its version is no longer translated into): only the others must agree.
          if (list !== undefined && list.retired === undefined) lists.push({ device: `${d.name} (app ${d.app.version})`, todos: new Map(list.todos.map((t) => [t.id, t])) });
        }
        const differ: string[] = [];
        for (const a of lists) {
          for (const b of lists) {
            for (const [id, t] of a.todos) {
              const u = b.todos.get(id);
              if (u !== undefined && shared(t, u) !== shared(u, t)) differ.push(`${id}: ${a.device} shows ${shared(t, u)}, ${b.device} ${shared(u, t)}`);
            }
          }
        }
        expect(differ, `${strategy}: the versions disagree`).toEqual([]);
      } finally {
        await world.close().catch(() => undefined);
        await s.close().catch(() => undefined);
      }
    },
  };
}
