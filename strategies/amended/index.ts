/**
 * `amended`: in-place, server-side, eager migration that keeps running after the release. The eager
 * runner migrates every document of the main database to the new version when the app ships, and then,
 * on every `settle`, follows `_changes` from its checkpoint and migrates old-version documents that
 * arrive late (an offline 1.0 device syncing days later: the Haneen scenario).
 *
 * Caveat: apps that were not updated cannot read migrated documents. An offline old-app edit of a
 * document the server migrated meanwhile replicates in as a conflict, which `settle` merges
 * (`resolveMigrationConflicts`: three ways against the revision both grew from). A device that installs the
 * new app offline migrates its own documents as the server does: both write revisions derived from content
 * and parent (`deterministicRevs`), so the same migration of the same revision is the same revision
 * everywhere, and a device's offline edits migrated from a newer revision merge like any concurrent edit.
 */
import type { StepDefinition } from "../../adapters/steps.js";
import { isDivanError } from "../../core/errors.js";
import { hasFault, type Fault } from "../../core/faults.js";
import { replicate } from "../../store/replicate.js";
import { honourConcurrentDeletes } from "../deletes.js";
import { stepGraphOf } from "../steps.js";
import { resolveMigrationConflicts } from "../runner/conflicts.js";
import { runMigration } from "../runner/runner.js";
import { bindToMain, type AppVersion, type DeviceContext, type ReleaseResult, type RetireResult, type ServerContext, type Strategy } from "../types.js";

/** Options of {@link createAmendedStrategy}. */
export interface AmendedOptions {
  /** The app's steps (default: the ones the server context carries). */
  readonly steps?: readonly StepDefinition[];
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
}

/** Creates the `amended` strategy. */
export function createAmendedStrategy(options: AmendedOptions = {}): Strategy {
  let target: AppVersion | undefined;
  let released: ServerContext | undefined;
  const migrate = async (server: ServerContext): Promise<number> => {
    if (target === undefined) return 0;
    const graph = stepGraphOf(options.steps ?? server.steps);
    // A late deletion of a document migrated meanwhile wins over the migration (else the todo comes back).
    const ended = hasFault(options.faults, "migration-wins-over-delete") ? [] : await honourConcurrentDeletes(server.main, { graph, shapes: server.apps.map((a) => a.shape) });
    // Merge late old-version edits that conflict with migrated revisions first: once the runner migrated an old
    // winner, both leaves would be at the new version and the old edit could no longer be told apart.
    const fixed = hasFault(options.faults, "skip-migration-merge")
      ? { resolved: [] }
      : await resolveMigrationConflicts(server.main, { graph, to: target.shape, deterministicRevs: true });
    // No lease: one process runs the comparison (a deployment gives one in a state database, as the CLI does).
    const report = await runMigration({ source: server.main, plan: { graph, to: target.shape }, deterministicRevs: true });
    return report.totals.written + fixed.resolved.length + ended.length;
  };
  return {
    name: "amended",
    description: "In-place server-side eager migration that keeps following _changes after the release and migrates old documents that arrive late.",
    taxonomy: { storage: "single-version", timing: "eager", place: "server" },
    change: { from: "1.0.0", to: "3.0.0" },
    caveats: [
      {
        invariant: "apps-read-their-data",
        when: "old-app-after-release",
        reason: "documents exist in one version only: once migrated, apps that were not updated cannot read them",
      },
    ],
    migrationCode: "steps",
    prepareServer: async () => {},
    release: async (server, _from, to): Promise<ReleaseResult> => {
      target = to;
      released = server;
      return { downtimeMs: 0, documentsWritten: await migrate(server) };
    },
    openDevice: async (device) => bindToMain(device),
    upgradeDevice: async (device: DeviceContext) => {
      // Online, the new app starts from migrated documents: push what the old app wrote, let the server
      // migrate it, pull. Offline, the device migrates its own documents the same way, with the same revisions.
      if (hasFault(options.faults, "upgrade-without-sync")) return bindToMain(device);
      try {
        const remote = await device.server("");
        await replicate(device.local, remote);
        if (released !== undefined) await migrate(released);
        await replicate(remote, device.local);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
        const graph = stepGraphOf(options.steps ?? device.steps);
        await runMigration({ source: device.local, plan: { graph, to: device.app.shape }, deterministicRevs: true, lease: false, followChanges: false, restart: true });
      }
      return bindToMain(device);
    },
    settle: async (server) => {
      await migrate(server);
    },
    retire: async (): Promise<RetireResult> => ({ purgedDocs: 0, detail: "nothing to purge: old documents are migrated in place as they arrive" }),
    close: async () => {},
  };
}
