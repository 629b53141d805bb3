/**
 * Client-side transformers: the bidirectional transformer core runs on the devices of the new app.
 *
 * Client-side transformers: the bidirectional transformer core (`strategies/transformer/`) runs on the
 * devices of the new app instead of on the server, which only stores and replicates. Four taxonomy cells,
 * one module; storage (multi-version or multi-db) and timing (eager or lazy) are its two options.
 *
 * Storage:
 * - multi-version (`client-transformer-documents`, `client-lazy-documents`): every version of a document
 *   side by side in the one server database (`task:<id>:v:1` next to `task:<id>:v:3`). An old
 *   device replicates its versions only (the `exact` channel of `strategies/channels.ts`); a new device
 *   replicates everything (it needs the old versions to translate them) and runs a transformer with both
 *   sides on its one local database (multi-version ids). Apps read plain ids through `versionView`.
 * - multi-db (`client-transformer-database`, `client-lazy-database`): one server database per schema major
 *   (`<db>-v1`, `<db>-v3`). An old device replicates with the old one; a new device keeps one local
 *   database per version (its main one for the old version, `-v3` for the new), each replicating with the
 *   server database of the same version, and its transformer translates between them.
 *
 * Timing:
 * - eager: upgrading a device pushes what its old app wrote, pulls the new version's documents and
 *   back-fills the new side from the old one; the device translates after every write of its app
 *   (`afterWrite`, as a client library translating on write would) and what replication brought, in
 *   `settle` (the harness calls it between sync rounds): deterministic, no live feeds.
 * - lazy: nothing is translated until the app touches it (`lazyAccess`). Reads show the entity as the
 *   transformer would translate it (`Transformer.readAt`), without storing it; a write stores that
 *   translation with the edit on top and translates the edit to the old version (`translateIds`), so old
 *   apps read it. Entities no new app writes never get a new-version document, not even once the old
 *   version is retired: new apps keep reading them through their translation.
 *
 * A new device runs `startDeviceTransformer` (`strategies/transformer/device.ts`, exported by `divan/client`),
 * as a team's new app does: this module adds only what the comparison needs around it (its replications and the
 * server's part of a retirement).
 *
 * Old devices run nothing new. A new device's transformer writes deterministic revisions
 * (`deterministicRevs`), so devices translating the same document write the same revision and
 * replication merges them without conflicts; stale translations that still meet are ended in `settle`
 * (`strategies/transformer/stale.ts`). Retiring the old version stops every device translating into it
 * (what old devices still push is translated out of it); multi-version storage also deletes on the server
 * the old versions' documents the new version holds translated (typed tombstones that only old channels
 * carry, and that end those documents, not their todos).
 *
 * What an old app writes reaches the new version only when a new-app device next syncs and translates it. Once
 * no new-app device is left (every one abandoned), an old app's deletion leaves the new version's documents of the
 * entity live on the server; a device that later joins or syncs on the new app translates the deletion before its
 * app reads (the caveat `untranslated-old-delete`).
 */
import { identityOf } from "../catalog.js";
import { multiVersionIds } from "../../adapters/ids.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { Fault } from "../../core/faults.js";
import type { DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { versionView } from "../../store/versions.js";
import { channelSelector } from "../channels.js";
import { appMajor, versionSuffix } from "../versions.js";
import { removeVersions, retiredVersions } from "../retire.js";
import { startDeviceTransformer, type DeviceTransformer } from "../transformer/device.js";
import { createTransformer } from "../transformer/transformer.js";
import type { AppVersion, DeviceBinding, DeviceContext, ReleaseResult, RetireResult, ServerContext, Strategy, StrategyOptions, SyncChannel } from "../types.js";

/** Where the versions live: side by side in one database, or one database per major. */
export type ClientTransformerStorage = "multi-version" | "multi-db";

/** Options of {@link createClientTransformerStrategy}. */
export interface ClientTransformerOptions extends StrategyOptions {
  /** `multi-version` (`client-transformer-documents`) or `multi-db` (`client-transformer-database`). */
  readonly storage: ClientTransformerStorage;
  /**
   * `eager` (default): a device back-fills the new version when it installs the new app and translates
   * everything replication brings. `lazy`: a device translates an entity only when its app touches it —
   * reads show the translation without storing it, writes store it with the edit and translate the edit
   * to the other version (`client-lazy-documents`, `client-lazy-database`).
   */
  readonly timing?: "eager" | "lazy";
  /** The app's steps (default: the ones the server and device contexts carry). */
  readonly steps?: readonly StepDefinition[];
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
}

/** `_local` checkpoint id of the device transformers. */
const CHECKPOINT_ID = "divan-client-transformer";

/** The databases of one device: where each version's documents live and how they replicate. */
interface DeviceStores {
  /** The old version's store (once it is retired, a source only: what it still receives is translated). */
  readonly old: DocumentStore;
  /** The new version's store. */
  readonly current: DocumentStore;
  /** Its replications. */
  readonly sync: readonly SyncChannel[];
}

/** What differs between the two storages. */
interface Layout {
  /** The last word of the strategy names (`client-transformer-<word>`, `client-lazy-<word>`). */
  readonly word: "documents" | "database";
  /** The binding of a device running the old app. */
  bindOld(device: DeviceContext, old: AppVersion): DeviceBinding;
  /** The stores of a device running the new app. */
  storesOfNew(device: DeviceContext, old: AppVersion): Promise<DeviceStores>;
  /** Server databases this layout uses, opened so they exist (and are measured). */
  prepare(server: ServerContext, apps: readonly AppVersion[]): Promise<void>;
  /**
   * Removes on the server what only the retired version needed and the kept one holds translated;
   * returns documents removed and a sentence.
   */
  retireOnServer(server: ServerContext, old: AppVersion, kept: AppVersion, steps: readonly StepDefinition[]): Promise<{ removed: number; detail: string }>;
}

const multiVersion: Layout = {
  word: "documents",
  bindOld: (device, old) => {
    const selector = channelSelector(old.shape);
    return { store: versionView(device.local, old.shape), sync: [{ local: device.local, database: "", pullSelector: selector, pushSelector: selector }] };
  },
  storesOfNew: async (device) => ({
    old: device.local,
    current: device.local,
    // Unfiltered: the device translates the old versions, so it needs them (the server holds nothing else).
    sync: [{ local: device.local, database: "" }],
  }),
  prepare: async () => {},
  retireOnServer: async (server, old, kept, steps) => {
    // The server translates nothing: a transformer over its database only tells which old documents the
    // new version holds translated (what no device translated yet stays, for new devices to translate).
    const planner = createTransformer({
      sides: [
        { name: old.version, store: server.main, shape: { ...old.shape } },
        { name: kept.version, store: server.main, shape: { ...kept.shape } },
      ],
      steps,
      ids: multiVersionIds,
    });
    const versions = retiredVersions(old.shape, [kept.shape]);
    const removed = await removeVersions(server.main, versions, { removal: "delete", only: await planner.translated(old.version) });
    const list = Object.entries(versions).map(([t, v]) => `${t}@${v.join(",")}`).join(", ") || "nothing";
    return { removed, detail: `deleted the ${removed} ${list} document(s) the new version holds translated on the server (typed tombstones, which only the old channel carries)` };
  },
};

const multiDb: Layout = {
  word: "database",
  bindOld: (device, old) => ({ store: device.local, sync: [{ local: device.local, database: versionSuffix(appMajor(old)) }] }),
  storesOfNew: async (device, old) => {
    const suffix = versionSuffix(appMajor(device.app));
    const current = await device.openLocal(suffix);
    // The device's main database is its old version's (an old app's database, or an empty one); it keeps
    // replicating after a retirement, for what old devices still push.
    const sync: SyncChannel[] = [
      { local: current, database: suffix },
      { local: device.local, database: versionSuffix(appMajor(old)) },
    ];
    return { old: device.local, current, sync };
  },
  prepare: async (server, apps) => {
    for (const app of apps) await server.open(versionSuffix(appMajor(app)));
  },
  retireOnServer: async (server, old) => ({
    removed: 0,
    detail: `${server.database}${versionSuffix(appMajor(old))} is kept for old clients to read the support notice and for what they still push`,
  }),
};

/**
 * Creates `client-transformer-documents` / `client-lazy-documents` (`multi-version`) or
 * `client-transformer-database` / `client-lazy-database` (`multi-db`), eager or lazy.
 */
export function createClientTransformerStrategy(options: ClientTransformerOptions): Strategy {
  const CHANGE = options.change;
  const layout = options.storage === "multi-version" ? multiVersion : multiDb;
  const lazy = options.timing === "lazy";
  const name = `client-${lazy ? "lazy" : "transformer"}-${layout.word}` as const;
  const devices = new Map<string, DeviceTransformer>();
  let retired = false;

  const appOf = (apps: readonly AppVersion[], version: string): AppVersion => {
    const app = apps.find((a) => a.version === version);
    if (app === undefined) throw new DivanError("CONFIG_INVALID", `${name}: no manifest for app ${version}.`, { details: { app: version } });
    return app;
  };

  /**
   * Starts the device's transformer (`startDeviceTransformer` of `divan/client`) and returns the binding of the
   * new app: it reads and writes through the device transformer's store. Eager: what a sync brought is
   * translated right away, before the app reads it.
   */
  const startDevice = async (device: DeviceContext, stores: DeviceStores, old: AppVersion): Promise<DeviceBinding> => {
    await devices.get(device.device)?.stop();
    const state = await startDeviceTransformer({
      old: { version: old.version, db: stores.old, shape: old.shape },
      current: { version: device.app.version, db: stores.current, shape: device.app.shape },
      steps: options.steps ?? device.steps,
      timing: lazy ? "lazy" : "eager",
      retired,
      checkpointId: CHECKPOINT_ID,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });
    devices.set(device.device, state);
    // What a sync brought without the documents a translation split off it is completed first, so the app can edit it.
    const synced = async (): Promise<undefined> => {
      await state.completeSplit();
      if (!lazy) await state.transformer.drain();
    };
    return { store: state.store, sync: stores.sync, synced };
  };

  return {
    ...identityOf(name, CHANGE),
    caveats: [
      {
        invariant: "no-lost-documents",
        when: "untranslated-old-delete",
        reason:
          "only new-app devices translate: an old app's deletion that reaches the server once none is left to sync leaves the new version's documents of the entity there until a device syncs on the new app, which translates the deletion before its app reads (no app shows the entity)",
      },
    ],
    migrationCode: "steps",

    async prepareServer(server) {
      await layout.prepare(server, [appOf(server.apps, CHANGE.from), appOf(server.apps, CHANGE.to)]);
    },

    // The server does nothing: each device back-fills its own data when it installs the new app.
    release: async (): Promise<ReleaseResult> => ({ downtimeMs: 0, documentsWritten: 0 }),

    async openDevice(device) {
      const old = appOf(device.apps, CHANGE.from);
      if (device.app.version !== CHANGE.to) return layout.bindOld(device, old);
      return startDevice(device, await layout.storesOfNew(device, old), old);
    },

    async upgradeDevice(device, from, previous) {
      if (device.app.version !== CHANGE.to) return previous;
      const old = appOf(device.apps, CHANGE.from);
      const stores = await layout.storesOfNew(device, old);
      // Push what the old app wrote, pull the new version's documents (so the back-fill builds on them and
      // writes nothing another device wrote already). Offline: back-fill from the local data alone.
      try {
        for (const channel of previous.sync) await replicate(channel.local, await device.server(channel.database), channel.pushSelector ? { selector: channel.pushSelector } : {});
        for (const channel of stores.sync) await replicate(await device.server(channel.database), channel.local, channel.pullSelector ? { selector: channel.pullSelector } : {});
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
      }
      const binding = await startDevice(device, stores, from);
      if (!lazy) await devices.get(device.device)?.transformer.drain();
      return binding;
    },

    async settle() {
      // Every new-app device translates what replication brought it (local work: offline devices too), and
      // ends the translations other devices made of source revisions it now holds newer ones of.
      // Lazy devices translate only what their app touches, and deletions: a entity an old app deleted must end in
      // the new version too (else the new version's documents of it stay, and it comes back).
      for (const state of devices.values()) await state.synced();
    },

    async retire(server, app): Promise<RetireResult> {
      if (app.version !== CHANGE.from) return { purgedDocs: 0, detail: `app ${app.version} is not the version this strategy keeps in step: nothing to retire` };
      retired = true;
      // Nothing is translated into the retired version any more; what it holds and what old devices still
      // push is translated out of it (lazily: when an app touches it).
      for (const state of devices.values()) await state.retire();
      const { removed, detail } = await layout.retireOnServer(server, app, appOf(server.apps, CHANGE.to), options.steps ?? server.steps);
      return { purgedDocs: removed, detail: `every new-app device stopped translating into ${app.version}; ${detail}` };
    },

    async close() {
      for (const state of devices.values()) await state.stop();
      devices.clear();
    },
  };
}
