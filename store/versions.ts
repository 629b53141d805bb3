/**
 * Multi-version storage helpers: every version of a document side by side in one
 * database, named `<type>:<entityId>:v:<version>` (singletons `<type>:v:<version>`).
 *
 * - {@link readVersions} / {@link readEntityVersions}: every stored version of a document or an entity.
 * - {@link readEntityAt}: an entity's documents at one shape (what a transformer or an app reads).
 * - {@link scanVersions}: page through every document of some `type@version`s (for back-fill and purge).
 * - {@link versionView}: a {@link DocumentStore} that shows an app the documents of its shape under
 *   plain ids (`task:<id>`) while the database underneath holds versioned ids, so app code written for
 *   single-version ids runs unchanged on multi-version storage.
 *
 * Browser-safe: no Node built-ins.
 */
import { DivanError } from "../core/errors.js";
import { formatDocId, multiVersionIds, singleVersionIds } from "../adapters/ids.js";
import type {
  AllDocsOptions,
  AllDocsPage,
  AllDocsRow,
  BulkGetResult,
  Change,
  ChangesOptions,
  ChangesPage,
  Doc,
  DocumentStore,
  FindRequest,
  FindResult,
  GetOptions,
  LiveFeed,
  LiveFeedHandlers,
  RevsDiffResult,
  WriteResult,
} from "./port.js";

/** Field names that identify a document's type and major version (defaults `schema` / `version`). */
export interface VersionFields {
  /** Attribute holding the document type (default `"schema"`). */
  typeField?: string;
  /** Attribute holding the major version (default `"version"`). */
  versionField?: string;
}

/** The `_all_docs` key range of every version of one document: `<type>:<entityId>:v:` … */
function versionRange(type: string, entityId: string | undefined): { startkey: string; endkey: string } {
  const prefix = `${formatDocId(type, entityId)}:v:`;
  return { startkey: prefix, endkey: `${prefix}\ufff0` };
}

/**
 * Every stored (live) version of one document, oldest version first.
 *
 * @example `readVersions(store, "task", "42")` → `[task:42:v:1, task:42:v:3]`
 */
export async function readVersions(store: DocumentStore, type: string, entityId: string | undefined): Promise<Doc[]> {
  const page = await store.allDocs({ ...versionRange(type, entityId), includeDocs: true });
  const docs: { version: number; doc: Doc }[] = [];
  for (const row of page.rows) {
    const parsed = multiVersionIds.parse(row.id);
    if (!row.doc || parsed === undefined || parsed.type !== type || parsed.entityId !== entityId || parsed.version === undefined) continue;
    docs.push({ version: parsed.version, doc: row.doc });
  }
  return docs.sort((a, b) => a.version - b.version).map((d) => d.doc);
}

/** Every stored version of every document of one entity, by type (each list oldest first). */
export async function readEntityVersions(store: DocumentStore, entityId: string, types: readonly string[]): Promise<Record<string, Doc[]>> {
  const out: Record<string, Doc[]> = {};
  for (const type of types) {
    const docs = await readVersions(store, type, entityId);
    if (docs.length > 0) out[type] = docs;
  }
  return out;
}

/**
 * An entity's documents at `shape`, keyed by type (types with no stored document at that version are
 * absent). Deleted documents are absent too.
 */
export async function readEntityAt(store: DocumentStore, entityId: string | undefined, shape: Readonly<Record<string, number>>): Promise<Record<string, Doc>> {
  const types = Object.keys(shape);
  const keys = types.map((t) => formatDocId(t, entityId, shape[t]));
  const page = await store.allDocs({ keys, includeDocs: true });
  const out: Record<string, Doc> = {};
  for (const [i, row] of page.rows.entries()) {
    const type = types[i];
    if (type !== undefined && row.doc) out[type] = row.doc;
  }
  return out;
}

/** Options of {@link scanVersions}. */
export interface ScanOptions {
  /** Rows per `_all_docs` page (default 500). */
  pageSize?: number;
  /** Include deleted documents (tombstones are not in `_all_docs`: this reads `_changes` instead). */
  includeDeleted?: boolean;
}

/** One document found by {@link scanVersions}. */
export interface VersionedRef {
  id: string;
  rev: string;
  type: string;
  entityId: string | undefined;
  version: number;
  deleted: boolean;
}

/**
 * Every document whose versioned id names one of `wanted` (`type → versions`), paging through `_all_docs`
 * (or `_changes` with `includeDeleted`). Ids are the only thing read: no document bodies.
 */
export async function scanVersions(
  store: DocumentStore,
  wanted: Readonly<Record<string, readonly number[]>>,
  options: ScanOptions = {},
): Promise<VersionedRef[]> {
  const match = (id: string): { type: string; entityId: string | undefined; version: number } | undefined => {
    const p = multiVersionIds.parse(id);
    if (p === undefined || p.version === undefined) return undefined;
    return wanted[p.type]?.includes(p.version) ? { type: p.type, entityId: p.entityId, version: p.version } : undefined;
  };
  const out: VersionedRef[] = [];
  if (options.includeDeleted === true) {
    let since: string | undefined;
    for (;;) {
      const page: ChangesPage = await store.changes({ ...(since === undefined ? {} : { since }), limit: options.pageSize ?? 500 });
      for (const c of page.results) {
        const m = match(c.id);
        const rev = c.changes[0]?.rev;
        if (m && rev !== undefined) out.push({ id: c.id, rev, ...m, deleted: c.deleted === true });
      }
      if (page.results.length === 0) break;
      since = page.lastSeq;
    }
    return out;
  }
  const pageSize = options.pageSize ?? 500;
  for (const type of Object.keys(wanted).sort()) {
    let startkey = `${type}:`;
    const endkey = `${type}:\ufff0`;
    let skipFirst = false;
    for (;;) {
      const page = await store.allDocs({ startkey, endkey, limit: pageSize + (skipFirst ? 1 : 0) });
      const rows = skipFirst ? page.rows.slice(1) : page.rows;
      for (const row of rows) {
        const m = match(row.id);
        if (m && row.value) out.push({ id: row.id, rev: row.value.rev, ...m, deleted: false });
      }
      const last = page.rows[page.rows.length - 1];
      if (rows.length < pageSize || last === undefined) break;
      startkey = last.id;
      skipFirst = true;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The app-facing view.

/** Options of {@link versionView}. */
export interface VersionViewOptions extends VersionFields {
  /** A name for logs (default `<store>@<shape>`). */
  name?: string;
}

/**
 * A store that shows the documents of `shape` under plain ids. `task:42` reads and writes
 * `task:42:v:3` when `shape["task"]` is 3; other versions of shape types are hidden; ids of
 * types outside the shape (notices, `app-support`, unknown types) pass through untouched.
 *
 * Written documents keep their attributes; tombstones of shape types get the type and version
 * attributes, so a channel selector routes a deletion exactly like the document it deletes.
 * `_local` documents, `info`, indexes and lifecycle calls go to the underlying store; `close()` does
 * not close it (the view does not own it). Key ranges (`startkey`/`endkey`/`skip`/`limit`) of
 * `allDocs` apply to the underlying ids.
 */
export function versionView(store: DocumentStore, shape: Readonly<Record<string, number>>, options: VersionViewOptions = {}): DocumentStore {
  const typeField = options.typeField ?? "schema";
  const versionField = options.versionField ?? "version";
  const { toStored, toPlain, docOut, docIn, changeOut, changesIn } = idMapping(shape, typeField, versionField);
  const name = options.name ?? `${store.name}@${Object.entries(shape).map(([t, v]) => `${t}@${v}`).sort().join("+")}`;

  return {
    name,
    capabilities: store.capabilities,
    info: () => store.info(),
    async get(id: string, o?: GetOptions): Promise<Doc> {
      const doc = await store.get(toStored(id), o);
      return { ...doc, _id: id };
    },
    async bulkGet(requests, o): Promise<BulkGetResult[]> {
      const results = await store.bulkGet(requests.map((r) => ({ ...r, id: toStored(r.id) })), o);
      return results.map((r, i) => {
        const id = requests[i]?.id ?? r.id;
        return "ok" in r ? { ...r, id, ok: { ...r.ok, _id: id } } : { ...r, id };
      });
    },
    async allDocs(o: AllDocsOptions = {}): Promise<AllDocsPage> {
      if (o.keys) {
        const page = await store.allDocs({ ...o, keys: o.keys.map(toStored) });
        const rows = page.rows.map((row, i): AllDocsRow => {
          const id = o.keys?.[i] ?? row.id;
          return { ...row, id, key: id, ...(row.doc ? { doc: { ...row.doc, _id: id } } : {}) };
        });
        return { totalRows: page.totalRows, rows };
      }
      const page = await store.allDocs(o);
      const rows: AllDocsRow[] = [];
      for (const row of page.rows) {
        const plain = toPlain(row.id);
        if (plain === undefined) continue;
        rows.push({ ...row, id: plain, key: plain, ...(row.doc ? { doc: { ...row.doc, _id: plain } } : {}) });
      }
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (o.descending === true) rows.reverse();
      return { totalRows: page.totalRows, rows };
    },
    async bulkDocs(docs, o): Promise<WriteResult[]> {
      const results = await store.bulkDocs(docs.map(docIn), o);
      return results.map((r, i) => ({ ...r, id: docs[i]?._id ?? r.id }));
    },
    async put(doc) {
      const r = await store.put(docIn(doc));
      return { ...r, id: doc._id };
    },
    async remove(id, rev) {
      const p = singleVersionIds.parse(id);
      const stored = toStored(id);
      if (p !== undefined && stored !== id) {
        const r = await store.put({ _id: stored, _rev: rev, _deleted: true, [typeField]: p.type, [versionField]: shape[p.type] });
        return { ...r, id };
      }
      const r = await store.remove(id, rev);
      return { ...r, id };
    },
    async changes(o: ChangesOptions = {}): Promise<ChangesPage> {
      const page = await store.changes(changesIn(o));
      const results = page.results.flatMap((c) => {
        const out = changeOut(c);
        return out ? [out] : [];
      });
      return { ...page, results };
    },
    liveChanges(o: ChangesOptions, handlers: LiveFeedHandlers): LiveFeed {
      return store.liveChanges(changesIn(o), {
        onChange: (c) => {
          const out = changeOut(c);
          return out ? handlers.onChange(out) : undefined;
        },
        ...(handlers.onError ? { onError: handlers.onError } : {}),
      });
    },
    getLocal: (id) => store.getLocal(id),
    putLocal: (doc) => store.putLocal(doc),
    removeLocal: (id) => store.removeLocal(id),
    async find(request: FindRequest): Promise<FindResult> {
      const result = await store.find(request);
      return { ...result, docs: result.docs.flatMap((d) => (typeof d._id === "string" ? (docOut(d) ?? []) : [d])) };
    },
    createIndex: (index) => store.createIndex(index),
    async revsDiff(revs): Promise<RevsDiffResult> {
      const back = new Map<string, string>();
      const mapped: Record<string, string[]> = {};
      for (const [id, list] of Object.entries(revs)) {
        const stored = toStored(id);
        back.set(stored, id);
        mapped[stored] = list;
      }
      const diff = await store.revsDiff(mapped);
      const out: RevsDiffResult = {};
      for (const [id, d] of Object.entries(diff)) out[back.get(id) ?? id] = d;
      return out;
    },
    create: () => store.create(),
    destroy: () => store.destroy(),
    close: async () => {},
    replicationEndpoint: () => {
      throw new DivanError("BAD_REQUEST", `${name} is a view with translated ids; replicate its underlying store ${store.name} instead.`);
    },
  };
}

/** How a version view names documents: plain ids (`task:1`) outside, versioned ids (`task:1:v:3`) stored. */
function idMapping(shape: Readonly<Record<string, number>>, typeField: string, versionField: string) {
  /** Plain id → stored id (identity for ids outside the shape). */
  const toStored = (id: string): string => {
    const p = singleVersionIds.parse(id);
    if (p === undefined) return id;
    const v = shape[p.type];
    return v === undefined ? id : formatDocId(p.type, p.entityId, v);
  };
  /** Stored id → plain id, or `undefined` when the view hides it (another version of a shape type). */
  const toPlain = (id: string): string | undefined => {
    const p = multiVersionIds.parse(id);
    if (p === undefined || p.version === undefined) {
      // A plain id of a shape type would collide with the view's own names: hide it.
      const plain = singleVersionIds.parse(id);
      return plain !== undefined && shape[plain.type] !== undefined ? undefined : id;
    }
    const v = shape[p.type];
    if (v === undefined) return id;
    return v === p.version ? formatDocId(p.type, p.entityId) : undefined;
  };
  const docOut = (doc: Doc): Doc | undefined => {
    const plain = toPlain(doc._id);
    return plain === undefined ? undefined : { ...doc, _id: plain };
  };
  const docIn = (doc: Doc): Doc => {
    const stored = toStored(doc._id);
    if (stored === doc._id) return doc;
    const out: Doc = { ...doc, _id: stored };
    if (doc._deleted === true && out[typeField] === undefined) {
      const p = singleVersionIds.parse(doc._id);
      if (p !== undefined) {
        out[typeField] = p.type;
        out[versionField] = shape[p.type];
      }
    }
    return out;
  };
  const changeOut = (c: Change): Change | undefined => {
    const plain = toPlain(c.id);
    if (plain === undefined) return undefined;
    const out: Change = { ...c, id: plain };
    if (c.doc) out.doc = { ...c.doc, _id: plain };
    return out;
  };
  const changesIn = (o: ChangesOptions): ChangesOptions => (o.docIds ? { ...o, docIds: o.docIds.map(toStored) } : o);
  return { toStored, toPlain, docOut, docIn, changeOut, changesIn };
}
