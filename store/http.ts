/**
 * The {@link DocumentStore} port on a CouchDB-compatible HTTP server, through `nano`.
 *
 * Each store owns an undici `Agent` (nano's `agentOptions`), destroyed by {@link HttpStore.close},
 * so no keep-alive socket outlives the store. Live feeds are longpoll loops whose in-flight
 * request is aborted on `stop()`.
 */
import nano from "nano";
import { Agent } from "undici";
import { DivanError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import { codeForCouchError, isNetworkError, mapErrors, toDivanError } from "./errors.js";
import { assertOneChangesFilter, localId, toChange, toWriteResults } from "./pouch.js";
import type {
  AllDocsOptions,
  AllDocsPage,
  AllDocsRow,
  BulkDocsOptions,
  BulkGetRequest,
  BulkGetResult,
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

/** What a real Apache CouchDB 3 server supports. */
export const COUCHDB_CAPABILITIES: StoreCapabilities = Object.freeze({
  supportsSelectorReplication: true,
  supportsValidateDocUpdate: true,
  supportsFind: true,
  reportsPending: true,
});

/** Options of {@link httpStore}. */
export interface HttpStoreOptions {
  /** What the server supports; defaults to {@link COUCHDB_CAPABILITIES}, override for other servers. */
  capabilities?: Partial<StoreCapabilities>;
  /** Milliseconds one longpoll request of a live feed waits on the server (default 10 000). */
  longpollTimeout?: number;
  /** Milliseconds a live feed waits before retrying after a network failure (default 500). */
  retryDelay?: number;
  /** Network failures in a row after which a live feed gives up (default 10). */
  maxRetries?: number;
}

/** Splits `http://u:p@host:5984/prefix/db` into the server URL and the (decoded) database name. */
export function splitDatabaseUrl(url: string): { serverUrl: string; dbName: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new DivanError("BAD_REQUEST", `not a valid database URL: ${redact(url)}`, { cause: e });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new DivanError("BAD_REQUEST", `a database URL must be http(s): ${redact(url)}`);
  }
  const segments = parsed.pathname.split("/").filter((s) => s.length > 0);
  const last = segments.pop();
  if (last === undefined) {
    throw new DivanError("BAD_REQUEST", `the URL ${redact(url)} names no database; add /<database> to it`);
  }
  parsed.pathname = segments.length === 0 ? "/" : `/${segments.join("/")}/`;
  parsed.search = "";
  parsed.hash = "";
  return { serverUrl: parsed.toString().replace(/\/$/, ""), dbName: decodeURIComponent(last) };
}

/** URL path of a document id: `_design/` and `_local/` keep their slash, everything else is encoded. */
function docPath(id: string): string {
  for (const prefix of ["_design/", "_local/"]) {
    if (id.startsWith(prefix)) return prefix + encodeURIComponent(id.slice(prefix.length));
  }
  return encodeURIComponent(id);
}

interface RequestOptions {
  method?: "GET" | "PUT" | "POST" | "DELETE";
  path?: string;
  qs?: Record<string, unknown>;
  body?: unknown;
  signal?: AbortSignal;
}

interface RawChangesAnswer {
  results: { id: string; seq: string | number; changes: { rev: string }[]; deleted?: boolean; doc?: Doc }[];
  last_seq: string | number;
  pending?: number;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** A {@link DocumentStore} over CouchDB HTTP. Create it with {@link httpStore}. */
export class HttpStore implements DocumentStore {
  /** The database URL with its password redacted. */
  readonly name: string;
  /** What the server supports (declared, see {@link HttpStoreOptions.capabilities}). */
  readonly capabilities: StoreCapabilities;
  /** The decoded database name. */
  readonly dbName: string;
  private readonly url: string;
  private readonly agent: Agent;
  private readonly server: nano.ServerScope;
  private readonly options: Required<Omit<HttpStoreOptions, "capabilities">>;
  private readonly feeds = new Set<LiveFeed>();
  private closed = false;

  /** Connects (lazily) to the database at `url` (credentials allowed in the URL). */
  constructor(url: string, options: HttpStoreOptions = {}) {
    const { serverUrl, dbName } = splitDatabaseUrl(url);
    this.url = url;
    this.dbName = dbName;
    this.name = redact(url);
    this.capabilities = { ...COUCHDB_CAPABILITIES, ...options.capabilities };
    this.options = {
      longpollTimeout: options.longpollTimeout ?? 10_000,
      retryDelay: options.retryDelay ?? 500,
      maxRetries: options.maxRetries ?? 10,
    };
    this.agent = new Agent({ keepAliveTimeout: 4_000, connect: { timeout: 10_000 } });
    this.server = nano({ url: serverUrl, agentOptions: this.agent as never });
  }

  private request<T>(opts: RequestOptions): Promise<T> {
    if (this.closed) {
      return Promise.reject(new DivanError("STORE_UNAVAILABLE", `${this.name} is closed; open a new store`));
    }
    const req: Record<string, unknown> = { db: this.dbName, method: opts.method ?? "GET" };
    if (opts.path !== undefined) req.path = opts.path;
    if (opts.qs !== undefined) req.qs = opts.qs;
    if (opts.body !== undefined) req.body = opts.body;
    if (opts.signal !== undefined) req.signal = opts.signal;
    return this.server.request(req as nano.RequestOptions) as Promise<T>;
  }

  private run<T>(operation: string, fn: () => Promise<T>, id?: string): Promise<T> {
    return mapErrors(id === undefined ? { operation, store: this.name } : { operation, store: this.name, id }, fn);
  }

  /** {@inheritDoc DocumentStore.info} */
  info(): Promise<StoreInfo> {
    return this.run("info", async () => {
      const raw = await this.request<Record<string, unknown>>({});
      const info: StoreInfo = {
        name: String(raw.db_name ?? this.dbName),
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
      () => {
        const qs: Record<string, unknown> = {};
        if (options.rev !== undefined) qs.rev = options.rev;
        if (options.revs === true) qs.revs = true;
        if (options.conflicts === true) qs.conflicts = true;
        return this.request<Doc>({ path: docPath(id), qs });
      },
      id,
    );
  }

  /** {@inheritDoc DocumentStore.bulkGet} */
  bulkGet(requests: BulkGetRequest[], options: { revs?: boolean } = {}): Promise<BulkGetResult[]> {
    return this.run("bulkGet", async () => {
      if (requests.length === 0) return [];
      // Answers are matched to requests by id, in order. An id asked twice goes into a later round,
      // because PouchDB-based servers answer per id rather than per request.
      const rounds: BulkGetRequest[][] = [];
      const seen = new Map<string, number>();
      for (const r of requests) {
        const k = seen.get(r.id) ?? 0;
        seen.set(r.id, k + 1);
        (rounds[k] ??= []).push(r);
      }
      type Answer = { ok: Doc } | { error: { error?: string; reason?: string } };
      const answers = new Map<string, Answer[]>();
      for (const round of rounds) {
        const raw = await this.request<{ results: { id: string; docs: Answer[] }[] }>({
          method: "POST",
          path: "_bulk_get",
          qs: options.revs === true ? { revs: true } : {},
          body: { docs: round.map((r) => (r.rev === undefined ? { id: r.id } : { id: r.id, rev: r.rev })) },
        });
        for (const result of raw.results) {
          const queue = answers.get(result.id) ?? [];
          queue.push(...result.docs);
          answers.set(result.id, queue);
        }
      }
      return requests.map((req): BulkGetResult => {
        const base = req.rev === undefined ? { id: req.id } : { id: req.id, rev: req.rev };
        const first = answers.get(req.id)?.shift();
        if (first !== undefined && "ok" in first) return { ...base, ok: first.ok };
        const err = first !== undefined && "error" in first ? first.error : { error: "not_found", reason: "missing" };
        const code = codeForCouchError(err.error, undefined) === "NOT_FOUND" ? "NOT_FOUND" : "BAD_REQUEST";
        return { ...base, error: { code, reason: err.reason ?? err.error ?? "missing" } };
      });
    });
  }

  /** {@inheritDoc DocumentStore.allDocs} */
  allDocs(options: AllDocsOptions = {}): Promise<AllDocsPage> {
    return this.run("allDocs", async () => {
      const qs: Record<string, unknown> = {};
      if (options.includeDocs === true) qs.include_docs = true;
      if (options.startkey !== undefined) qs.startkey = options.startkey; // nano JSON-encodes keys
      if (options.endkey !== undefined) qs.endkey = options.endkey;
      if (options.skip !== undefined) qs.skip = options.skip;
      if (options.limit !== undefined) qs.limit = options.limit;
      if (options.descending === true) qs.descending = true;
      const raw = await this.request<{ total_rows: number; rows: (AllDocsRow & { id?: string })[] }>(
        options.keys === undefined
          ? { path: "_all_docs", qs }
          : { method: "POST", path: "_all_docs", qs, body: { keys: options.keys } },
      );
      return {
        totalRows: raw.total_rows,
        rows: raw.rows.map((r) => {
          const row: AllDocsRow = { id: r.id ?? r.key, key: r.key };
          if (r.value !== undefined) row.value = r.value;
          if (r.doc !== undefined) row.doc = r.doc;
          if (r.error !== undefined) row.error = r.error;
          return row;
        }),
      };
    });
  }

  /** {@inheritDoc DocumentStore.bulkDocs} */
  bulkDocs(docs: Doc[], options: BulkDocsOptions = {}): Promise<WriteResult[]> {
    return this.run("bulkDocs", async () => {
      if (docs.length === 0) return [];
      const newEdits = options.newEdits !== false;
      const raw = await this.request<{ id?: string; rev?: string; ok?: boolean; error?: string; reason?: string }[]>({
        method: "POST",
        path: "_bulk_docs",
        body: newEdits ? { docs } : { docs, new_edits: false },
      });
      return toWriteResults(docs, raw, newEdits);
    });
  }

  /** {@inheritDoc DocumentStore.put} */
  put(doc: Doc): Promise<{ id: string; rev: string }> {
    return this.run(
      "put",
      async () => {
        const res = await this.request<{ id: string; rev: string }>({ method: "PUT", path: docPath(doc._id), body: doc });
        return { id: res.id, rev: res.rev };
      },
      doc._id,
    );
  }

  /** {@inheritDoc DocumentStore.remove} */
  remove(id: string, rev: string): Promise<{ id: string; rev: string }> {
    return this.run(
      "remove",
      async () => {
        const res = await this.request<{ id: string; rev: string }>({ method: "DELETE", path: docPath(id), qs: { rev } });
        return { id: res.id, rev: res.rev };
      },
      id,
    );
  }

  private changesRequest(options: ChangesOptions, extra: Record<string, unknown>, signal?: AbortSignal): Promise<RawChangesAnswer> {
    assertOneChangesFilter(options);
    const qs: Record<string, unknown> = { ...extra };
    if (options.since !== undefined) qs.since = options.since;
    if (options.limit !== undefined && extra.feed === undefined) qs.limit = options.limit;
    if (options.includeDocs === true) qs.include_docs = true;
    if (options.style !== undefined) qs.style = options.style;
    if (options.descending === true && extra.feed === undefined) qs.descending = true;
    const req: RequestOptions = { path: "_changes", qs };
    if (signal !== undefined) req.signal = signal;
    if (options.selector !== undefined) {
      qs.filter = "_selector";
      req.method = "POST";
      req.body = { selector: options.selector };
    } else if (options.docIds !== undefined) {
      qs.filter = "_doc_ids";
      req.method = "POST";
      req.body = { doc_ids: options.docIds };
    }
    return this.request<RawChangesAnswer>(req);
  }

  /** {@inheritDoc DocumentStore.changes} */
  changes(options: ChangesOptions = {}): Promise<ChangesPage> {
    return this.run("changes", async () => {
      const raw = await this.changesRequest(options, {});
      const page: ChangesPage = { results: raw.results.map(toChange), lastSeq: String(raw.last_seq) };
      if (typeof raw.pending === "number") page.pending = raw.pending;
      return page;
    });
  }

  /** {@inheritDoc DocumentStore.liveChanges} — a longpoll loop; `stop()` aborts the request in flight. */
  liveChanges(options: ChangesOptions, handlers: LiveFeedHandlers): LiveFeed {
    const controller = new AbortController();
    let failure: DivanError | undefined;
    const loop = async (): Promise<void> => {
      let since: string | undefined = options.since;
      let failures = 0;
      while (!controller.signal.aborted) {
        let raw: RawChangesAnswer;
        try {
          const extra: Record<string, unknown> = { feed: "longpoll", timeout: this.options.longpollTimeout };
          raw = await this.changesRequest(since === undefined ? options : { ...options, since }, extra, controller.signal);
          failures = 0;
        } catch (e) {
          if (controller.signal.aborted) return;
          if (isNetworkError(e) && ++failures <= this.options.maxRetries) {
            await sleep(this.options.retryDelay, controller.signal);
            continue;
          }
          throw e;
        }
        for (const row of raw.results) {
          if (controller.signal.aborted) return;
          await handlers.onChange(toChange(row));
        }
        since = String(raw.last_seq);
      }
    };
    const running = loop().catch((e: unknown) => {
      failure = toDivanError(e, { operation: "liveChanges", store: this.name });
      controller.abort();
      handlers.onError?.(failure);
      throw failure;
    });
    running.catch(() => undefined); // reported through onError; awaiting `done` still sees the failure
    const feed: LiveFeed = {
      done: running,
      stop: async () => {
        controller.abort();
        await running.catch(() => undefined);
        this.feeds.delete(feed);
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
      async () => {
        try {
          return await this.request<LocalDoc>({ path: docPath(lid) });
        } catch (e) {
          if (toDivanError(e, { operation: "getLocal", store: this.name }).code === "NOT_FOUND") return undefined;
          throw e;
        }
      },
      lid,
    );
  }

  /** {@inheritDoc DocumentStore.putLocal} */
  putLocal(doc: LocalDoc): Promise<{ id: string; rev: string }> {
    const lid = localId(doc._id);
    return this.run(
      "putLocal",
      async () => {
        const res = await this.request<{ id: string; rev: string }>({ method: "PUT", path: docPath(lid), body: { ...doc, _id: lid } });
        return { id: res.id, rev: res.rev };
      },
      lid,
    );
  }

  /** {@inheritDoc DocumentStore.removeLocal} */
  removeLocal(id: string): Promise<void> {
    const lid = localId(id);
    return this.run(
      "removeLocal",
      async () => {
        for (let attempt = 0; ; attempt++) {
          const current = await this.getLocal(lid);
          if (current === undefined || current._rev === undefined) return;
          try {
            await this.request({ method: "DELETE", path: docPath(lid), qs: { rev: current._rev } });
            return;
          } catch (e) {
            const code = toDivanError(e, { operation: "removeLocal", store: this.name }).code;
            if (code === "NOT_FOUND") return;
            if (code !== "CONFLICT" || attempt >= 3) throw e;
          }
        }
      },
      lid,
    );
  }

  /** {@inheritDoc DocumentStore.find} */
  find(request: FindRequest): Promise<FindResult> {
    return this.run("find", async () => {
      const body: Record<string, unknown> = { selector: request.selector };
      if (request.fields !== undefined) body.fields = request.fields;
      if (request.sort !== undefined) body.sort = request.sort;
      if (request.limit !== undefined) body.limit = request.limit;
      if (request.skip !== undefined) body.skip = request.skip;
      if (request.useIndex !== undefined) body.use_index = request.useIndex;
      const raw = await this.request<{ docs: Doc[]; warning?: string; bookmark?: string }>({ method: "POST", path: "_find", body });
      const result: FindResult = { docs: raw.docs };
      if (raw.warning !== undefined) result.warning = raw.warning;
      if (raw.bookmark !== undefined) result.bookmark = raw.bookmark;
      return result;
    });
  }

  /** {@inheritDoc DocumentStore.createIndex} */
  createIndex(index: IndexDefinition): Promise<{ result: "created" | "exists"; name: string }> {
    return this.run("createIndex", async () => {
      const def: Record<string, unknown> = { fields: index.fields };
      if (index.partialFilterSelector !== undefined) def.partial_filter_selector = index.partialFilterSelector;
      const body: Record<string, unknown> = { index: def, type: "json" };
      if (index.name !== undefined) body.name = index.name;
      if (index.ddoc !== undefined) body.ddoc = index.ddoc;
      const raw = await this.request<{ result: string; name?: string; id?: string }>({ method: "POST", path: "_index", body });
      return { result: raw.result === "exists" ? "exists" : "created", name: raw.name ?? index.name ?? raw.id ?? "" };
    });
  }

  /** {@inheritDoc DocumentStore.revsDiff} */
  revsDiff(revs: Record<string, string[]>): Promise<RevsDiffResult> {
    return this.run("revsDiff", () => this.request<RevsDiffResult>({ method: "POST", path: "_revs_diff", body: revs }));
  }

  /** Creates the database; an existing one is fine. */
  create(): Promise<void> {
    return this.run("create", async () => {
      try {
        await this.request({ method: "PUT" });
      } catch (e) {
        const f = e as { statusCode?: number; error?: string };
        if (f.statusCode === 412 || f.error === "file_exists") return;
        throw e;
      }
    });
  }

  /** Deletes the database; a missing one is fine. */
  destroy(): Promise<void> {
    return this.run("destroy", async () => {
      await Promise.all([...this.feeds].map((f) => f.stop().catch(() => undefined)));
      try {
        await this.request({ method: "DELETE" });
      } catch (e) {
        if (toDivanError(e, { operation: "destroy", store: this.name }).code === "NOT_FOUND") return;
        throw e;
      }
    });
  }

  /** Stops live feeds and destroys the HTTP agent, closing every socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.feeds].map((f) => f.stop().catch(() => undefined)));
    this.closed = true;
    await this.agent.destroy();
  }

  /** The database URL, credentials included, for PouchDB's replicator. */
  replicationEndpoint(): string {
    return this.url;
  }
}

/** Opens the CouchDB database at `url` (e.g. `http://admin:secret@127.0.0.1:5984/todos`) as a {@link DocumentStore}. */
export function httpStore(url: string, options: HttpStoreOptions = {}): HttpStore {
  return new HttpStore(url, options);
}
