/**
 * `amended`: in-place, server-side, eager migration that keeps running after the release. The eager
 * runner migrates every document of the main database to the new version when the app ships, and then,
 * on every `settle`, follows `_changes` from its checkpoint and migrates old-version documents that
 * arrive late (an offline 1.0 device syncing days later: the Haneen scenario).
 *
 * Caveats: apps that were not updated cannot read migrated documents; an offline old-app edit of a
 * document the server migrated meanwhile replicates in as a conflict, which `settle` merges
 * (`resolveMigrationConflicts`: the old edit translated up with the migrated leaf as base).
 */
import type { StepDefinition } from "../../adapters/steps.js";
import { stepGraphOf } from "../steps.js";
import { resolveMigrationConflicts } from "../runner/conflicts.js";
import { runMigration } from "../runner/runner.js";
import { bindToMain, type AppVersion, type ReleaseResult, type RetireResult, type ServerContext, type Strategy } from "../types.js";

/** Options of {@link createAmendedStrategy}. */
export interface AmendedOptions {
  /** The app's steps (default: the ones the server context carries). */
  readonly steps?: readonly StepDefinition[];
}

/** Creates the `amended` strategy. */
export function createAmendedStrategy(options: AmendedOptions = {}): Strategy {
  let target: AppVersion | undefined;
  const migrate = async (server: ServerContext): Promise<number> => {
    if (target === undefined) return 0;
    // Merge late old-version edits that conflict with migrated revisions first: once the runner migrated an old
    // winner, both leaves would be at the new version and the old edit could no longer be told apart.
    const graph = stepGraphOf(options.steps ?? server.steps);
    const fixed = await resolveMigrationConflicts(server.main, { graph, to: target.shape });
    // No lease: one process runs the comparison (a deployment gives one in a state database, as the CLI does).
    const report = await runMigration({ source: server.main, plan: { graph, to: target.shape } });
    return report.totals.written + fixed.resolved.length;
  };
  return {
    name: "amended",
    description: "In-place server-side eager migration that keeps following _changes after the release and migrates old documents that arrive late.",
    taxonomy: { storage: "single-version", timing: "eager", place: "server" },
    change: { from: "1.0.0", to: "3.0.0" },
    caveats: [
      {
        invariant: "apps-read-their-data",
        scenarios: ["haneen", "basti", "legacy-forever", "drop-legacy", "marten", "conflict-storm"],
        reason: "documents exist in one version only: once migrated, apps that were not updated cannot read them",
      },
    ],
    migrationCode: "steps",
    prepareServer: async () => {},
    release: async (server, _from, to): Promise<ReleaseResult> => {
      target = to;
      return { downtimeMs: 0, documentsWritten: await migrate(server) };
    },
    openDevice: async (device) => bindToMain(device),
    upgradeDevice: async (device) => bindToMain(device),
    settle: async (server) => {
      await migrate(server);
    },
    retire: async (): Promise<RetireResult> => ({ purgedDocs: 0, detail: "nothing to purge: old documents are migrated in place as they arrive" }),
    close: async () => {},
  };
}
