/**
 * The document-store port: the only way strategies, runners and transformers
 * touch a database. Two implementations: PouchDB (any adapter) and CouchDB HTTP through nano.
 *
 * Shapes follow CouchDB's HTTP API so that documents and results look the same on both backends.
 * Sequences are opaque strings: pass them back, never parse, compare or add them.
 */
import { isDivanError } from "../core/errors.js";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A CouchDB document: `_id`, optional `_rev`, and any other JSON attributes. */
export interface Doc {
  _id: string;
  _rev?: string;
  _deleted?: boolean;
  _attachments?: Record<string, unknown>;
  _conflicts?: string[];
  _revisions?: { start: number; ids: string[] };
  [key: string]: unknown;
}

/** The revisions of a document's history, newest first (`_revisions`, read with `revs: true`, expanded to `<gen>-<hash>`). */
export function historyOf(doc: Doc): string[] {
  const r = doc._revisions;
  if (r === undefined) return doc._rev === undefined ? [] : [doc._rev];
  return r.ids.map((id, i) => `${r.start - i}-${id}`);
}

/** Document `id` of `store` (read with `options`), or `undefined` when it is missing or deleted (`NOT_FOUND`). */
export async function getIfExists(store: Pick<DocumentStore, "get">, id: string, options?: GetOptions): Promise<Doc | undefined> {
  try {
    return await store.get(id, options);
  } catch (e) {
    if (isDivanError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
}

/** An opaque update sequence. Never parse, compare or add. */
export type Seq = string;

/** A Mango selector. */
export type Selector = Record<string, unknown>;

/** What {@link DocumentStore.info} reports. */
export interface StoreInfo {
  /** Database name (for HTTP stores, the path segment; never includes credentials). */
  name: string;
  /** Number of live (non-deleted) documents. */
  docCount: number;
  /** Number of deleted documents, where the backend reports it. */
  docDelCount?: number;
  /** The current update sequence (opaque). */
  updateSeq: Seq;
}

/** Options of {@link DocumentStore.get}. */
export interface GetOptions {
  /** A specific revision. */
  rev?: string;
  /** Include `_revisions` (the revision history). */
  revs?: boolean;
  /** Include `_conflicts` (conflicting leaf revisions). */
  conflicts?: boolean;
}

/** One answer of {@link DocumentStore.bulkGet}: the document, or why it could not be read. */
export type BulkGetResult =
  | { id: string; rev?: string; ok: Doc }
  | { id: string; rev?: string; error: { code: "NOT_FOUND" | "BAD_REQUEST"; reason: string } };

/** A request of {@link DocumentStore.bulkGet}. */
export interface BulkGetRequest {
  id: string;
  rev?: string;
}

/** Options of {@link DocumentStore.allDocs}: one page of `_all_docs`. */
export interface AllDocsOptions {
  /** Exact ids to fetch (instead of a key range). */
  keys?: string[];
  /** First id of the page (inclusive). */
  startkey?: string;
  /** Last id of the page (inclusive). */
  endkey?: string;
  /** Skip this many rows (use `startkey` for paging; `skip` is O(n) in CouchDB). */
  skip?: number;
  /** At most this many rows. */
  limit?: number;
  /** Return the documents too. */
  includeDocs?: boolean;
  /** With `includeDocs`: each document's `_conflicts` (its conflicting leaf revisions). */
  conflicts?: boolean;
  /** Descending id order. */
  descending?: boolean;
}

/** One row of `_all_docs`. Rows for `keys` that do not exist carry `error`. */
export interface AllDocsRow {
  id: string;
  key: string;
  value?: { rev: string; deleted?: boolean };
  doc?: Doc | null;
  error?: "not_found" | string;
}

/** One page of `_all_docs`. */
export interface AllDocsPage {
  totalRows: number;
  rows: AllDocsRow[];
}

/** The result of writing one document in a bulk write. */
export type WriteResult =
  | { id: string; ok: true; rev: string }
  | { id: string; ok: false; error: { code: "CONFLICT" | "FORBIDDEN" | "UNAUTHORIZED" | "BAD_REQUEST"; reason: string } };

/** Options of {@link DocumentStore.bulkDocs}. */
export interface BulkDocsOptions {
  /** `false` stores the given revisions as they are (replication mode); no conflict check. */
  newEdits?: boolean;
}

/** Options of {@link DocumentStore.changes} and {@link DocumentStore.liveChanges}. */
export interface ChangesOptions {
  /** Start after this sequence (opaque), or `"now"`; default: from the beginning. */
  since?: Seq | "now";
  /** At most this many results (one-shot pages). */
  limit?: number;
  /** Include each changed document. */
  includeDocs?: boolean;
  /** Only documents that match this Mango selector. */
  selector?: Selector;
  /** Only these document ids. */
  docIds?: string[];
  /** `all_docs`: list every leaf revision, not only the winner. */
  style?: "main_only" | "all_docs";
  /** Newest first (one-shot only). */
  descending?: boolean;
}

/** One change of the `_changes` feed. */
export interface Change {
  id: string;
  seq: Seq;
  changes: { rev: string }[];
  deleted?: boolean;
  doc?: Doc;
}

/** One page of the `_changes` feed. */
export interface ChangesPage {
  results: Change[];
  /** Pass back as `since` to continue after this page. */
  lastSeq: Seq;
  /** Changes left after this page, where the backend reports it. */
  pending?: number;
}

/** A live `_changes` feed. */
export interface LiveFeed {
  /** Stops the feed; resolves once no more callbacks will be made and sockets are closed. */
  stop(): Promise<void>;
  /** Resolves when the feed ends (stopped) and rejects when it fails for good. */
  readonly done: Promise<void>;
}

/** Callbacks of a live feed. */
export interface LiveFeedHandlers {
  /** Called for every change, in feed order. */
  onChange(change: Change): void | Promise<void>;
  /** Called when the feed fails; the feed is then stopped. */
  onError?(error: Error): void;
}

/** The result of a Mango query. */
export interface FindResult {
  docs: Doc[];
  /** Present when the backend had to scan without an index. */
  warning?: string;
  /** CouchDB's paging bookmark, where available. */
  bookmark?: string;
}

/** A Mango query. */
export interface FindRequest {
  selector: Selector;
  fields?: string[];
  sort?: (string | Record<string, "asc" | "desc">)[];
  limit?: number;
  skip?: number;
  useIndex?: string | [string, string];
}

/** An index definition for {@link DocumentStore.createIndex}. */
export interface IndexDefinition {
  fields: string[];
  name?: string;
  ddoc?: string;
  partialFilterSelector?: Selector;
}

/** `_revs_diff` answer: per id, the revisions the store does not have. */
export type RevsDiffResult = Record<string, { missing: string[]; possible_ancestors?: string[] }>;

/** A `_local` document (never replicated). */
export interface LocalDoc {
  _id: string;
  _rev?: string;
  [key: string]: unknown;
}

/** Options of replication between two stores (`replicate` / `replicateLive` in `store/replicate.ts`). */
export interface ReplicateOptions {
  /** Keep replicating until stopped. */
  live?: boolean;
  /** Retry with backoff when the other side is unreachable (live only). */
  retry?: boolean;
  /** Only documents matching this Mango selector. */
  selector?: Selector;
  /** Only these ids. */
  docIds?: string[];
  /** Documents per batch. */
  batchSize?: number;
}

/** What a finished one-shot replication reports. */
export interface ReplicationResult {
  docsRead: number;
  docsWritten: number;
  docWriteFailures: number;
  /** The last source sequence replicated (opaque). */
  lastSeq?: Seq;
}

/** A running live replication. */
export interface LiveReplication {
  /** Stops replicating; resolves when it has stopped. */
  stop(): Promise<void>;
  /** Registers a listener called after each batch has been written (for tests and progress). */
  onChange(listener: (info: { docsWritten: number }) => void): void;
  /**
   * Resolves when the replication is paused with nothing to do (caught up; immediately if it already is),
   * or rejects with a `DivanError` on a fatal error (or any error when not retrying).
   */
  idle(): Promise<void>;
}

/**
 * What a backend can do, declared instead of checked by `instanceof`.
 * A contract test a backend cannot pass is gated by its flag, so the gap is visible.
 */
export interface StoreCapabilities {
  /** Replication with a Mango `selector` filter (needs `_changes?filter=_selector` on HTTP). */
  supportsSelectorReplication: boolean;
  /** A design document's `validate_doc_update` is enforced on writes. */
  supportsValidateDocUpdate: boolean;
  /** Mango `_find` and `_index`. */
  supportsFind: boolean;
  /** `_changes` reports `pending`. */
  reportsPending: boolean;
}

/**
 * The document-store port. Every method either resolves with CouchDB-shaped results or
 * rejects with a `DivanError` (`NOT_FOUND`, `CONFLICT`, `UNAUTHORIZED`, `FORBIDDEN`, `BAD_REQUEST`,
 * `STORE_UNAVAILABLE`) whose message never contains credentials.
 */
export interface DocumentStore {
  /** A name for logs: the database name or the redacted URL. */
  readonly name: string;
  /** What this backend supports. */
  readonly capabilities: StoreCapabilities;

  /** Database info. */
  info(): Promise<StoreInfo>;
  /** Reads one document; `NOT_FOUND` if it does not exist or was deleted (unless `rev` names a deleted revision). */
  get(id: string, options?: GetOptions): Promise<Doc>;
  /**
   * Reads many documents, specific revisions if asked; never throws for a missing one. With `attachments`,
   * attachment bodies come inline (base64 `data`) instead of stubs.
   */
  bulkGet(requests: BulkGetRequest[], options?: { revs?: boolean; attachments?: boolean }): Promise<BulkGetResult[]>;
  /** One page of `_all_docs`. */
  allDocs(options?: AllDocsOptions): Promise<AllDocsPage>;
  /** Writes documents; one result per input, in input order. Per-document errors are results, not throws. */
  bulkDocs(docs: Doc[], options?: BulkDocsOptions): Promise<WriteResult[]>;
  /**
   * Writes one document; throws `CONFLICT` on a stale or missing rev. A deleted document is re-created by
   * a write without `_rev`: naming its tombstone's revision is a `CONFLICT` on CouchDB and the embedded
   * server (a PouchDB store revives the document from the tombstone instead).
   */
  put(doc: Doc): Promise<{ id: string; rev: string }>;
  /**
   * Deletes one document (writes a tombstone) given one of its current revisions. As CouchDB's
   * `DELETE /db/id?rev=`: `NOT_FOUND` when the document does not exist or is already deleted, whatever
   * `rev` is (the revision the deletion superseded and the tombstone's own included); `CONFLICT` when it
   * exists and `rev` is not one of its current revisions.
   */
  remove(id: string, rev: string): Promise<{ id: string; rev: string }>;
  /** One page of `_changes`. */
  changes(options?: ChangesOptions): Promise<ChangesPage>;
  /** A live `_changes` feed; call `stop()` to end it. */
  liveChanges(options: ChangesOptions, handlers: LiveFeedHandlers): LiveFeed;
  /** Reads a `_local` document (`id` with or without the `_local/` prefix; the result's `_id` has it); `undefined` if absent. */
  getLocal(id: string): Promise<LocalDoc | undefined>;
  /**
   * Writes a `_local` document (a whole document: nothing of the stored one is kept). Its revision is not a
   * promise: PouchDB answers `CONFLICT` on a stale or missing `_rev`, CouchDB 3 overwrites (last writer wins).
   * So a `_local` document holds state one writer owns (a checkpoint), never a lease or any other mutual
   * exclusion: those are ordinary documents, whose stale `_rev` gets `CONFLICT` everywhere.
   */
  putLocal(doc: LocalDoc): Promise<{ id: string; rev: string }>;
  /** Removes a `_local` document; no error if it does not exist. */
  removeLocal(id: string): Promise<void>;
  /** A Mango query. */
  find(request: FindRequest): Promise<FindResult>;
  /** Creates a Mango index (idempotent). */
  createIndex(index: IndexDefinition): Promise<{ result: "created" | "exists"; name: string }>;
  /** Which of the given revisions the store lacks. */
  revsDiff(revs: Record<string, string[]>): Promise<RevsDiffResult>;
  /** Creates the database if it does not exist (idempotent). */
  create(): Promise<void>;
  /** Destroys the database (idempotent). */
  destroy(): Promise<void>;
  /** Releases sockets and handles. The store is unusable afterwards. */
  close(): Promise<void>;
  /**
   * Something PouchDB's replicator accepts as a source or target: a PouchDB instance, or the
   * database URL (with credentials) for HTTP stores. Used by {@link replicate}.
   */
  replicationEndpoint(): unknown;
}
