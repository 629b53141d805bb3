/**
 * CI's simulation: every strategy plays a fixed list of seeded scripts, 50 in the fast in-process world and
 * 5 over HTTP (the embedded server, or `COUCHDB_URL` when set). No script may fail unexpectedly except those
 * listed in `known-failures.ts` (each there is an open defect with its minimized script, named in the
 * report); a newly failing seed fails the test with its details and replay command.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEnv, runScript, type SimulationEnv } from "../../examples/todo-app/simulate/run.js";
import { generateScript } from "../../examples/todo-app/simulate/script.js";
import { createStrategy, strategyNames } from "../../strategies/all.js";
import { KNOWN_FAILURES } from "./known-failures.js";

const FAST = Array.from({ length: 50 }, (_, i) => i + 1);
const HTTP = [1, 2, 3, 4, 5];

let memory: SimulationEnv;
let http: SimulationEnv;
beforeAll(async () => {
  memory = await openEnv("memory");
  http = await openEnv("http");
}, 60_000);
afterAll(async () => {
  await memory.close();
  await http.close();
});

/** The unexpected failures of `strategy` on `seeds` that are not known, one line each. */
async function unexpected(strategy: string, seeds: readonly number[], env: SimulationEnv): Promise<string[]> {
  const known = new Set(KNOWN_FAILURES[strategy] ?? []);
  const out: string[] = [];
  for (const seed of seeds) {
    const v = await runScript(() => createStrategy(strategy), generateScript(seed), env);
    if ((v.status === "fail" || v.status === "error") && !known.has(seed)) {
      out.push(`seed ${seed}: ${v.details.join("; ")} (replay: npm run simulate -- --strategies ${strategy} --runs 1 --seed ${seed} --minimize)`);
    }
  }
  return out;
}

describe("seeded simulation of every strategy", () => {
  for (const name of strategyNames()) {
    it(`${name}: ${FAST.length} scripts in process, none fails unexpectedly`, async () => {
      expect(await unexpected(name, FAST, memory)).toEqual([]);
    }, 300_000);
    it(`${name}: ${HTTP.length} scripts over HTTP, none fails unexpectedly`, async () => {
      expect(await unexpected(name, HTTP, http)).toEqual([]);
    }, 300_000);
  }
});
