/**
 * `divan compare [--strategies a,b] [--scenarios x,y] [--out DIR] [--seed N]`: runs the strategy ×
 * scenario matrix of the bundled example app, writes report.md, report.json and report.html into DIR, and
 * prints the Markdown table. Uses `COUCHDB_URL` when set, else the embedded server. A progress bar
 * is shown on a TTY. Exits 1 when a run has an unexpected violation or broke.
 */
import path from "node:path";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { DivanError } from "../../core/errors.js";
import { DEFAULT_SEED, runComparison } from "../../examples/todo-app/compare.js";
import { renderTable, writeReports } from "../../examples/todo-app/report.js";

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function seedOf(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new DivanError("CONFIG_INVALID", `--seed must be an integer, not "${value}".`);
  return n;
}

/** Adds `divan compare` to the program. */
export function register(program: Command): void {
  program
    .command("compare")
    .description("Run every migration strategy against every todo-app scenario and write report.md, report.json and report.html.")
    .option("--strategies <names>", "comma-separated strategy names (default: all registered)", list)
    .option("--scenarios <names>", "comma-separated scenario names (default: all)", list)
    .option("--out <dir>", "directory for the reports", "reports")
    .option("--seed <n>", "seed that fixes ids, timestamps and event order", seedOf, DEFAULT_SEED)
    .action(async (opts: { strategies?: string[]; scenarios?: string[]; out: string; seed: number }) => {
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { format: "compare [{bar}] {value}/{total} {run}", hideCursor: true, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      let started = false;
      const report = await runComparison({
        ...(opts.strategies ? { strategies: opts.strategies } : {}),
        ...(opts.scenarios ? { scenarios: opts.scenarios } : {}),
        seed: opts.seed,
        onProgress: (p) => {
          if (!bar) return;
          if (!started) {
            bar.start(p.total, p.done, { run: "" });
            started = true;
          }
          bar.update(p.done, { run: p.strategy ? `${p.strategy} × ${p.scenario}` : "done" });
        },
      }).finally(() => bar?.stop());
      const written = await writeReports(report, path.resolve(opts.out));
      process.stdout.write(`${renderTable(report)}\n\n`);
      process.stdout.write(`Reports written: ${written.markdown}, ${written.json}, ${written.html}\n`);
      const bad = report.runs.filter((r) => r.status === "fail" || r.status === "error");
      if (bad.length > 0) {
        process.stderr.write(`divan compare: ${bad.length} run(s) with unexpected violations: ${bad.map((r) => `${r.strategy} × ${r.scenario}`).join(", ")}\n`);
        process.exitCode = 1;
      }
    });
}
