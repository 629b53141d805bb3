/**
 * `divan compare`: the strategy × scenario matrix of the todo example, written as report.md, .json and .html.
 *
 * `divan compare [--strategies a,b] [--scenarios x,y] [--out DIR] [--seed N]`: runs the strategy ×
 * scenario matrix of the todo example, writes report.md, report.json and report.html into DIR, and
 * prints the Markdown table. Uses `COUCHDB_URL` when set, else the embedded server. A progress bar
 * is shown on a TTY. Exits 1 when a run has an unexpected violation or broke.
 */
import path from "node:path";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { DivanError } from "../../core/errors.js";
import { importPeer } from "../../core/peer.js";

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
    .option("--seed <n>", "seed that fixes ids, timestamps and event order (default: the report's fixed seed)", seedOf)
    .action(async (opts: { strategies?: string[]; scenarios?: string[]; out: string; seed?: number }) => {
      // The comparison runs on the embedded server (express, an optional peer): loaded only when it runs.
      const { runComparison } = await importPeer("express", "divan compare", () => import("../../examples/todo-app/compare.js"));
      const { renderTable, writeReports } = await import("../../examples/todo-app/report.js");
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
        ...(opts.seed === undefined ? {} : { seed: opts.seed }),
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
