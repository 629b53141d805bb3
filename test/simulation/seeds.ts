/**
 * CI's simulation, shared by `seeds-memory.test.ts` (seeds 1–50 in process) and `seeds-http.test.ts` (seeds
 * 1–5 over HTTP: the embedded server, or `COUCHDB_URL` when set), two files so they run side by side. No
 * script may fail unexpectedly: a failing seed fails the test with its details and the command that replays
 * and shrinks it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEnv, runScript, type SimulationEnv, type Transport } from "../../examples/todo-app/simulate/run.js";
import { generateScript } from "../../examples/todo-app/simulate/script.js";
import { createStrategy, strategyNames } from "../../examples/strategies.js";

/** Registers one test per strategy that plays `seeds` in `transport`. */
export function seededSimulation(transport: Transport, seeds: readonly number[]): void {
  let env: SimulationEnv;
  beforeAll(async () => {
    env = await openEnv(transport);
  }, 60_000);
  afterAll(async () => {
    await env.close();
  });
  describe(`seeded simulation of every strategy (${transport})`, () => {
    for (const name of strategyNames()) {
      it(`${name}: ${seeds.length} scripts, none fails unexpectedly`, async () => {
        const out: string[] = [];
        for (const seed of seeds) {
          const v = await runScript(() => createStrategy(name), generateScript(seed), env);
          if ((v.status === "fail" || v.status === "error")) {
            out.push(`seed ${seed}: ${v.details.join("; ")} (replay: npm run simulate -- --strategies ${name} --runs 1 --seed ${seed} --minimize)`);
          }
        }
        expect(out).toEqual([]);
      }, 300_000);
    }
  });
}
