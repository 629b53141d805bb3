/**
 * The {@link DocumentStore} port on a CouchDB-compatible HTTP server, through `nano`.
 *
 * Each store owns an undici `Agent` (nano's `agentOptions`), destroyed by {@link HttpStore.close},
 * so no keep-alive socket outlives the store. Live feeds are one `feed=continuous` request each (with a
 * heartbeat), read as newline-delimited JSON straight from the socket; `stop()` aborts it.
 */
import nano from "nano";
import { Agent, request as undiciRequest } from "undici";
import { DivanError } from "../core/errors.js";
import { retryOnConflict } from "../core/retry.js";
import { redact } from "../core/redact.js";
import { codeForCouchError, isNetworkError, mapErrors, toDivanError } from "./errors.js";
import { changesQuery, couchError, docPath, sleep, splitDatabaseUrl, type RawChangesAnswer, type RequestOptions } from "./http-wire.js";
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
  /**
   * Milliseconds between the server's heartbeat newlines on a live (continuous) feed (default 10 000).
   * A feed that hears nothing for three heartbeats counts the connection as lost and reconnects.
   */
  heartbeat?: number;
  /** Milliseconds a live feed waits before retrying after a network failure (default 500). */
  retryDelay?: number;
  /** Network failures in a row after which a live feed gives up (default 10). */
  maxRetries?: number;
}

export { splitDatabaseUrl } from "./http-wire.js";

/** Sockets one store opens to its server at most (live feeds hold one each while they follow). */
const MAX_CONNECTIONS = 128;

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
      heartbeat: options.heartbeat ?? 10_000,
      retryDelay: options.retryDelay ?? 500,
      maxRetries: options.maxRetries ?? 10,
    };
    // At most MAX_CONNECTIONS sockets to the server (more requests wait in the pool): a burst of writes to a slow
    // server must not open a socket per request, which overflows its accept queue (connect timeouts, resets).
    this.agent = new Agent({ keepAliveTimeout: 4_000, connect: { timeout: 10_000 }, connections: MAX_CONNECTIONS });
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
  bulkGet(requests: BulkGetRequest[], options: { revs?: boolean; attachments?: boolean } = {}): Promise<BulkGetResult[]> {
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
          qs: { ...(options.revs === true ? { revs: true } : {}), ...(options.attachments === true ? { attachments: true } : {}) },
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
      if (options.conflicts === true) qs.conflicts = true;
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
    const { qs, body } = changesQuery(options, extra);
    const req: RequestOptions = { path: "_changes", qs };
    if (signal !== undefined) req.signal = signal;
    if (body !== undefined) {
      req.method = "POST";
      req.body = body;
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

  /**
   * {@inheritDoc DocumentStore.liveChanges}
   *
   * One `feed=continuous` request with a heartbeat, parsed as newline-delimited JSON as it arrives (the
   * next line is read only after `onChange` settled, so a slow handler holds the socket back). When the
   * server ends the response it is reopened from its `last_seq`; after a network failure it is reopened
   * from the last change delivered, after `retryDelay` ms, at most `maxRetries` times in a row.
   * `stop()` aborts the request and resolves once its socket is closed.
   */
  liveChanges(options: ChangesOptions, handlers: LiveFeedHandlers): LiveFeed {
    assertOneChangesFilter(options);
    const controller = new AbortController();
    let failure: DivanError | undefined;
    const loop = async (): Promise<void> => {
      let since: string | undefined = options.since;
      // "now" is pinned to the current sequence first: a feed that reconnects before its first change
      // must not ask for "now" again and miss the changes made while it was away.
      if (since === "now") since = (await this.info()).updateSeq;
      let failures = 0;
      while (!controller.signal.aborted) {
        try {
          since = await this.continuousRequest(since === undefined ? options : { ...options, since }, controller.signal, handlers, (seq) => {
            since = seq;
            failures = 0; // connected and delivering
          });
          failures = 0;
        } catch (e) {
          if (controller.signal.aborted) return;
          if (isNetworkError(e) && ++failures <= this.options.maxRetries) {
            await sleep(this.options.retryDelay, controller.signal);
            continue;
          }
          throw e;
        }
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

  /**
   * One continuous `_changes` response: calls `onChange` for each change line (then `delivered(seq)`), and
   * resolves with the `last_seq` of the closing line when the server ends the response (`undefined`:
   * keep the position). Rejects with the server's error for a non-200 answer or an error line, with a
   * network error when the connection fails or stays silent for three heartbeats. Returns only after
   * the response body (and with it, on abort, the socket) is closed.
   */
  private async continuousRequest(
    options: ChangesOptions,
    signal: AbortSignal,
    handlers: LiveFeedHandlers,
    delivered: (seq: string) => void,
  ): Promise<string | undefined> {
    if (this.closed) throw new DivanError("STORE_UNAVAILABLE", `${this.name} is closed; open a new store`);
    const { qs, body } = changesQuery(options, { feed: "continuous", heartbeat: this.options.heartbeat });
    const target = this.feedTarget();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(qs)) params.set(k, String(v));
    const headers: Record<string, string> = { accept: "application/json", ...target.headers };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await undiciRequest(`${target.url}?${params.toString()}`, {
      dispatcher: this.agent,
      method: body === undefined ? "GET" : "POST",
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal,
      bodyTimeout: this.options.heartbeat * 3 + 1_000,
    });
    const stream = res.body;
    const closed = new Promise<void>((resolve) => {
      if (stream.destroyed && stream.closed) resolve();
      else stream.once("close", () => resolve());
    });
    try {
      if (res.statusCode !== 200) {
        const text = await stream.text().catch(() => "");
        throw couchError(res.statusCode, text);
      }
      stream.setEncoding("utf8");
      let buffered = "";
      let lastSeq: string | undefined;
      for await (const chunk of stream as AsyncIterable<string>) {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line.length === 0) continue; // heartbeat
          const row = JSON.parse(line) as Record<string, unknown>;
          if (typeof row["id"] === "string" && Array.isArray(row["changes"])) {
            if (signal.aborted) return undefined;
            const raw = row as unknown as RawChangesAnswer["results"][number];
            await handlers.onChange(toChange(raw));
            delivered(String(raw.seq));
          } else if (row["error"] !== undefined) {
            throw couchError(undefined, line);
          } else if (row["last_seq"] !== undefined) {
            lastSeq = String(row["last_seq"] as string | number);
          }
        }
      }
      return lastSeq;
    } finally {
      if (!stream.destroyed) stream.destroy();
      await closed;
    }
  }

  /** The `_changes` URL without credentials, and the basic-auth header the credentials become. */
  private feedTarget(): { url: string; headers: Record<string, string> } {
    const { serverUrl } = splitDatabaseUrl(this.url);
    const u = new URL(serverUrl);
    const headers: Record<string, string> = {};
    if (u.username !== "" || u.password !== "") {
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      headers["authorization"] = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
      u.username = "";
      u.password = "";
    }
    const base = u.toString().replace(/\/$/, "");
    return { url: `${base}/${encodeURIComponent(this.dbName)}/_changes`, headers };
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
      () =>
        retryOnConflict(`${lid} on ${this.name}`, async () => {
          const current = await this.getLocal(lid);
          if (current === undefined || current._rev === undefined) return;
          try {
            await this.request({ method: "DELETE", path: docPath(lid), qs: { rev: current._rev } });
          } catch (e) {
            const error = toDivanError(e, { operation: "removeLocal", store: this.name });
            if (error.code !== "NOT_FOUND") throw error;
          }
        }),
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
