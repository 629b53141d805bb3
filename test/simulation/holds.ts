/**
 * The set-up the regression files share: one in-process simulation environment per file, and `holds`, which plays a
 * minimal script against a strategy and expects no violation a caveat does not predict.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { openEnv, runScript, type SimulationEnv } from "../../examples/todo-app/simulate/run.js";
import { assertLegal, type Script } from "../../examples/todo-app/simulate/script.js";
import type { ScenarioEvent } from "../../examples/todo-app/world.js";
import { createStrategy } from "../../examples/strategies.js";

/** What {@link useRegressionEnv} gives a test file. */
export interface RegressionEnv {
  /**
   * Plays `events` (a legal script) against `strategy` and expects no unexpected violation (the details show when
   * there is one); with `noCaveat`, no violation at all, not even one a caveat predicts.
   */
  holds(strategy: string, events: ScenarioEvent[], seed?: number, noCaveat?: boolean): Promise<void>;
  /** The file's environment (open from `beforeAll` on). */
  env(): SimulationEnv;
}

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
  };
}
