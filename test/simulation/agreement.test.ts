/**
 * The fast in-process world agrees with the HTTP world (the embedded server, or `COUCHDB_URL` when set):
 * the same scripts give every strategy the same verdict — status, and which invariants are violated
 * unexpectedly or as a caveat predicts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEnv, runScript, type ScriptVerdict, type SimulationEnv } from "../../examples/todo-app/simulate/run.js";
import { generateScript } from "../../examples/todo-app/simulate/script.js";
import { createStrategy, strategyNames } from "../../examples/strategies.js";

/** The fixed set: these seeds against every strategy. */
const SEEDS = [3, 8];

let memory: SimulationEnv;
let http: SimulationEnv;
beforeAll(async () => {
  memory = await openEnv("memory");
  http = await openEnv("http");
});
afterAll(async () => {
  await memory.close();
  await http.close();
});

const verdict = (v: ScriptVerdict) => ({ status: v.status, failed: [...v.failed].sort(), expected: [...v.expected].sort() });

describe("the in-process world agrees with the HTTP world", () => {
  for (const name of strategyNames()) {
    it(`${name}: the same verdict on seeds ${SEEDS.join(", ")}`, async () => {
      for (const seed of SEEDS) {
        const script = generateScript(seed);
        const fast = await runScript(() => createStrategy(name), script, memory);
        const real = await runScript(() => createStrategy(name), script, http);
        expect(verdict(fast), `seed ${seed}: in process ${fast.details.join("; ")} / over HTTP ${real.details.join("; ")}`).toEqual(verdict(real));
      }
    }, 120_000);
  }
});
