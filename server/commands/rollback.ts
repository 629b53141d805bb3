/**
 * `divan rollback --db URL --to <manifest version|type@major,...> [--target URL] [--config FILE]`: undoes a migration.
 * With `--target`, the copy is dropped (the source was never changed). Without it, the database is
 * migrated back down in place to `--to` (N→1 merges delete the merged-away documents).
 */
import type { Command } from "commander";
import { stripCredentials } from "../../core/redact.js";
import { loadRegistry } from "../../schemas/load.js";
import { rollbackMigration } from "../../strategies/runner/verify.js";
import { commandConfig } from "../config.js";
import { formatReport, loadSteps, migrationOptions, openDb, registryOptions, requireDb, resolveTarget, type MigrationCliOptions } from "./migrate.js";

/** Registers `divan rollback`. */
export function register(program: Command): void {
  migrationOptions(
    program
      .command("rollback")
      .description("Undo a migration: drop the --target copy, or migrate the database back down in place to --to"),
  ).action(async (opts: MigrationCliOptions, cmd: Command) => {
    const config = await commandConfig(cmd);
    const db = requireDb(config);
    if (opts.target !== undefined) {
      const target = await openDb(opts.target);
      try {
        // Fails with NOT_FOUND on a mistyped URL instead of reporting a drop that did not happen.
        await target.info();
        await rollbackMigration({ mode: "drop-target", target });
        process.stdout.write(`dropped ${stripCredentials(opts.target)}; ${stripCredentials(db)} was never changed\n`);
      } finally {
        await target.close();
      }
      return;
    }
    const registry = await loadRegistry(config.schemas, registryOptions(config));
    const graph = await loadSteps(config.steps);
    const from = await resolveTarget(opts.to, registry, config.manifests, graph);
    const source = await openDb(db);
    try {
      process.stdout.write(`rolling back ${stripCredentials(db)} in place down to ${Object.entries(from).map(([t, v]) => `${t}@${v}`).join(", ")}\n`);
      const report = await rollbackMigration({ mode: "down", source, graph, from, batchSize: opts.batchSize, concurrency: opts.concurrency, typeField: config.typeField, versionField: config.versionField });
      if (report !== undefined) {
        process.stdout.write(formatReport(report));
        if (report.totals.quarantined > 0) process.exitCode = 1;
      }
    } finally {
      await source.close();
    }
  });
}
