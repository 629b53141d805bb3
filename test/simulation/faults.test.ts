/**
 * Mutation testing of the simulation: every deliberate fault of `core/faults.ts`, switched on in a strategy
 * whose code path it breaks, makes some seeded script fail that the same strategy without the fault passes,
 * within a fixed budget of seeds (README, "Simulation", lists the first catching seed of each).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAULTS } from "../../core/faults.js";
import { FAULTY_STRATEGIES } from "../../examples/todo-app/simulate/faults.js";
import { openEnv, runScript, type SimulationEnv } from "../../examples/todo-app/simulate/run.js";
import { generateScript } from "../../examples/todo-app/simulate/script.js";

/** Seeds tried per fault. */
const BUDGET = 60;

let env: SimulationEnv;
beforeAll(async () => {
  env = await openEnv("memory");
});
afterAll(async () => {
  await env.close();
});

describe("the simulation catches every injected fault", () => {
  it("has at least 8 faults, each switched on in a strategy", () => {
    expect(Object.keys(FAULTS).length).toBeGreaterThanOrEqual(8);
    expect(FAULTY_STRATEGIES.map((f) => f.fault).sort()).toEqual(Object.keys(FAULTS).sort());
  });

  for (const f of FAULTY_STRATEGIES) {
    it(`${f.fault}: ${FAULTS[f.fault]}`, async () => {
      let caught: { seed: number; details: readonly string[] } | undefined;
      for (let seed = 1; seed <= BUDGET && caught === undefined; seed++) {
        const script = generateScript(seed);
        const faulty = await runScript(f.faulty, script, env);
        if (faulty.status !== "fail" && faulty.status !== "error") continue;
        const correct = await runScript(f.correct, script, env);
        if (correct.status === "pass" || correct.status === "expected") caught = { seed, details: faulty.details };
      }
      expect(caught, `no seed up to ${BUDGET} told ${f.fault} from the correct strategy`).toBeDefined();
      expect(caught!.details.length).toBeGreaterThan(0);
    }, 300_000);
  }
});
