/**
 * Client-side transformers: the bidirectional transformer core (`strategies/transformer/`) runs on the
 * devices of the new app instead of on the server, which only stores and replicates. Two taxonomy cells,
 * one module; the storage is the only difference:
 *
 * - `client-transformer-documents` (multi-version · eager · client): every version of a document side by
 *   side in the one server database (`todo-item:<id>:v:1` next to `todo-item:<id>:v:3`). An old device
 *   replicates its versions only (the `exact` channel of `strategies/channels.ts`); a new device replicates
 *   everything (it needs the old versions to translate them) and runs a transformer with both sides on its
 *   one local database (multi-version ids). Apps read plain ids through `versionView`.
 * - `client-transformer-database` (multi-db · eager · client): one server database per schema major
 *   (`<db>-v1`, `<db>-v3`). An old device replicates with the old one; a new device keeps one local
 *   database per version (its main one for the old version, `-v3` for the new), each replicating with the
 *   server database of the same version, and its transformer translates between them.
 *
 * Old devices run nothing new. A new device's transformer writes deterministic revisions
 * (`deterministicRevs`), so devices translating the same document write the same revision and
 * replication merges them without conflicts. It translates after every write of the app (`afterWrite`,
 * as a client library translating on write would) and for what replication brought, in `settle` (the
 * harness calls it between sync rounds): deterministic, no live feeds. Upgrading a device pushes what its
 * old app wrote, pulls the new version's documents and back-fills the new side from the old one (eager).
 * Retiring the old version stops every device translating into and out of it; multi-version storage also
 * deletes the old versions' documents on the server (typed tombstones that only old channels carry).
 */
import { multiVersionIds, singleVersionIds } from "../../adapters/ids.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { BulkDocsOptions, Doc, DocumentStore, WriteResult } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { versionView } from "../../store/versions.js";
import { channelSelector } from "../channels.js";
import { appMajor, versionSuffix } from "../versions.js";
import { removeVersions, retiredVersions } from "../per-version-documents/retire.js";
import { dropStaleTranslations } from "../transformer/stale.js";
import { createTransformer, type Transformer, type TransformerSide } from "../transformer/transformer.js";
import type { AppVersion, DeviceBinding, DeviceContext, ReleaseResult, RetireResult, ServerContext, Strategy, SyncChannel } from "../types.js";

/** Where the versions live: side by side in one database, or one database per major. */
export type ClientTransformerStorage = "multi-version" | "multi-db";

/** Options of {@link createClientTransformerStrategy}. */
export interface ClientTransformerOptions {
  /** `multi-version` (`client-transformer-documents`) or `multi-db` (`client-transformer-database`). */
  readonly storage: ClientTransformerStorage;
  /** The app's steps (default: the ones the server and device contexts carry). */
  readonly steps?: readonly StepDefinition[];
}

/** The app change this strategy handles. */
const CHANGE = { from: "1.0.0", to: "3.0.0" } as const;
/** `_local` checkpoint id of the device transformers. */
const CHECKPOINT_ID = "divan-client-transformer";

/** The databases of one device: where each version's documents live and how they replicate. */
interface DeviceStores {
  /** The old version's store, or `undefined` once that version is retired. */
  readonly old: DocumentStore | undefined;
  /** The new version's store. */
  readonly current: DocumentStore;
  /** The store the new app reads and writes. */
  readonly app: DocumentStore;
  /** Its replications. */
  readonly sync: readonly SyncChannel[];
}

/** What differs between the two storages. */
interface Layout {
  readonly name: string;
  readonly description: string;
  /** The binding of a device running the old app. */
  bindOld(device: DeviceContext, old: AppVersion): DeviceBinding;
  /** The stores of a device running the new app (`retired`: the old version is no longer kept in step). */
  storesOfNew(device: DeviceContext, old: AppVersion, retired: boolean): Promise<DeviceStores>;
  /** Server databases this layout uses, opened so they exist (and are measured). */
  prepare(server: ServerContext, apps: readonly AppVersion[]): Promise<void>;
  /** Removes what only the retired version needed on the server; returns documents removed and a sentence. */
  retireOnServer(server: ServerContext, old: AppVersion, kept: AppVersion): Promise<{ removed: number; detail: string }>;
}

const multiVersion: Layout = {
  name: "client-transformer-documents",
  description:
    "Every version of a document side by side in one server database; new-app devices keep the versions in step with a transformer on their own database (deterministic revisions), the server only stores and replicates.",
  bindOld: (device, old) => {
    const selector = channelSelector(old.shape);
    return { store: versionView(device.local, old.shape), sync: [{ local: device.local, database: "", pullSelector: selector, pushSelector: selector }] };
  },
  storesOfNew: async (device, _old, retired) => ({
    old: retired ? undefined : device.local,
    current: device.local,
    app: versionView(device.local, device.app.shape),
    // Unfiltered: the device translates the old versions, so it needs them (the server holds nothing else).
    sync: [{ local: device.local, database: "" }],
  }),
  prepare: async () => {},
  retireOnServer: async (server, old, kept) => {
    const versions = retiredVersions(old.shape, [kept.shape]);
    const removed = await removeVersions(server.main, versions, { removal: "delete" });
    const list = Object.entries(versions).map(([t, v]) => `${t}@${v.join(",")}`).join(", ") || "nothing";
    return { removed, detail: `deleted ${removed} ${list} document(s) on the server (typed tombstones, which only the old channel carries)` };
  },
};

const multiDb: Layout = {
  name: "client-transformer-database",
  description:
    "One server database per schema major; new-app devices keep one local database per version, each replicating with its server database, and translate between them with a transformer (deterministic revisions).",
  bindOld: (device, old) => ({ store: device.local, sync: [{ local: device.local, database: versionSuffix(appMajor(old)) }] }),
  storesOfNew: async (device, old, retired) => {
    const suffix = versionSuffix(appMajor(device.app));
    const current = await device.openLocal(suffix);
    const sync: SyncChannel[] = [{ local: current, database: suffix }];
    // The device's main database is its old version's (an old app's database, or an empty one).
    if (!retired) sync.push({ local: device.local, database: versionSuffix(appMajor(old)) });
    return { old: retired ? undefined : device.local, current, app: current, sync };
  },
  prepare: async (server, apps) => {
    for (const app of apps) await server.open(versionSuffix(appMajor(app)));
  },
  retireOnServer: async (server, old) => ({
    removed: 0,
    detail: `${server.database}${versionSuffix(appMajor(old))} is kept for old clients to read the support notice; nothing translates into it any more`,
  }),
};

/** One upgraded (or new) device: its transformer, and the stores it keeps in step. */
interface DeviceState {
  readonly transformer: Transformer;
  readonly oldSide: string | undefined;
  /** Its sides, for {@link dropStaleTranslations}. */
  readonly sides: readonly TransformerSide[];
}

/** Creates `client-transformer-documents` (`multi-version`) or `client-transformer-database` (`multi-db`). */
export function createClientTransformerStrategy(options: ClientTransformerOptions): Strategy {
  const layout = options.storage === "multi-version" ? multiVersion : multiDb;
  const devices = new Map<string, DeviceState>();
  let retired = false;

  const appOf = (apps: readonly AppVersion[], version: string): AppVersion => {
    const app = apps.find((a) => a.version === version);
    if (app === undefined) throw new DivanError("CONFIG_INVALID", `${layout.name}: no manifest for app ${version}.`, { details: { app: version } });
    return app;
  };

  /**
   * Creates the device's transformer: the new side, and unless the old version is retired the old side,
   * from which the new side is back-filled (every entity the device holds, idempotent).
   */
  const startDevice = async (device: DeviceContext, stores: DeviceStores, old: AppVersion): Promise<void> => {
    await devices.get(device.device)?.transformer.stop();
    const ids = options.storage === "multi-version" ? multiVersionIds : singleVersionIds;
    const newSide: TransformerSide = { name: device.app.version, store: stores.current, shape: { ...device.app.shape } };
    const oldSide: TransformerSide | undefined = stores.old === undefined ? undefined : { name: old.version, store: stores.old, shape: { ...old.shape } };
    const transformer = createTransformer({
      sides: oldSide === undefined ? [newSide] : [oldSide],
      steps: options.steps ?? device.steps,
      ids,
      checkpointId: CHECKPOINT_ID,
      deterministicRevs: true,
    });
    if (oldSide !== undefined) await transformer.addSide(newSide, oldSide.name);
    devices.set(device.device, { transformer, oldSide: oldSide?.name, sides: oldSide === undefined ? [newSide] : [oldSide, newSide] });
  };

  /** The binding of a new-app device: the app's writes are translated as they are made. */
  const bindNew = (device: DeviceContext, stores: DeviceStores): DeviceBinding => ({
    store: afterWrite(stores.app, async () => {
      await devices.get(device.device)?.transformer.drain();
    }),
    sync: stores.sync,
  });

  return {
    name: layout.name,
    description: layout.description,
    taxonomy: { storage: options.storage, timing: "eager", place: "client" },
    change: CHANGE,
    caveats: [],
    migrationCode: "steps",

    async prepareServer(server) {
      await layout.prepare(server, [appOf(server.apps, CHANGE.from), appOf(server.apps, CHANGE.to)]);
    },

    // The server does nothing: each device back-fills its own data when it installs the new app.
    release: async (): Promise<ReleaseResult> => ({ downtimeMs: 0, documentsWritten: 0 }),

    async openDevice(device) {
      const old = appOf(device.apps, CHANGE.from);
      if (device.app.version !== CHANGE.to) return layout.bindOld(device, old);
      const stores = await layout.storesOfNew(device, old, retired);
      await startDevice(device, stores, old);
      return bindNew(device, stores);
    },

    async upgradeDevice(device, from, previous) {
      if (device.app.version !== CHANGE.to) return previous;
      const old = appOf(device.apps, CHANGE.from);
      const stores = await layout.storesOfNew(device, old, retired);
      // Push what the old app wrote, pull the new version's documents (so the back-fill builds on them and
      // writes nothing another device wrote already). Offline: back-fill from the local data alone.
      try {
        for (const channel of previous.sync) await replicate(channel.local, await device.server(channel.database), channel.pushSelector ? { selector: channel.pushSelector } : {});
        for (const channel of stores.sync) await replicate(await device.server(channel.database), channel.local, channel.pullSelector ? { selector: channel.pullSelector } : {});
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
      }
      await startDevice(device, stores, from);
      await devices.get(device.device)?.transformer.drain();
      return bindNew(device, stores);
    },

    async settle() {
      // Every new-app device translates what replication brought it (local work: offline devices too), and
      // ends the translations other devices made of source revisions it now holds newer ones of.
      for (const state of devices.values()) {
        await state.transformer.drain();
        if ((await dropStaleTranslations(state.sides)) > 0) await state.transformer.drain();
      }
    },

    async retire(server, app): Promise<RetireResult> {
      if (app.version !== CHANGE.from) return { purgedDocs: 0, detail: `app ${app.version} is not the version this strategy keeps in step: nothing to retire` };
      retired = true;
      for (const state of devices.values()) {
        await state.transformer.drain();
        if (state.oldSide === app.version) await state.transformer.removeSide(app.version);
      }
      const { removed, detail } = await layout.retireOnServer(server, app, appOf(server.apps, CHANGE.to));
      return { purgedDocs: removed, detail: `every new-app device stopped translating into and out of ${app.version}; ${detail}` };
    },

    async close() {
      for (const state of devices.values()) await state.transformer.stop();
      devices.clear();
    },
  };
}

/**
 * `store`, with `then` run after each successful `bulkDocs`/`put`/`remove` (a client library translating
 * the app's writes as they are made). Every other call goes to `store` unchanged.
 */
function afterWrite(store: DocumentStore, then: () => Promise<void>): DocumentStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === "bulkDocs") {
        return async (docs: Doc[], o?: BulkDocsOptions): Promise<WriteResult[]> => {
          const r = await target.bulkDocs(docs, o);
          await then();
          return r;
        };
      }
      if (key === "put") {
        return async (doc: Doc): Promise<{ id: string; rev: string }> => {
          const r = await target.put(doc);
          await then();
          return r;
        };
      }
      if (key === "remove") {
        return async (id: string, rev: string): Promise<{ id: string; rev: string }> => {
          const r = await target.remove(id, rev);
          await then();
          return r;
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
