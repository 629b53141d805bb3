/**
 * The {@link DocumentStore} port on a PouchDB database of any adapter (memory, LevelDB, IndexedDB, http).
 *
 * Browser-safe: imports no Node built-ins and not `store/pouchdb-node.ts`; the caller brings its
 * own PouchDB (with `pouchdb-find` registered for `find`/`createIndex`).
 */
import { DivanError } from "../core/errors.js";
import { retryOnConflict } from "../core/retry.js";
import { redact } from "../core/redact.js";
import { codeForCouchError, mapErrors, toDivanError, writeErrorCode } from "./errors.js";
import { DocUpdateValidator, type Refusal, type SecurityObject, type UserContext, type WriteContext } from "./validate-doc-update.js";
import type {
  AllDocsOptions,
  AllDocsPage,
  AllDocsRow,
  BulkDocsOptions,
  BulkGetRequest,
  BulkGetResult,
  Change,
  ChangesOptions,
  ChangesPage,
  Doc,
  DocumentStore,
  FindRequest,
  FindResult,
  GetOptions,
  IndexDefinition,
  LiveFeed,
  LiveFeedHandlers,
  LocalDoc,
  RevsDiffResult,
  StoreCapabilities,
  StoreInfo,
  WriteResult,
} from "./port.js";

/** Options of {@link pouchStore} and {@link openPouchStore}. */
export interface PouchStoreOptions {
  /**
   * Enforce design documents' `validate_doc_update` on writes made through this store, as CouchDB
   * does (PouchDB itself does not; see `store/validate-doc-update.ts` for exactly how). Off by default:
   * the functions are compiled with `new Function`, which a strict Content-Security-Policy forbids.
   * Writes that arrive by replication straight into the PouchDB instance are not checked.
   */
  validateDocUpdate?: boolean;
  /** `userCtx` given to `validate_doc_update` (default: an admin, as on a CouchDB without users). */
  userCtx?: UserContext;
  /** `secObj` given to `validate_doc_update` (default: CouchDB 3's security object of a new database). */
  secObj?: SecurityObject;
  /**
   * Opens a fresh instance of the same database after {@link DocumentStore.destroy}
   * (default: `new db.constructor(db.name, <the instance's options>)`).
   */
  reopen?: () => PouchDB.Database;
}

/** A PouchDB constructor (`PouchDB`, or `PouchDB.defaults(...)`). */
export type PouchConstructor = new (name: string, options?: Record<string, unknown>) => PouchDB.Database;

// ---------------------------------------------------------------------------------------------
// The slice of PouchDB this module calls, typed loosely so any PouchDB build (and plugin set) fits.

interface PouchChangesEmitter extends PromiseLike<unknown> {
  on(event: "change", listener: (change: RawChange) => void): PouchChangesEmitter;
  on(event: "complete", listener: (info: unknown) => void): PouchChangesEmitter;
  on(event: "error", listener: (err: unknown) => void): PouchChangesEmitter;
  cancel(): void;
}

interface LoosePouch {
  name: string;
  __opts?: Record<string, unknown>;
  constructor: unknown;
  info(): Promise<Record<string, unknown>>;
  get(id: string, options?: Record<string, unknown>): Promise<Doc>;
  allDocs(options: Record<string, unknown>): Promise<{ total_rows: number; rows: RawAllDocsRow[] }>;
  bulkDocs(docs: Doc[], options?: Record<string, unknown>): Promise<RawWriteResult[]>;
  put(doc: Record<string, unknown>): Promise<{ id: string; rev: string }>;
  remove(doc: { _id: string; _rev: string }): Promise<{ id: string; rev: string }>;
  changes(options: Record<string, unknown>): PouchChangesEmitter;
  find?(request: Record<string, unknown>): Promise<{ docs: Doc[]; warning?: string }>;
  createIndex?(request: Record<string, unknown>): Promise<{ result: string; name?: string; id?: string }>;
  revsDiff(revs: Record<string, string[]>): Promise<RevsDiffResult>;
  destroy(): Promise<unknown>;
  close(): Promise<unknown>;
}

interface RawChange {
  id: string;
  seq: number | string;
  changes: { rev: string }[];
  deleted?: boolean;
  doc?: Doc;
}

interface RawAllDocsRow {
  id?: string;
  key: string;
  value?: { rev: string; deleted?: boolean };
  doc?: Doc | null;
  error?: string;
}

interface RawWriteResult {
  id?: string;
  rev?: string;
  ok?: boolean;
  error?: boolean | string;
  name?: string;
  status?: number;
  reason?: string;
  message?: string;
}

/** Converts a PouchDB or CouchDB change row (numeric or string seq) into a port {@link Change}. */
export function toChange(raw: RawChange): Change {
  const change: Change = { id: raw.id, seq: String(raw.seq), changes: raw.changes.map((c) => ({ rev: c.rev })) };
  if (raw.deleted === true) change.deleted = true;
  if (raw.doc !== undefined) change.doc = raw.doc;
  return change;
}

/** Builds the one-result-per-input answer of a bulk write from the raw per-document answers. */
export function toWriteResults(docs: Doc[], raw: RawWriteResult[], newEdits: boolean): WriteResult[] {
  const toResult = (r: RawWriteResult, fallbackId: string): WriteResult => {
    const id = r.id ?? fallbackId;
    if (r.error === undefined || r.error === false) {
      return { id, ok: true, rev: r.rev ?? "" };
    }
    const name = typeof r.error === "string" ? r.error : r.name;
    return { id, ok: false, error: { code: writeErrorCode(name, r.status), reason: r.reason ?? r.message ?? String(name) } };
  };
  if (newEdits) return docs.map((d, i) => toResult(raw[i] ?? { id: d._id, error: "unknown_error" }, d._id));
  // new_edits=false answers only the failures (as CouchDB does); every other doc kept its given rev.
  const failures = new Map<string, RawWriteResult>();
  for (const r of raw) if (r.error !== undefined && r.error !== false && r.id !== undefined) failures.set(r.id, r);
  return docs.map((d) => {
    const failure = failures.get(d._id);
    return failure !== undefined ? toResult(failure, d._id) : { id: d._id, ok: true, rev: d._rev ?? "" };
  });
}

/** Prefixes `_local/` unless already there. */
export function localId(id: string): string {
  return id.startsWith("_local/") ? id : `_local/${id}`;
}

/** One validator for every PouchDB store: compiled functions are cached per database instance. */
const validator = new DocUpdateValidator();

/** A {@link DocumentStore} over a PouchDB database. Create it with {@link pouchStore} or {@link openPouchStore}. */
export class PouchStore implements DocumentStore {
  /** The database name. */
  readonly name: string;
  /** PouchDB enforces `validate_doc_update` only when asked to; selector replication works natively. */
  readonly capabilities: StoreCapabilities;
  private db: LoosePouch;
  private destroyed = false;
  private readonly options: PouchStoreOptions;
  private readonly feeds = new Set<LiveFeed>();

  /** Wraps an open PouchDB instance. */
  constructor(db: PouchDB.Database, options: PouchStoreOptions = {}) {
    this.db = db as unknown as LoosePouch;
    this.name = redact(this.db.name);
    this.options = options;
    this.capabilities = {
      supportsSelectorReplication: true,
      supportsValidateDocUpdate: options.validateDocUpdate === true,
      supportsFind: typeof this.db.find === "function" && typeof this.db.createIndex === "function",
      reportsPending: false,
    };
  }

  /** The PouchDB instance in use (a new one after destroy + create). */
  get pouch(): PouchDB.Database {
    return this.live() as unknown as PouchDB.Database;
  }

  private live(): LoosePouch {
    if (this.destroyed) {
      const reopen = this.options.reopen;
      if (reopen !== undefined) {
        this.db = reopen() as unknown as LoosePouch;
      } else {
        const Ctor = this.db.constructor as PouchConstructor;
        this.db = new Ctor(this.db.name, this.db.__opts) as unknown as LoosePouch;
      }
      this.destroyed = false;
    }
    return this.db;
  }

  private run<T>(operation: string, fn: (db: LoosePouch) => Promise<T>, id?: string): Promise<T> {
    const context = id === undefined ? { operation, store: this.name } : { operation, store: this.name, id };
    return mapErrors(context, () => fn(this.live()));
  }

  /** {@inheritDoc DocumentStore.info} */
  info(): Promise<StoreInfo> {
    return this.run("info", async (db) => {
      const raw = await db.info();
      const info: StoreInfo = {
        name: redact(String(raw.db_name ?? this.name)),
        docCount: Number(raw.doc_count ?? 0),
        updateSeq: String(raw.update_seq ?? "0"),
      };
      if (typeof raw.doc_del_count === "number") info.docDelCount = raw.doc_del_count;
      return info;
    });
  }

  /** {@inheritDoc DocumentStore.get} */
  get(id: string, options: GetOptions = {}): Promise<Doc> {
    return this.run(
      "get",
      (db) => {
        const opts: Record<string, unknown> = {};
        if (options.rev !== undefined) opts.rev = options.rev;
        if (options.revs === true) opts.revs = true;
        if (options.conflicts === true) opts.conflicts = true;
        return db.get(id, opts);
      },
      id,
    );
  }

  /** {@inheritDoc DocumentStore.bulkGet} */
  bulkGet(requests: BulkGetRequest[], options: { revs?: boolean; attachments?: boolean } = {}): Promise<BulkGetResult[]> {
    return this.run("bulkGet", async (db) => {
      // One get per request: PouchDB's bulkGet shim drops a rev-less request for an id that is also
      // requested with a rev, and answers per id rather than per request.
      return Promise.all(
        requests.map(async (req): Promise<BulkGetResult> => {
          const base = req.rev === undefined ? { id: req.id } : { id: req.id, rev: req.rev };
          const opts: Record<string, unknown> = {};
          if (req.rev !== undefined) opts.rev = req.rev;
          if (options.revs === true) opts.revs = true;
          if (options.attachments === true) opts.attachments = true;
          try {
            return { ...base, ok: await db.get(req.id, opts) };
          } catch (e) {
            const f = e as { name?: string; status?: number; reason?: string; message?: string };
            const code = codeForCouchError(f.name, f.status);
            if (code !== "NOT_FOUND" && code !== "BAD_REQUEST") throw e;
            return { ...base, error: { code, reason: f.reason ?? f.message ?? "missing" } };
          }
        }),
      );
    });
  }

  /** {@inheritDoc DocumentStore.allDocs} */
  allDocs(options: AllDocsOptions = {}): Promise<AllDocsPage> {
    return this.run("allDocs", async (db) => {
      if (options.keys !== undefined && options.skip === undefined && options.limit === undefined && options.descending !== true) return keysByGet(db, options.keys, options);
      const opts: Record<string, unknown> = { include_docs: options.includeDocs === true };
      if (options.keys !== undefined) opts.keys = options.keys;
      if (options.startkey !== undefined) opts.startkey = options.startkey;
      if (options.endkey !== undefined) opts.endkey = options.endkey;
      if (options.skip !== undefined) opts.skip = options.skip;
      if (options.limit !== undefined) opts.limit = options.limit;
      if (options.descending === true) opts.descending = true;
      if (options.conflicts === true) opts.conflicts = true;
      const raw = await db.allDocs(opts);
      return { totalRows: raw.total_rows, rows: raw.rows.map(toAllDocsRow) };
    });
  }

  /** {@inheritDoc DocumentStore.bulkDocs} */
  bulkDocs(docs: Doc[], options: BulkDocsOptions = {}): Promise<WriteResult[]> {
    return this.run("bulkDocs", async (db) => {
      if (docs.length === 0) return [];
      const newEdits = options.newEdits !== false;
      const refused = new Map<number, WriteResult>();
      if (this.options.validateDocUpdate === true) {
        for (const [i, doc] of docs.entries()) {
          const r = await this.refusal(db, doc, newEdits);
          if (r !== undefined) refused.set(i, { id: doc._id, ok: false, error: { code: writeErrorCode(r.error, r.status), reason: r.reason } });
        }
      }
      const toWrite = docs.filter((_d, i) => !refused.has(i));
      const raw = toWrite.length === 0 ? [] : await db.bulkDocs(toWrite.map(copyDoc), { new_edits: newEdits });
      const written = toWriteResults(toWrite, raw, newEdits);
      let next = 0;
      return docs.map((_d, i) => refused.get(i) ?? (written[next++] as WriteResult));
    });
  }

  /** {@inheritDoc DocumentStore.put} */
  put(doc: Doc): Promise<{ id: string; rev: string }> {
    return this.run(
      "put",
      async (db) => {
        // Thrown as CouchDB answers it, so it maps to the same DivanError as on an HTTP store.
        const refused = this.options.validateDocUpdate === true ? await this.refusal(db, doc, true) : undefined;
        if (refused !== undefined) throw refused;
        const res = await db.put(copyDoc(doc));
        return { id: res.id, rev: res.rev };
      },
      doc._id,
    );
  }

  /** {@inheritDoc DocumentStore.remove} */
  async remove(id: string, rev: string): Promise<{ id: string; rev: string }> {
    // As CouchDB's DELETE: the document is opened first, so a deleted or missing one is NOT_FOUND whatever `rev` is.
    await this.get(id);
    return this.put({ _id: id, _rev: rev, _deleted: true });
  }

  /** {@inheritDoc DocumentStore.changes} */
  changes(options: ChangesOptions = {}): Promise<ChangesPage> {
    return this.run("changes", async (db) => {
      const raw = (await db.changes(this.changesOptions(options))) as { results: RawChange[]; last_seq: number | string; pending?: number };
      const page: ChangesPage = { results: raw.results.map(toChange), lastSeq: String(raw.last_seq) };
      if (typeof raw.pending === "number") page.pending = raw.pending;
      return page;
    });
  }

  /** {@inheritDoc DocumentStore.liveChanges} */
  liveChanges(options: ChangesOptions, handlers: LiveFeedHandlers): LiveFeed {
    const opts = this.changesOptions(options);
    delete opts.limit;
    delete opts.descending;
    opts.live = true;
    const emitter = this.live().changes(opts);
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    let stopping = false;
    let resolveDone!: () => void;
    let rejectDone!: (e: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(() => undefined); // a failure is reported through onError; awaiting `done` still sees it
    const completed = new Promise<void>((resolve) => {
      emitter.on("complete", () => resolve());
    });
    const fail = (e: unknown): void => {
      if (failed || stopping) return;
      failed = true;
      const err = toDivanError(e, { operation: "liveChanges", store: this.name });
      handlers.onError?.(err);
      emitter.cancel();
      void completed.then(() => rejectDone(err));
    };
    emitter.on("change", (raw) => {
      chain = chain.then(async () => {
        if (failed || stopping) return;
        try {
          await handlers.onChange(toChange(raw));
        } catch (e) {
          fail(e);
        }
      });
    });
    emitter.on("error", (e) => fail(e));
    const feed: LiveFeed = {
      done,
      stop: async () => {
        if (!stopping && !failed) {
          stopping = true;
          emitter.cancel();
        }
        await completed;
        await chain;
        this.feeds.delete(feed);
        if (!failed) resolveDone();
      },
    };
    this.feeds.add(feed);
    return feed;
  }

  /** {@inheritDoc DocumentStore.getLocal} */
  getLocal(id: string): Promise<LocalDoc | undefined> {
    const lid = localId(id);
    return this.run(
      "getLocal",
      async (db) => {
        try {
          return (await db.get(lid)) as LocalDoc;
        } catch (e) {
          if (codeForCouchError((e as { name?: string }).name, (e as { status?: number }).status) === "NOT_FOUND") return undefined;
          throw e;
        }
      },
      lid,
    );
  }

  /** {@inheritDoc DocumentStore.putLocal} */
  putLocal(doc: LocalDoc): Promise<{ id: string; rev: string }> {
    const lid = localId(doc._id);
    return this.run("putLocal", async (db) => db.put({ ...doc, _id: lid }), lid);
  }

  /** {@inheritDoc DocumentStore.removeLocal} */
  removeLocal(id: string): Promise<void> {
    const lid = localId(id);
    return this.run(
      "removeLocal",
      () =>
        retryOnConflict(`${lid} on ${this.name}`, async () => {
          const current = await this.getLocal(lid);
          if (current === undefined || current._rev === undefined) return;
          try {
            await this.live().remove({ _id: lid, _rev: current._rev });
          } catch (e) {
            const code = codeForCouchError((e as { name?: string }).name, (e as { status?: number }).status);
            if (code === "CONFLICT") throw new DivanError("CONFLICT", `${lid} changed while it was removed`, { cause: e });
            if (code !== "NOT_FOUND") throw e;
          }
        }),
      lid,
    );
  }

  /** {@inheritDoc DocumentStore.find} */
  find(request: FindRequest): Promise<FindResult> {
    return this.run("find", async (db) => {
      if (db.find === undefined) throw noFind(this.name);
      const req: Record<string, unknown> = { selector: request.selector };
      if (request.fields !== undefined) req.fields = request.fields;
      if (request.sort !== undefined) req.sort = request.sort;
      if (request.limit !== undefined) req.limit = request.limit;
      if (request.skip !== undefined) req.skip = request.skip;
      if (request.useIndex !== undefined) req.use_index = request.useIndex;
      const raw = await db.find(req);
      const result: FindResult = { docs: raw.docs };
      if (raw.warning !== undefined) result.warning = raw.warning;
      return result;
    });
  }

  /** {@inheritDoc DocumentStore.createIndex} */
  createIndex(index: IndexDefinition): Promise<{ result: "created" | "exists"; name: string }> {
    return this.run("createIndex", async (db) => {
      if (db.createIndex === undefined) throw noFind(this.name);
      const def: Record<string, unknown> = { fields: index.fields };
      if (index.name !== undefined) def.name = index.name;
      if (index.ddoc !== undefined) def.ddoc = index.ddoc;
      if (index.partialFilterSelector !== undefined) def.partial_filter_selector = index.partialFilterSelector;
      const raw = await db.createIndex({ index: def });
      return { result: raw.result === "exists" ? "exists" : "created", name: raw.name ?? index.name ?? raw.id ?? "" };
    });
  }

  /** {@inheritDoc DocumentStore.revsDiff} */
  revsDiff(revs: Record<string, string[]>): Promise<RevsDiffResult> {
    return this.run("revsDiff", (db) => db.revsDiff(revs));
  }

  /** Opens (creates) the database; PouchDB creates databases on first use, so this is idempotent. */
  create(): Promise<void> {
    return this.run("create", async (db) => {
      await db.info();
    });
  }

  /** Destroys the database (idempotent); a later call reopens a fresh, empty one. */
  destroy(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return this.run("destroy", async (db) => {
      await Promise.all([...this.feeds].map((f) => f.stop()));
      await db.destroy();
      this.destroyed = true;
    });
  }

  /** Stops live feeds and closes the PouchDB instance. */
  async close(): Promise<void> {
    await Promise.all([...this.feeds].map((f) => f.stop().catch(() => undefined)));
    if (this.destroyed) return;
    await mapErrors({ operation: "close", store: this.name }, () => this.db.close());
  }

  /** The PouchDB instance itself. */
  replicationEndpoint(): PouchDB.Database {
    return this.pouch;
  }

  /**
   * Port options → PouchDB options. Local adapters number their sequences; this store hands them out
   * as strings and turns its own numeric strings back into numbers (PouchDB compares a string `since`
   * as text). Remote (http) PouchDBs get the string as is.
   */
  private changesOptions(options: ChangesOptions): Record<string, unknown> {
    const opts = changesOptions(options);
    const since = opts.since;
    const adapter = (this.db as unknown as { adapter?: string }).adapter;
    if (typeof since === "string" && /^\d+$/.test(since) && adapter !== "http" && adapter !== "https") {
      opts.since = Number(since);
    }
    return opts;
  }

  /** How CouchDB's `validate_doc_update` functions would refuse writing `doc`, if they would. */
  private refusal(db: LoosePouch, doc: Doc, newEdits: boolean): Promise<Refusal | undefined> {
    const context: WriteContext = { newEdits };
    if (this.options.userCtx !== undefined) context.userCtx = this.options.userCtx;
    if (this.options.secObj !== undefined) context.secObj = this.options.secObj;
    return validator.check(db, this.db.name, doc, context);
  }
}

function noFind(store: string): DivanError {
  return new DivanError("BAD_REQUEST", `${store}: this PouchDB has no find/createIndex; register pouchdb-find (PouchDB.plugin(find))`);
}

/** PouchDB mutates documents it writes (and rejects unknown `_` fields less kindly); write a copy. */
function copyDoc(doc: Doc): Doc {
  return { ...doc };
}

/**
 * `_all_docs` with `keys`, one row per key in the order asked, answered with one `get` per key: PouchDB runs a whole
 * `_all_docs` query per key (an index seek and a cursor each), several times the cost of a `get`. A key whose
 * document is deleted (its row names the tombstone's revision, which `get` does not give) or whose id `get` does
 * not take (`_local/`) is asked for as PouchDB would, with `keys`.
 */
async function keysByGet(db: LoosePouch, keys: readonly string[], options: AllDocsOptions): Promise<AllDocsPage> {
  const opts: Record<string, unknown> = options.conflicts === true ? { conflicts: true } : {};
  const rows: (AllDocsRow | undefined)[] = await Promise.all(
    keys.map(async (key): Promise<AllDocsRow | undefined> => {
      if (key.startsWith("_local/")) return undefined;
      try {
        const doc = await db.get(key, opts);
        return { id: key, key, value: { rev: doc._rev! }, ...(options.includeDocs === true ? { doc } : {}) };
      } catch (e) {
        const f = e as { status?: number; reason?: string; message?: string };
        if (f.status !== 404) throw e;
        return f.reason === "deleted" ? undefined : { id: key, key, error: "not_found" };
      }
    }),
  );
  const rest = keys.filter((_k, i) => rows[i] === undefined);
  const asked = rest.length === 0 ? undefined : await db.allDocs({ keys: rest, include_docs: options.includeDocs === true, ...opts });
  let next = 0;
  const info = asked ?? { total_rows: Number((await db.info())["doc_count"]) };
  return { totalRows: info.total_rows, rows: rows.map((r) => r ?? toAllDocsRow(asked!.rows[next++] as RawAllDocsRow)) };
}

function toAllDocsRow(raw: RawAllDocsRow): AllDocsRow {
  const row: AllDocsRow = { id: raw.id ?? raw.key, key: raw.key };
  if (raw.value !== undefined) row.value = raw.value.deleted === true ? { rev: raw.value.rev, deleted: true } : { rev: raw.value.rev };
  if (raw.doc !== undefined) row.doc = raw.doc;
  if (raw.error !== undefined) row.error = raw.error;
  return row;
}

/**
 * CouchDB's `_changes` takes one filter; refuse `selector` together with `docIds` on every backend
 * (PouchDB would apply both) so that code behaves the same everywhere.
 */
export function assertOneChangesFilter(options: ChangesOptions): void {
  if (options.selector !== undefined && options.docIds !== undefined) {
    throw new DivanError("BAD_REQUEST", "changes: give either `selector` or `docIds`, not both (CouchDB applies one filter); put the ids in the selector as { _id: { $in: [...] } }");
  }
}

/** Port changes options → PouchDB/CouchDB `_changes` options. */
function changesOptions(options: ChangesOptions): Record<string, unknown> {
  assertOneChangesFilter(options);
  const opts: Record<string, unknown> = { since: options.since ?? 0 };
  if (options.limit !== undefined) opts.limit = options.limit;
  if (options.includeDocs === true) opts.include_docs = true;
  if (options.selector !== undefined) opts.selector = options.selector;
  if (options.docIds !== undefined) opts.doc_ids = options.docIds;
  if (options.style !== undefined) opts.style = options.style;
  if (options.descending === true) opts.descending = true;
  return opts;
}

/** Wraps an open PouchDB instance as a {@link DocumentStore}. */
export function pouchStore(db: PouchDB.Database, options: PouchStoreOptions = {}): PouchStore {
  return new PouchStore(db, options);
}

/**
 * Opens database `name` with the given PouchDB constructor (e.g. one made with
 * `PouchDB.defaults({ adapter: "memory" })`) as a {@link DocumentStore}.
 */
export function openPouchStore(
  PouchDBCtor: PouchConstructor | PouchDB.Static,
  name: string,
  options: PouchStoreOptions & { pouchOptions?: Record<string, unknown> } = {},
): PouchStore {
  const Ctor = PouchDBCtor as unknown as PouchConstructor;
  const open = (): PouchDB.Database => new Ctor(name, options.pouchOptions);
  const { pouchOptions: _ignored, ...storeOptions } = options;
  return new PouchStore(open(), { reopen: open, ...storeOptions });
}
