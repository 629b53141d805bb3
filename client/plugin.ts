/**
 * The `divan/client` PouchDB plugin, registered explicitly:
 *
 * ```ts
 * import PouchDB from "pouchdb-browser";
 * import { divan } from "divan/client";
 * const Pouch = PouchDB.plugin(divan);
 * const db = new Pouch("tasks");
 * db.divan({ registry, steps: taskSteps, manifest }); // same as db.divan.configure(...)
 * const task = await db.divan.get("task:42");     // at the app's versions, whatever is stored
 * await db.divan.put({ ...task, title: "new" });        // the app's version, nothing lost
 * ```
 *
 * `db.divan` is one handle per database instance; until it is configured every method throws
 * `CONFIG_INVALID`. Registering the plugin twice is harmless.
 */
import { DivanError } from "../core/errors.js";
import { pouchStore } from "../store/pouch.js";
import type { Doc, DocumentStore, FindRequest, AllDocsOptions, ChangesOptions } from "../store/port.js";
import { createLiveAdapter, type LiveAdapter, type LiveChangesPage, type LiveConfig, type LiveFindResult, type LivePage, type LiveWriteResult } from "../strategies/live/adapter.js";
import { liveStore } from "../strategies/live/store.js";

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
  /**
   * A page of documents at the app's version; problems are rows (see {@link LiveAdapter.allDocs}). Takes divan's
   * options (`includeDocs`) or PouchDB's own (`include_docs`, `start_key`, `end_key`, `key`, …).
   */
  allDocs(options?: AllDocsOptions | PouchAllDocsOptions): Promise<LivePage>;
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

/** PouchDB's own `allDocs` options that `db.divan.allDocs` understands (as PouchDB spells them). */
export interface PouchAllDocsOptions {
  include_docs?: boolean;
  conflicts?: boolean;
  startkey?: string;
  start_key?: string;
  endkey?: string;
  end_key?: string;
  key?: string;
  keys?: string[];
  limit?: number;
  skip?: number;
  descending?: boolean;
}

/** PouchDB spellings of {@link AllDocsOptions} fields. */
const POUCH_NAMES: Readonly<Record<string, keyof AllDocsOptions>> = { include_docs: "includeDocs", start_key: "startkey", end_key: "endkey" };
const OWN_NAMES: ReadonlySet<string> = new Set(["includeDocs", "conflicts", "startkey", "endkey", "keys", "limit", "skip", "descending"]);

/**
 * The options of `db.divan.allDocs` in divan's spelling. `key` is `keys: [key]`.
 *
 * @throws DivanError `BAD_REQUEST` for an option it does not support (rather than ignoring it).
 */
export function allDocsOptions(options: AllDocsOptions | PouchAllDocsOptions = {}): AllDocsOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (k === "key") out["keys"] = [v];
    else if (POUCH_NAMES[k] !== undefined) out[POUCH_NAMES[k]] = v;
    else if (OWN_NAMES.has(k)) out[k] = v;
    else throw new DivanError("BAD_REQUEST", `db.divan.allDocs does not support the option "${k}" (it supports include_docs/includeDocs, start_key/startkey, end_key/endkey, key, keys, limit, skip, descending, conflicts)`, { details: { option: k } });
  }
  return out as AllDocsOptions;
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
    allDocs: async (options?: AllDocsOptions | PouchAllDocsOptions) => need().allDocs(allDocsOptions(options)),
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
