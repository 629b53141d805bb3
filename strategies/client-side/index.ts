/**
 * `client-side`: each device migrates its own PouchDB when its app updates, then replicates.
 *
 * `client-side`: each device migrates its own PouchDB when its app updates (`divan/client`'s
 * `migrateAfterSync`: the eager runner on the local database, after merging old edits into the migration), then replicates. New revisions are derived
 * deterministically from content and parent revision (`deterministicRevs`), so devices that migrate the
 * same documents write the same revisions: the Conflict storm ends with zero conflicts.
 *
 * The server never migrates anything. Old apps are built with divan/client: at the release the declarative steps
 * and the new shape are published in a replicated document, and after every sync an old app merges its own edits that
 * conflict with a migration another device made (`mergeAfterSync`: to the revisions an updated device would write), so
 * an old edit is not left on a conflicting revision when no updated device syncs again (unless the old app lacks the
 * bodies of revisions on the migrated side that may be a user's: it leaves that merge to an updated device, which holds
 * them, so the two never merge one conflict differently). Caveat for devices still on
 * the old version: they receive the migrated documents and cannot read them, and the documents they keep writing stay
 * old until an updated device migrates them (an updated device migrates again after every sync, i.e. on `settle`).
 */
import { identityOf } from "../catalog.js";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { DeclarativeStep, StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { publishSteps, stepGraphOf } from "../steps.js";
import { getIfExists, type DocumentStore } from "../../store/port.js";
import { bindToMain, type AppVersion, type DeviceBinding, type DeviceContext, type ReleaseResult, type RetireResult, type Strategy, type StrategyOptions } from "../types.js";

/** The replicated document that carries the declarative steps and the shape updated devices migrate to. */
export const CLIENT_SIDE_STEPS_ID = "_design/divan-client-side";

/** What a device passes to {@link ClientSideOptions.migrateDevice} and {@link ClientSideOptions.mergeDevice}. */
export interface DeviceMigration {
  readonly steps: StepGraph;
  /** The shape updated devices migrate to. */
  readonly to: Shape;
  /** Every shape an entity's documents may have. */
  readonly shapes: readonly Shape[];
}

/** Options of {@link createClientSideStrategy}. */
export interface ClientSideOptions extends StrategyOptions {
  /** The app's steps (default: the ones the server and device contexts carry). */
  readonly steps?: readonly StepDefinition[];
  /**
   * What an updated device runs when its app opens and after every sync: `migrateAfterSync` of `divan/client`
   * (merge old apps' edits that conflict with the migration, then migrate; the comparison passes exactly that).
   */
  readonly migrateDevice: (local: DocumentStore, options: DeviceMigration) => Promise<unknown>;
  /**
   * What an old app runs after every sync once it learned the steps from the database: `mergeAfterSync` of
   * `divan/client` (merge its edits that conflict with a migration, migrate nothing). Without it old apps merge
   * nothing, and their edits concurrent with a migration wait on a conflicting revision for an updated device.
   */
  readonly mergeDevice?: (local: DocumentStore, options: DeviceMigration) => Promise<unknown>;
}

/** The steps and shape an old app learned from {@link CLIENT_SIDE_STEPS_ID} (undefined before the release). */
async function learned(local: DocumentStore, cache: Map<string, DeviceMigration>, app: AppVersion): Promise<DeviceMigration | undefined> {
  const doc = await getIfExists(local, CLIENT_SIDE_STEPS_ID);
  if (doc === undefined) return undefined;
  const key = `${doc._rev ?? ""}:${JSON.stringify(app.shape)}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const to = doc["shape"] as Shape;
  const found: DeviceMigration = { steps: createStepGraph(doc["steps"] as DeclarativeStep[]), to, shapes: [app.shape, to] };
  cache.set(key, found);
  return found;
}

/** Creates the `client-side` strategy. */
export function createClientSideStrategy(options: ClientSideOptions): Strategy {
  const CHANGE = options.change;
  const stepsOf = (context: { readonly steps: readonly StepDefinition[] }): readonly StepDefinition[] => options.steps ?? context.steps;
  const graphOf = (context: { readonly steps: readonly StepDefinition[] }) => stepGraphOf(stepsOf(context));
  const upgraded = new Map<DocumentStore, AppVersion>();
  const learnedSteps = new Map<string, DeviceMigration>();
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
  /** An old app's binding: after every sync it merges its edits into migrations, with the steps it learned. */
  const mergingAfterSync = (device: DeviceContext): DeviceBinding => {
    const merge = options.mergeDevice;
    if (merge === undefined) return bindToMain(device);
    const synced = async (): Promise<undefined> => {
      const steps = await learned(device.local, learnedSteps, device.app);
      if (steps !== undefined) await merge(device.local, steps);
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
    release: async (server, _from, to): Promise<ReleaseResult> => {
      if (options.mergeDevice === undefined) return { downtimeMs: 0, documentsWritten: 0 };
      await publishSteps(server.main, CLIENT_SIDE_STEPS_ID, stepsOf(server), { shape: { ...to.shape } });
      return { downtimeMs: 0, documentsWritten: 1 };
    },
    openDevice: async (device) => {
      if (device.app.version !== CHANGE.to) return mergingAfterSync(device);
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
      learnedSteps.clear();
    },
  };
}
