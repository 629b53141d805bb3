/**
 * `live-adapter`: single-version, lazy, client-side ("adapter migration").
 *
 * Every device replicates the one database. The app reads documents of any version through a live
 * adapter (`divan/client`) that translates them to its own shape, and writes its own version; an edit
 * made by an old app on a newer document is translated up with the stored document as base, so
 * documents only ever move up and nothing is lost. Documents nobody touches stay at their old version.
 *
 * ## What an old app reads after the new app wrote documents at their new versions
 * The old app was released before the new one existed: it cannot ship the steps to the new versions. Two
 * honest models:
 *
 * - `live-adapter` (default, `legacy: "steps-from-database"`): the old app was built with divan/client
 *   from its first release, and its adapter reads declarative steps as data from a replicated document
 *   (`_design/divan-steps`, written on the server when the new app ships). So the old app learns the new
 *   steps without an update and reads and edits new documents. Requirement, not magic: this works only when
 *   the old app already carried the adapter, and only for declarative steps (a function step cannot travel
 *   as data; such a release would fall back to the second model for old apps).
 * - `live-adapter-new-app-only` (`legacy: "none"`): only the new app has an adapter; the old app is the
 *   plain app as it shipped. It cannot read or edit what the new app wrote: declared as a caveat, never faked.
 *
 * Conflicts: reading never writes (no write-back), so devices only write what users change, and, after each
 * sync, the end of deletions the sync completed (a document of a deleted entity that arrived late, with
 * deterministic tombstones: see `LiveAdapter.endDeleted`).
 */
import { identityOf } from "../catalog.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import { createLiveAdapter } from "../live/adapter.js";
import { liveStore } from "../live/store.js";
import { publishSteps } from "../steps.js";
import { hasFault, type Fault } from "../../core/faults.js";
import type { Registry } from "../../schemas/registry.js";
import type { Caveat, DeviceBinding, DeviceContext, ReleaseResult, RetireResult, Strategy, StrategyOptions } from "../types.js";

/** The id of the replicated document that carries declarative steps as data. */
export const STEPS_DOC_ID = "_design/divan-steps";

/** Options of {@link createLiveAdapterStrategy}. */
export interface LiveAdapterStrategyOptions extends StrategyOptions {
  /**
   * How an old app reads documents newer than itself: `steps-from-database` (it was built with
   * divan/client and learns declarative steps from {@link STEPS_DOC_ID}), or `none` (it has no adapter).
   * Default `steps-from-database`.
   */
  legacy?: "steps-from-database" | "none";
  /** Every step of the app family (default: the context's). Each app version ships those up to its own shape. */
  steps?: readonly StepDefinition[];
  /** The registry (default: the one the device context carries). */
  registry?: Registry;
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  faults?: readonly Fault[];
}

/** True when every type of `shape` is at most at the version `app` reads. */
function within(shape: Shape, app: Shape): boolean {
  return Object.entries(shape).every(([t, v]) => app[t] !== undefined && v <= app[t]!);
}

/** Creates the live-adapter strategy (see the module documentation for the two legacy models). */
export function createLiveAdapterStrategy(options: LiveAdapterStrategyOptions): Strategy {
  const legacy = options.legacy ?? "steps-from-database";
  const stepsOf = (context: { readonly steps: readonly StepDefinition[] }): readonly StepDefinition[] => options.steps ?? context.steps;
  const registryOf = (context: { readonly registry: Registry }): Registry => options.registry ?? context.registry;
  const { from, to } = options.change;

  const bind = async (device: DeviceContext): Promise<DeviceBinding> => {
    const sync = [{ local: device.local, database: "" }];
    const isNewest = device.app.version === to;
    if (legacy === "none" && !isNewest) return { store: device.local, sync };
    // An app ships the steps between shapes it knows; newer steps can only reach it as data.
    // A step to a shape the app has: types it drops (documents merged into others) are not in the app's shape.
    const shipped = stepsOf(device).filter((s) => within(s.to, device.app.shape) && Object.entries(s.from).every(([t, v]) => device.app.shape[t] === undefined || v <= device.app.shape[t]!));
    const adapter = createLiveAdapter(device.local, {
      registry: registryOf(device),
      steps: shipped,
      shape: device.app.shape,
      ...(legacy === "steps-from-database" && !hasFault(options.faults, "ignore-steps-document") ? { stepsDocId: STEPS_DOC_ID } : {}),
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });
    // After each sync, deletions the sync completed end on the device (a late document of a deleted entity).
    let since: string | undefined;
    const synced = async (): Promise<undefined> => {
      since = (await adapter.endDeleted(since)).lastSeq;
      return undefined;
    };
    return { store: liveStore(adapter), sync, synced };
  };

  const legacyCaveats: Caveat[] =
    legacy === "none"
      ? [
          {
            invariant: "apps-read-their-data",
            when: "old-app-after-release",
            reason:
              `only the new app has an adapter: the never-updated app ${from} cannot read or edit the documents app ${to} writes at its new versions (single-version storage holds one version)`,
          },
        ]
      : [];

  return {
    ...identityOf(legacy === "none" ? "live-adapter-new-app-only" : "live-adapter", options.change),
    caveats: legacyCaveats,
    migrationCode: "steps",
    prepareServer: async () => {},
    async release(server): Promise<ReleaseResult> {
      if (legacy !== "steps-from-database") return { downtimeMs: 0, documentsWritten: 0 };
      await publishSteps(server.main, STEPS_DOC_ID, stepsOf(server));
      return { downtimeMs: 0, documentsWritten: 1 };
    },
    openDevice: (device) => bind(device),
    upgradeDevice: (device) => bind(device),
    settle: async () => {},
    retire: async (): Promise<RetireResult> => ({
      purgedDocs: 0,
      detail: "nothing to purge: single-version storage keeps one version of each document; untouched documents stay old and are read through the adapter",
    }),
    close: async () => {},
  };
}
