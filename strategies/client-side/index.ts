/**
 * `client-side`: each device migrates its own PouchDB when its app updates, then replicates.
 *
 * `client-side`: each device migrates its own PouchDB when its app updates (`divan/client`'s
 * `migrateAfterSync`: the eager runner on the local database, after merging old edits into the migration), then replicates. New revisions are derived
 * deterministically from content and parent revision (`deterministicRevs`), so devices that migrate the
 * same documents write the same revisions: the Conflict storm ends with zero conflicts.
 *
 * The server never migrates anything. Caveat for devices still on the old version: they receive the
 * migrated documents and cannot read them, and the documents they keep writing stay old until an updated
 * device migrates them (an updated device migrates again after every sync, i.e. on `settle`).
 */
import { identityOf } from "../catalog.js";
import type { StepGraph } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { stepGraphOf } from "../steps.js";
import type { DocumentStore } from "../../store/port.js";
import { bindToMain, type AppVersion, type DeviceBinding, type DeviceContext, type ReleaseResult, type RetireResult, type Strategy, type StrategyOptions } from "../types.js";

/** Options of {@link createClientSideStrategy}. */
export interface ClientSideOptions extends StrategyOptions {
  /** The app's steps (default: the ones the server and device contexts carry). */
  readonly steps?: readonly StepDefinition[];
  /**
   * What an updated device runs when its app opens and after every sync: `migrateAfterSync` of `divan/client`
   * (merge old apps' edits that conflict with the migration, then migrate; the comparison passes exactly that).
   */
  readonly migrateDevice: (local: DocumentStore, options: { readonly steps: StepGraph; readonly to: Shape; readonly shapes: readonly Shape[] }) => Promise<unknown>;
}

/** Creates the `client-side` strategy. */
export function createClientSideStrategy(options: ClientSideOptions): Strategy {
  const CHANGE = options.change;
  const graphOf = (context: { readonly steps: readonly StepDefinition[] }) => stepGraphOf(options.steps ?? context.steps);
  const upgraded = new Map<DocumentStore, AppVersion>();
  /** What an updated device runs when its app opens and after every sync ({@link ClientSideOptions.migrateDevice}). */
  const migrate = async (local: DocumentStore, app: AppVersion, graph: StepGraph, apps: readonly AppVersion[]): Promise<void> => {
    await options.migrateDevice(local, { steps: graph, to: app.shape, shapes: apps.map((a) => a.shape) });
  };
  /** An updated device's binding: after every sync it migrates what the sync brought, before its app reads it. */
  const migratingAfterSync = (device: DeviceContext): DeviceBinding => {
    const synced = async (): Promise<undefined> => {
      await migrate(device.local, device.app, graphOf(device), device.apps);
      return undefined;
    };
    return { ...bindToMain(device), synced };
  };
  return {
    ...identityOf("client-side", CHANGE),
    caveats: [
      {
        invariant: "apps-read-their-data",
        when: "old-app-after-release",
        reason: "devices still on the old version receive documents that updated devices migrated and cannot read them; what they write stays old until an updated device migrates it",
      },
    ],
    migrationCode: "steps",
    prepareServer: async () => {},
    release: async (): Promise<ReleaseResult> => ({ downtimeMs: 0, documentsWritten: 0 }),
    openDevice: async (device) => {
      if (device.app.version !== CHANGE.to) return bindToMain(device);
      upgraded.set(device.local, device.app);
      return migratingAfterSync(device);
    },
    upgradeDevice: async (device) => {
      await migrate(device.local, device.app, graphOf(device), device.apps);
      upgraded.set(device.local, device.app);
      return migratingAfterSync(device);
    },
    settle: async (server) => {
      // Only what a deployed app does: updated devices merge old devices' edits into the migration and migrate what
      // old devices wrote since (deterministic revisions: devices agree on the result). The server runs nothing.
      const graph = graphOf(server);
      for (const [local, app] of upgraded) await migrate(local, app, graph, server.apps);
    },
    retire: async (): Promise<RetireResult> => ({ purgedDocs: 0, detail: "nothing to purge: every device migrates its own documents" }),
    close: async () => {
      upgraded.clear();
    },
  };
}
