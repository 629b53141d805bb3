/**
 * The transformer a new-app device runs on its own databases (client-side transformers), eager or lazy.
 *
 * A device of the new app keeps the old version's documents and the new version's in step itself, so the server
 * only stores and replicates (`client-transformer-*` and `client-lazy-*` strategies; `divan/client` exports
 * {@link startDeviceTransformer}). Where the versions live decides the storage:
 *
 * - one database for both (`old.store === current.store`, multi-version ids `<type>:<id>:v:<n>`): the device
 *   replicates the whole database (it needs the old versions to translate them), old devices replicate their
 *   channel (`syncChannel`); the app reads plain ids through {@link DeviceTransformer.store};
 * - one database per version (plain ids in each), each replicating with the server database of its version.
 *
 * Timing: `eager` back-fills the new version from the old one when it starts, and translates every write of
 * the app as it is made and, through {@link DeviceTransformer.synced}, what a sync brought. `lazy` translates an
 * entity only when the app touches it: reads show the translation without storing it, a write stores it with
 * the edit on top and translates the edit to the old version (`lazy-access.ts`).
 *
 * Revisions are derived from content and parent (`deterministicRevs`): devices that translate the same document
 * write the same revision; translations of different revisions that still meet are ended after each sync
 * (`stale.ts`). Browser-safe.
 */
import { multiVersionIds, singleVersionIds } from "../../adapters/ids.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import type { Fault } from "../../core/faults.js";
import { pouchStore } from "../../store/pouch.js";
import type { BulkDocsOptions, Doc, DocumentStore, WriteResult } from "../../store/port.js";
import { versionView } from "../../store/versions.js";
import { updateLocal } from "../runner/local.js";
import { completeSplit } from "../runner/split.js";
import { lazyAccess } from "./lazy-access.js";
import { endStaleTranslations } from "./stale.js";
import { createTransformer, type Transformer, type TransformerSide } from "./transformer.js";

/** One app version's documents on the device. */
export interface DeviceVersion {
  /** The app version (the transformer side's name, the provenance `from` of its translations). */
  readonly version: string;
  /** The device's database that holds them (a PouchDB or a divan store). */
  readonly db: PouchDB.Database | DocumentStore;
  /** Type → major version of that app, e.g. `{ "task": 3, "task-state": 1 }`. */
  readonly shape: Shape;
}

/** Options of {@link startDeviceTransformer}. */
export interface DeviceTransformerOptions {
  /** The version the old app reads (the source of the back-fill). */
  readonly old: DeviceVersion;
  /** The version this device's app reads and writes. */
  readonly current: DeviceVersion;
  /** Every step between the two shapes. */
  readonly steps: readonly StepDefinition[];
  /** `eager` (default): back-fill now and translate every write and sync. `lazy`: translate what the app touches. */
  readonly timing?: "eager" | "lazy";
  /** The old version is retired: nothing is translated into it any more (what it still receives is translated out). */
  readonly retired?: boolean;
  /** `_local` id of the checkpoints (default `divan-client-transformer`). */
  readonly checkpointId?: string;
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
}

/** A running device transformer. */
export interface DeviceTransformer {
  /**
   * What the app reads and writes: its version's documents with plain ids (`<type>:<id>`). Eager: writes are
   * translated to the old version as they are made. Lazy: reads show what is not translated yet as it would be.
   */
  readonly store: DocumentStore;
  /** The transformer core (status, quarantine, conflicts). */
  readonly transformer: Transformer;
  /**
   * Run right after each sync, before the app reads: writes every document a translation split off (`divan.split`)
   * that the sync brought the first document of without it, with the revision the translation gave it (another
   * device may push an entity's first document and be cut off before the others); resolves with their ids.
   * {@link synced} runs it first.
   */
  completeSplit(): Promise<string[]>;
  /**
   * Run after each sync: translates what the sync brought (lazy: deletions only, so a deleted entity ends in both
   * versions) and ends stale translations of documents other devices translated too; resolves with the ids of
   * the documents it ended a leaf of.
   */
  synced(): Promise<string[]>;
  /** Retires the old version: nothing is translated into it any more. */
  retire(): Promise<void>;
  /** Stops the transformer (checkpoints saved). */
  stop(): Promise<void>;
}

/** `_local` checkpoint id of device transformers. */
const CHECKPOINT_ID = "divan-client-transformer";

/** The `_local` document noting the sequence the last look for incomplete splits began at. */
const SPLIT_CHECKED_ID = "_local/divan-split-checked";

function storeOf(db: PouchDB.Database | DocumentStore): DocumentStore {
  return typeof (db as DocumentStore).replicationEndpoint === "function" ? (db as DocumentStore) : pouchStore(db as PouchDB.Database);
}

/** Starts the transformer of a new-app device (eager: after back-filling the new version). */
export async function startDeviceTransformer(options: DeviceTransformerOptions): Promise<DeviceTransformer> {
  const lazy = options.timing === "lazy";
  const [oldStore, currentStore] = [storeOf(options.old.db), storeOf(options.current.db)];
  const shared = oldStore === currentStore || options.old.db === options.current.db;
  const oldSide: TransformerSide = { name: options.old.version, store: oldStore, shape: { ...options.old.shape } };
  // The new version's writes are all made by new-app devices, each translating them as it makes them.
  const newSide: TransformerSide = { name: options.current.version, store: shared ? oldStore : currentStore, shape: { ...options.current.shape }, translatedOnWrite: true };
  const transformer = createTransformer({
    sides: lazy ? [oldSide, newSide] : [oldSide],
    steps: options.steps,
    ids: shared ? multiVersionIds : singleVersionIds,
    checkpointId: options.checkpointId ?? CHECKPOINT_ID,
    deterministicRevs: true,
    recordSplit: true,
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  const sides = [oldSide, newSide];
  /** Per store, over what changed since the last pass began (noted in a `_local` document). */
  const completeAll = async (): Promise<string[]> => {
    const ids: string[] = [];
    for (const store of new Set(sides.map((s) => s.store))) {
      const last = await store.getLocal(SPLIT_CHECKED_ID);
      const start = (await store.info()).updateSeq;
      ids.push(...(await completeSplit(store, typeof last?.["since"] === "string" ? last["since"] : undefined)));
      await updateLocal(store, SPLIT_CHECKED_ID, () => ({ since: start }));
    }
    return ids;
  };
  // What the device holds of an entity without the documents a translation split off it is completed before
  // anything is translated: a translation made here instead would be another revision of them.
  await completeAll();
  // Retired first: the back-fill then reads what the retirement removed from the old side as gone, not as
  // deleted by a user (a device upgrading after the retirement holds those tombstones).
  if (options.retired === true) await transformer.retireSide(oldSide.name);
  if (!lazy) await transformer.addSide(newSide, oldSide.name);
  const access = lazy
    ? lazyAccess(newSide.store, shared ? [] : [oldSide.store], newSide.name, () => transformer, options.faults)
    : afterWrite(newSide.store, () => transformer.drain());
  return {
    store: shared ? versionView(access, newSide.shape) : access,
    transformer,
    completeSplit: completeAll,
    async synced() {
      await completeAll();
      if (!lazy) await transformer.drain();
      else {
        // A lazy device translates deletions too: an entity an old app deleted must end in the new version (else
        // the new version's documents of it stay, and it comes back).
        const deleted = new Set<string>();
        for (const store of new Set(sides.map((s) => s.store))) {
          for (const c of (await store.changes({})).results) if (c.deleted === true && !c.id.startsWith("_")) deleted.add(c.id);
        }
        if (deleted.size > 0) await transformer.translateIds([...deleted]);
      }
      return endStaleTranslations(transformer, { steps: options.steps });
    },
    async retire() {
      if (!lazy) await transformer.drain();
      await transformer.retireSide(oldSide.name);
    },
    stop: () => transformer.stop(),
  };
}

/**
 * `store`, with `then` run after each successful `bulkDocs`/`put`/`remove` (translating the app's writes as they
 * are made). Every other call goes to `store` unchanged.
 */
function afterWrite(store: DocumentStore, then: () => Promise<unknown>): DocumentStore {
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
