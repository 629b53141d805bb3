/**
 * `amended`: in-place, server-side, eager migration that keeps migrating what old apps write after the release.
 *
 * `amended`: in-place, server-side, eager migration that keeps running after the release. The eager
 * runner migrates every document of the main database to the new version when the app ships, and then,
 * on every `settle`, follows `_changes` from its checkpoint and migrates old-version documents that
 * arrive late (an offline old-app device syncing days later).
 *
 * Caveat: apps that were not updated cannot read migrated documents. An offline old-app edit of a
 * document the server migrated meanwhile replicates in as a conflict, which `settle` merges
 * (`resolveMigrationConflicts`: three ways against the revision both grew from). A device that installs the
 * new app offline migrates its own documents as the server does: both write revisions derived from content
 * and parent (`deterministicRevs`), so the same migration of the same revision is the same revision
 * everywhere, and a device's offline edits migrated from a newer revision merge like any concurrent edit.
 * A new-app device does the same after every sync: an old app's late write it pulled before the server's
 * follower migrated it is migrated on the device, with the revision the server writes, so the new app reads
 * and edits it at once. It also merges an old edit that met the migration on the device (`amendLateWrites`, as the
 * server does, with the server's revisions): else CouchDB may choose the migration, and the new app would edit it
 * over the device's own old edit. The bases migrations record stand for the revisions both grew from where a
 * device holds no body of them.
 */
import { identityOf } from "../catalog.js";
import type { StepGraph } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { shapeKey, type Shape } from "../../adapters/types.js";
import type { DocumentStore, Seq } from "../../store/port.js";
import { isDivanError } from "../../core/errors.js";
import { hasFault, type Fault } from "../../core/faults.js";
import { replicate } from "../../store/replicate.js";
import { honourConcurrentDeletes } from "../deletes.js";
import { stepGraphOf } from "../steps.js";
import { resolveMigrationConflicts, type ResolveConflictsOptions } from "../runner/conflicts.js";
import { updateLocal } from "../runner/local.js";
import { runMigration } from "../runner/runner.js";
import { bindToMain, type AppVersion, type DeviceBinding, type DeviceContext, type ReleaseResult, type RetireResult, type ServerContext, type Strategy, type StrategyOptions } from "../types.js";

/** Options of {@link createAmendedStrategy}. */
export interface AmendedOptions extends StrategyOptions {
  /** The app's steps (default: the ones the server context carries). */
  readonly steps?: readonly StepDefinition[];
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
}

/** Options of {@link amendLateWrites}. */
export interface AmendLateWritesOptions {
  /** The app's steps as a graph. */
  readonly graph: StepGraph;
  /** The shape documents are migrated to. */
  readonly to: Shape;
  /** Every shape an entity's documents may have in the database (old and new app versions). */
  readonly shapes: readonly Shape[];
  readonly typeField?: string;
  readonly versionField?: string;
  /**
   * Only look at changes after this sequence: a sequence the database had when an earlier pass began (what did not
   * change since was amended then).
   */
  readonly since?: Seq;
  /**
   * The schemas every translation of a conflict's leaf must be valid at before it is written (a leaf whose translation
   * is not is left as it is, as the runner leaves an invalid translation); none skips the check.
   */
  readonly verify?: ResolveConflictsOptions["verify"];
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
}

/**
 * What `amended` does before every migration pass over a database already migrated (the strategy's `settle`,
 * and `divan migrate --follow` each time old documents arrive): a late deletion of a document migrated meanwhile
 * wins over the migration (else the deleted entity comes back), and a late old-version edit that conflicts with
 * a migrated revision is merged (translated with the migrated leaf as base) before the runner migrates the old
 * winner, after which both leaves would be at the new version and the old edit could no longer be told apart.
 * Returns the documents written.
 */
export async function amendLateWrites(store: DocumentStore, options: AmendLateWritesOptions): Promise<number> {
  const since = options.since === undefined ? {} : { since: options.since };
  const ended = hasFault(options.faults, "migration-wins-over-delete") ? [] : await honourConcurrentDeletes(store, { graph: options.graph, shapes: options.shapes, deterministicRevs: true, ...since, ...(options.versionField === undefined ? {} : { versionField: options.versionField }) });
  const fixed = hasFault(options.faults, "skip-migration-merge")
    ? { resolved: [] }
    : await resolveMigrationConflicts(store, {
        graph: options.graph,
        to: options.to,
        // The revisions a device writes when it migrates its own documents offline, so the two migrations agree.
        deterministicRevs: true,
        recordBases: true,
        ...since,
        ...(options.verify === undefined ? {} : { verify: options.verify }),
        ...(options.typeField === undefined ? {} : { typeField: options.typeField }),
        ...(options.versionField === undefined ? {} : { versionField: options.versionField }),
      });
  return fixed.resolved.length + ended.length;
}

/** The `_local` document where a new-app device notes the shape and the sequence its last pass began at. */
const DEVICE_PASS_ID = "_local/divan-amended-pass";

/** Creates the `amended` strategy. */
export function createAmendedStrategy(options: AmendedOptions): Strategy {
  let target: AppVersion | undefined;
  let released: ServerContext | undefined;
  const migrate = async (server: ServerContext): Promise<number> => {
    if (target === undefined) return 0;
    const graph = stepGraphOf(options.steps ?? server.steps);
    const amended = await amendLateWrites(server.main, { graph, to: target.shape, shapes: server.apps.map((a) => a.shape), ...(options.faults === undefined ? {} : { faults: options.faults }) });
    // No lease: one process runs the comparison (a deployment gives one in a state database, as the CLI does).
    const report = await runMigration({ source: server.main, plan: { graph, to: target.shape }, deterministicRevs: true, recordBases: true });
    return report.totals.written + amended;
  };
  /**
   * What a new-app device runs on its own database when it upgrades offline and after every sync: the server's
   * migration pass, late writes merged first, so both write the same revisions. Late writes are looked for among the
   * changes since the device's last pass began (what a sync brought, and the last pass's own writes), noted in a
   * `_local` document, and the runner's checkpoint makes it migrate only what changed since its last run: the first
   * pass towards a shape looks at every document.
   */
  const migrateDevice = async (device: DeviceContext): Promise<void> => {
    const graph = stepGraphOf(options.steps ?? device.steps);
    const to = shapeKey(device.app.shape);
    const last = await device.local.getLocal(DEVICE_PASS_ID);
    const since = last?.["to"] === to && typeof last["since"] === "string" ? { since: last["since"] } : {};
    const start = (await device.local.info()).updateSeq;
    await amendLateWrites(device.local, { graph, to: device.app.shape, shapes: device.apps.map((a) => a.shape), ...since, ...(options.faults === undefined ? {} : { faults: options.faults }) });
    // The runner's checkpoint makes every pass after the first incremental: it migrates what changed since.
    await runMigration({ source: device.local, plan: { graph, to: device.app.shape }, deterministicRevs: true, recordBases: true, lease: false });
    await updateLocal(device.local, DEVICE_PASS_ID, () => ({ to, since: start }));
  };
  /** A new-app device's binding: after every sync it migrates what the sync brought, before its app reads it. */
  const newApp = (device: DeviceContext): DeviceBinding => ({
    ...bindToMain(device),
    synced: async () => {
      await migrateDevice(device);
      return undefined;
    },
  });
  return {
    ...identityOf("amended", options.change),
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
    openDevice: async (device) => (device.app.version === options.change.to ? newApp(device) : bindToMain(device)),
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
        await migrateDevice(device);
      }
      return newApp(device);
    },
    settle: async (server) => {
      await migrate(server);
    },
    retire: async (): Promise<RetireResult> => ({ purgedDocs: 0, detail: "nothing to purge: old documents are migrated in place as they arrive" }),
    close: async () => {},
  };
}
