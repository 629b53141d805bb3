/**
 * The `divan/client` PouchDB plugin, registered explicitly (CONVENTIONS §12):
 *
 * ```ts
 * import PouchDB from "pouchdb-browser";
 * import { divan } from "divan/client";
 * const Pouch = PouchDB.plugin(divan);
 * const db = new Pouch("todos");
 * db.divan({ registry, steps: todoSteps, manifest }); // same as db.divan.configure(...)
 * const todo = await db.divan.get("todo-item:42");     // at the app's versions, whatever is stored
 * await db.divan.put({ ...todo, title: "new" });        // the app's version, nothing lost
 * ```
 *
 * `db.divan` is one handle per database instance; until it is configured every method throws
 * `CONFIG_INVALID`. Registering the plugin twice is harmless.
 */
import { DivanError } from "../core/errors.js";
import { pouchStore } from "../store/pouch.js";
import type { Doc, DocumentStore, FindRequest, AllDocsOptions, ChangesOptions } from "../store/port.js";
import { createLiveAdapter, type LiveAdapter, type LiveChangesPage, type LiveConfig, type LiveFindResult, type LivePage, type LiveWriteResult } from "./live.js";
import { liveStore } from "./store.js";

/** `db.divan`: call it (or {@link DivanHandle.configure}) with the app's configuration, then read and write through it. */
export interface DivanHandle {
  /** Configures the live adapter of this database (replacing an earlier configuration); returns the handle. */
  (config: LiveConfig): DivanHandle;
  /** Configures the live adapter of this database (replacing an earlier configuration); returns the handle. */
  configure(config: LiveConfig): DivanHandle;
  /** True once configured. */
  readonly configured: boolean;
  /** The live adapter (`CONFIG_INVALID` before configuration). */
  readonly adapter: LiveAdapter;
  /** One document at the app's version (see {@link LiveAdapter.get}). */
  get(id: string, options?: { rev?: string }): Promise<Doc>;
  /** A page of documents at the app's version; problems are rows (see {@link LiveAdapter.allDocs}). */
  allDocs(options?: AllDocsOptions): Promise<LivePage>;
  /** A Mango query in the app's version (see {@link LiveAdapter.find}). */
  find(request: FindRequest): Promise<LiveFindResult>;
  /** A page of `_changes` as the app sees it (see {@link LiveAdapter.changes}). */
  changes(options?: ChangesOptions): Promise<LiveChangesPage>;
  /** Writes one document at the app's version (see {@link LiveAdapter.put}). */
  put(doc: Doc): Promise<{ id: string; rev: string }>;
  /** Writes documents at the app's version, one result per input (see {@link LiveAdapter.bulkDocs}). */
  bulkDocs(docs: readonly Doc[]): Promise<LiveWriteResult[]>;
  /** The adapter as a {@link DocumentStore}, for code written against the port. */
  store(): DocumentStore;
}

/** What the plugin adds to every PouchDB database. */
export interface DivanPluginProps {
  /** The live adapter handle of this database. */
  readonly divan: DivanHandle;
}

const handles = new WeakMap<object, DivanHandle>();

function createHandle(db: PouchDB.Database): DivanHandle {
  let adapter: LiveAdapter | undefined;
  const need = (): LiveAdapter => {
    if (adapter === undefined) {
      throw new DivanError("CONFIG_INVALID", `db.divan of ${db.name} is not configured: call db.divan.configure({ registry, steps, manifest }) first`, {
        details: { db: db.name },
      });
    }
    return adapter;
  };
  const configure = (config: LiveConfig): DivanHandle => {
    adapter = createLiveAdapter(pouchStore(db), config);
    return handle;
  };
  const handle = ((config: LiveConfig) => configure(config)) as DivanHandle;
  Object.defineProperty(handle, "configured", { get: () => adapter !== undefined });
  Object.defineProperty(handle, "adapter", { get: need });
  Object.assign(handle, {
    configure,
    get: (id: string, options?: { rev?: string }) => need().get(id, options),
    allDocs: (options?: AllDocsOptions) => need().allDocs(options),
    find: (request: FindRequest) => need().find(request),
    changes: (options?: ChangesOptions) => need().changes(options),
    put: (doc: Doc) => need().put(doc),
    bulkDocs: (docs: readonly Doc[]) => need().bulkDocs(docs),
    store: () => liveStore(need()),
  });
  return handle;
}

function install(PouchDB: unknown): void {
  const proto = (PouchDB as { prototype: object }).prototype;
  if (Object.prototype.hasOwnProperty.call(proto, "divan")) return;
  Object.defineProperty(proto, "divan", {
    configurable: true,
    get(this: PouchDB.Database): DivanHandle {
      let h = handles.get(this);
      if (h === undefined) {
        h = createHandle(this);
        handles.set(this, h);
      }
      return h;
    },
  });
}

/**
 * The PouchDB plugin: `PouchDB.plugin(divan)` adds {@link DivanHandle | `db.divan`} to every database of
 * that constructor. Nothing is registered by importing this module.
 */
export const divan = install as unknown as PouchDB.Plugin<DivanPluginProps>;
