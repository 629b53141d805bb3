/**
 * `divan rollback --db URL (--to <manifest version|type@major,...> | --target URL) [--restart] [--state-db URL]
 * [--config FILE]`: undoes a migration.
 *
 * With `--target`, the copy is dropped (the source was never changed): only a database whose copy marker
 * (`_local/divan-copy`, written when the copy started) names `--db`; anything else is refused with `NOT_A_COPY`
 * and nothing is dropped. Without it, the database is migrated back down in place to `--to` (N→1 merges delete
 * the merged-away documents) as a job of its own (`down-…`), with the same lease, validation, quarantine and exit
 * codes as `divan migrate`.
 */
import type { Command } from "commander";
import { DivanError } from "../../core/errors.js";
import { stripCredentials } from "../../core/redact.js";
import type { DocumentStore } from "../../store/port.js";
import { readCopyMarker } from "../../strategies/runner/local.js";
import { createMigration } from "../../strategies/runner/runner.js";
import { rollbackId, rollbackMigration } from "../../strategies/runner/verify.js";
import { commandConfig, loadConfiguredRegistry } from "../config.js";
import {
  closeAll,
  exitCodeOf,
  formatReport,
  loadSteps,
  migrationOptions,
  openDb,
  openStateDb,
  requireDb,
  resolveTarget,
  runWithProgress,
  showShape,
  type MigrationCliOptions,
} from "./migrate.js";
import { interruptions, reportStopped } from "./interrupt.js";

/** Registers `divan rollback`. */
export function register(program: Command): void {
  migrationOptions(
    program
      .command("rollback")
      .description("Undo a migration: drop the --target copy divan made, or migrate the database back down in place to --to"),
    { toRequired: false, target: "drop this database, divan's copy of --db (--to is then not needed)" },
  ).action(async (opts: MigrationCliOptions, cmd: Command) => {
    const config = await commandConfig(cmd);
    const db = requireDb(config);
    const stores: (DocumentStore | undefined)[] = [];
    try {
      const source = await openDb(db);
      stores.push(source);
      if (opts.target !== undefined) {
        const target = await openDb(opts.target);
        stores.push(target);
        const marker = await readCopyMarker(target);
        const state = await openStateDb(config, opts.target);
        stores.push(state);
        try {
          await rollbackMigration({ mode: "drop-target", target, source, ...(state === undefined ? {} : { lease: { store: state, ...(opts.leaseOwner === undefined ? {} : { owner: opts.leaseOwner }) } }) });
        } finally {
          // The default state database of the copy is the copy's own: it goes with it (unless it holds something).
          if (config.stateDb === undefined && state !== undefined && (await state.info()).docCount === 0) await state.destroy();
        }
        process.stdout.write(`dropped ${stripCredentials(opts.target)} (divan's copy made by job ${marker?.job ?? "?"}); ${stripCredentials(db)} was never changed\n`);
        return;
      }
      if (opts.to === undefined) {
        throw new DivanError("CONFIG_INVALID", "give --to <version>: the version a rollback in place migrates the database back down to (dropping a --target copy needs none)", { details: { option: "to" } });
      }
      const registry = await loadConfiguredRegistry(config);
      const graph = await loadSteps(config.steps);
      const from = await resolveTarget(opts.to, registry, config.manifests, graph);
      const state = await openStateDb(config, db);
      stores.push(state);
      const interrupted = interruptions();
      const m = createMigration({
        signal: interrupted.signal,
        source,
        plan: { graph, to: from },
        direction: "down",
        id: rollbackId(from),
        batchSize: opts.batchSize,
        concurrency: opts.concurrency,
        restart: opts.restart === true,
        typeField: config.typeField,
        versionField: config.versionField,
        lease: state === undefined ? false : { store: state, ...(opts.leaseOwner === undefined ? {} : { owner: opts.leaseOwner }) },
        ...(opts.validate ? { verify: registry } : {}),
      });
      const report = await runWithProgress(m, `rolling back ${stripCredentials(db)} in place down to ${showShape(from)}`).finally(() => interrupted.dispose());
      if (reportStopped(report, interrupted, formatReport)) return;
      process.stdout.write(formatReport(report));
      process.exitCode = exitCodeOf(report);
    } finally {
      await closeAll(stores);
    }
  });
}
