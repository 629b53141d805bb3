/**
 * `divan compare`: the strategy × scenario matrix of an app's change, written as report.md, .json and .html.
 *
 * `divan compare [--config FILE [--from V --to V]] [--strategies a,b] [--scenarios x,y] [--out DIR] [--seed N]`:
 * runs the strategy × scenario matrix on an app's change, writes report.md, report.json and report.html
 * into DIR, and prints the Markdown table. With `--config`, the app is the team's own (its schemas,
 * manifests and steps; the change defaults to the two newest manifests) and the scenarios are the
 * templates instantiated for its entities; without it, the bundled example app. An additive change is
 * refused (`CHANGE_NOT_BREAKING`: no migrating strategy applies) and compared with `non-breaking` only.
 * Uses `COUCHDB_URL` when set, else the embedded server. A progress bar is shown on a TTY. Exits 1 when
 * a run has an unexpected violation or broke.
 */
import path from "node:path";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { DivanError } from "../../core/errors.js";
import { importPeer } from "../../core/peer.js";
import type { ComparedApp } from "../../examples/todo-app/compare.js";

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
    .description(
      "Run every migration strategy that applies to an app's change against every scenario and write report.md, report.json and report.html (default app: the bundled example; --config: yours)",
    )
    .option("--config <file>", "the app's divan config file: compare on its schemas, manifests and steps")
    .option("--from <version>", "the app version before the change (with --config; default: the second newest manifest)")
    .option("--to <version>", "the app version after the change (with --config; default: the newest manifest)")
    .option("--strategies <names>", "comma-separated strategy names (default: all registered)", list)
    .option("--scenarios <names>", "comma-separated scenario names (default: all)", list)
    .option("--out <dir>", "directory for the reports", "reports")
    .option("--seed <n>", "seed that fixes ids, timestamps and event order (default: the report's fixed seed)", seedOf)
    .action(async (opts: { config?: string; from?: string; to?: string; strategies?: string[]; scenarios?: string[]; out: string; seed?: number }) => {
      if (opts.config === undefined && (opts.from !== undefined || opts.to !== undefined)) {
        throw new DivanError("CONFIG_INVALID", "--from and --to choose a change of the app given with --config.");
      }
      // The comparison runs on the embedded server (express, an optional peer): loaded only when it runs.
      const { DEFAULT_SEED, loadConfiguredApp, runComparison } = await importPeer("express", "divan compare", () => import("../../examples/todo-app/compare.js"));
      const { renderTable, writeReports } = await import("../../examples/todo-app/report.js");
      let app: ComparedApp | undefined;
      if (opts.config !== undefined) {
        const configured = await loadConfiguredApp(opts.config, { ...(opts.from === undefined ? {} : { from: opts.from }), ...(opts.to === undefined ? {} : { to: opts.to }) });
        app = configured.app;
        const { from, to } = configured.change;
        if (!configured.breaking) {
          process.stderr.write(
            `divan compare: CHANGE_NOT_BREAKING: app ${from} → ${to} changes no document type's major version, so no migrating strategy applies; only non-breaking is compared.\n`,
          );
        } else {
          process.stderr.write(`divan compare: app ${from} → ${to} (breaking), every strategy × every scenario\n`);
        }
      }
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
        seed: opts.seed ?? DEFAULT_SEED,
        ...(app === undefined ? {} : { app }),
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
