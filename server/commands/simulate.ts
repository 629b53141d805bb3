/**
 * `divan simulate`: seeded random scripts of the bundled example app against strategies; failing ones written as JSON.
 *
 * `divan simulate [--strategies a,b] [--runs N] [--seed S] [--replay FILE] [--minimize] [--http] [--out DIR]`:
 * plays seeded random scripts of the bundled example app against strategies (the same world, invariants and
 * caveats as `divan compare`), prints a summary table with runs per second, writes every failing script
 * as replayable JSON into DIR, and with `--minimize` shrinks each one first. Exits 1 on an unexpected
 * failure. The fast in-process world by default; `--http` plays over HTTP (the embedded server, or
 * `COUCHDB_URL` when set).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { DivanError } from "../../core/errors.js";
import { createStrategy } from "../../examples/strategies.js";
import { assertLegal, type Script } from "../../examples/todo-app/simulate/script.js";
import { importPeer } from "../../core/peer.js";
import type { FailingScript } from "../../examples/todo-app/simulate/run.js";

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function integer(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new DivanError("CONFIG_INVALID", `${name} must be an integer, not "${value}".`);
    return n;
  };
}

/** Reads a script written by `divan simulate` (or any `{ seed, events }` JSON, optionally with `strategy`). */
async function readScript(file: string): Promise<{ script: Script; strategy?: string }> {
  const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<FailingScript>;
  if (!Number.isSafeInteger(parsed.seed) || !Array.isArray(parsed.events)) {
    throw new DivanError("CONFIG_INVALID", `${file} is not a simulation script: it needs an integer "seed" and an "events" list.`);
  }
  const script: Script = { seed: parsed.seed!, events: parsed.events };
  assertLegal(script);
  return typeof parsed.strategy === "string" ? { script, strategy: parsed.strategy } : { script };
}

/** Adds `divan simulate` to the program. */
export function register(program: Command): void {
  program
    .command("simulate")
    .description("Play seeded random scripts of the bundled example app against strategies and check every invariant; write failing scripts as replayable JSON.")
    .option("--strategies <names>", "comma-separated strategy names (default: all registered; with --replay, the script's)", list)
    .option("--runs <n>", "scripts per strategy", integer("--runs"), 100)
    .option("--seed <n>", "seed of the first script (script i uses seed + i; default: drawn from the clock and printed)", integer("--seed"))
    .option("--replay <file>", "play this script (as written by a failing run) instead of generated ones")
    .option("--minimize", "shrink every failing script to the fewest events that still fail")
    .option("--http", "play over HTTP (the embedded server, or COUCHDB_URL) instead of the fast in-process world")
    .option("--out <dir>", "directory for failing scripts", "reports/simulation")
    .action(async (opts: { strategies?: string[]; runs: number; seed?: number; replay?: string; minimize?: boolean; http?: boolean; out: string }) => {
      const replay = opts.replay === undefined ? undefined : await readScript(opts.replay);
      const strategies = opts.strategies ?? (replay?.strategy === undefined ? undefined : [replay.strategy]);
      for (const name of strategies ?? []) createStrategy(name);
      const seed = opts.seed ?? Date.now() % 1_000_000_000;
      // The simulation harness starts the embedded server (express, an optional peer): loaded only when it runs.
      const { openEnv, renderSummary, simulate } = await importPeer("express", "divan simulate", () => import("../../examples/todo-app/simulate/run.js"));
      const env = await openEnv(opts.http === true ? "http" : "memory");
      const report = await simulate({
        ...(strategies ? { strategies } : {}),
        ...(replay ? { scripts: [replay.script] } : { runs: opts.runs, seed }),
        minimize: opts.minimize === true,
        env,
      }).finally(() => env.close());
      const where = replay ? `replaying ${opts.replay}` : `${opts.runs} script(s) per strategy from seed ${seed}`;
      process.stdout.write(`divan simulate: ${where}, ${report.transport === "memory" ? "in-process world" : `HTTP (${report.server})`}\n\n`);
      process.stdout.write(`${renderSummary(report)}\n`);
      if (report.failures.length === 0) return;
      const dir = path.resolve(opts.out);
      await mkdir(dir, { recursive: true });
      for (const f of report.failures) {
        const file = path.join(dir, `${f.strategy}-${f.seed}.json`);
        await writeFile(file, `${JSON.stringify(f, null, 2)}\n`);
        process.stdout.write(`\n${f.strategy}, seed ${f.seed} (${f.events.length} events): ${f.failed.join(", ") || "error"}\n  ${f.details.join("\n  ")}\n  replay: divan simulate --replay ${file}\n`);
      }
      process.stderr.write(`divan simulate: ${report.failures.length} script(s) failed unexpectedly\n`);
      process.exitCode = 1;
    });
}
