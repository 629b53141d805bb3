/**
 * Replication between any two {@link DocumentStore}s with PouchDB's replicator, one-shot or live.
 *
 * Endpoints come from each store's `replicationEndpoint()` (a PouchDB instance or a database URL).
 * When one side is a PouchDB instance its own constructor runs the replication; when both are URLs
 * the caller passes a PouchDB constructor (with the http adapter and replication plugin).
 * Browser-safe: no Node built-ins.
 */
import { DivanError } from "../core/errors.js";
import { toDivanError } from "./errors.js";
import type { DocumentStore, LiveReplication, ReplicateOptions, ReplicationResult } from "./port.js";

/** Options of {@link replicate} and {@link replicateLive}. */
export interface ReplicateWithOptions extends Omit<ReplicateOptions, "live"> {
  /** The PouchDB constructor to replicate with when neither store is a PouchDB instance. */
  PouchDB?: PouchDB.Static;
}

interface ReplicationEmitter extends PromiseLike<unknown> {
  on(event: string, listener: (arg: unknown) => void): ReplicationEmitter;
  cancel(): void;
}

type ReplicateFn = (source: unknown, target: unknown, options: Record<string, unknown>) => ReplicationEmitter;

interface Ctor {
  new (name: string, options?: Record<string, unknown>): { close(): Promise<unknown> };
  replicate?: ReplicateFn;
}

function isPouchInstance(endpoint: unknown): endpoint is { constructor: Ctor } {
  return typeof endpoint === "object" && endpoint !== null && typeof (endpoint as { changes?: unknown }).changes === "function";
}

/** A replicator and both endpoints as PouchDB instances; `cleanup` closes the ones made here. */
interface Prepared {
  run: ReplicateFn;
  source: unknown;
  target: unknown;
  cleanup(): Promise<void>;
}

/**
 * Picks the PouchDB constructor (the option, else the one of whichever side is a PouchDB instance)
 * and opens URL endpoints with the http adapter explicitly: a constructor made with
 * `PouchDB.defaults({ adapter: "memory" })` would otherwise open the URL as a local memory database.
 */
function prepare(source: DocumentStore, target: DocumentStore, options: ReplicateWithOptions): Prepared {
  const endpoints = [source.replicationEndpoint(), target.replicationEndpoint()];
  let PouchCtor = options.PouchDB as unknown as Ctor | undefined;
  for (const endpoint of endpoints) {
    if (PouchCtor === undefined && isPouchInstance(endpoint)) PouchCtor = endpoint.constructor;
  }
  const replicateFn = PouchCtor?.replicate;
  if (PouchCtor === undefined || typeof replicateFn !== "function") {
    throw new DivanError(
      "BAD_REQUEST",
      `cannot replicate ${source.name} → ${target.name}: neither is a PouchDB database with the replication plugin; pass { PouchDB }`,
    );
  }
  const Pouch = PouchCtor;
  const opened: { close(): Promise<unknown> }[] = [];
  const [src, tgt] = endpoints.map((endpoint) => {
    if (typeof endpoint !== "string") return endpoint;
    const db = new Pouch(endpoint, { adapter: /^https:/i.test(endpoint) ? "https" : "http", skip_setup: true });
    opened.push(db);
    return db;
  });
  return {
    run: replicateFn.bind(Pouch),
    source: src,
    target: tgt,
    cleanup: async () => {
      await Promise.all(opened.map((db) => db.close().catch(() => undefined)));
    },
  };
}

function pouchOptions(source: DocumentStore, target: DocumentStore, options: ReplicateOptions): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  if (options.selector !== undefined) {
    if (!source.capabilities.supportsSelectorReplication) {
      throw new DivanError(
        "BAD_REQUEST",
        `${source.name} cannot serve selector-filtered replication (capability supportsSelectorReplication is false); use docIds or replicate everything`,
      );
    }
    opts.selector = options.selector;
  }
  if (options.docIds !== undefined) opts.doc_ids = options.docIds;
  if (options.batchSize !== undefined) opts.batch_size = options.batchSize;
  if (options.live === true) {
    opts.live = true;
    opts.retry = options.retry === true;
  }
  return opts;
}

function resultOf(raw: unknown): ReplicationResult {
  const r = raw as { docs_read?: number; docs_written?: number; doc_write_failures?: number; last_seq?: string | number };
  const result: ReplicationResult = {
    docsRead: r.docs_read ?? 0,
    docsWritten: r.docs_written ?? 0,
    docWriteFailures: r.doc_write_failures ?? 0,
  };
  if (r.last_seq !== undefined) result.lastSeq = String(r.last_seq);
  return result;
}

/**
 * Replicates `source` into `target` once and resolves with what was copied.
 * Rejects with a `DivanError` (e.g. `STORE_UNAVAILABLE`, `UNAUTHORIZED`) when replication fails.
 */
export async function replicate(source: DocumentStore, target: DocumentStore, options: ReplicateWithOptions = {}): Promise<ReplicationResult> {
  const context = { operation: "replicate", store: `${source.name} → ${target.name}` };
  try {
    const opts = pouchOptions(source, target, { ...options, live: false });
    const prepared = prepare(source, target, options);
    let raw: unknown;
    try {
      raw = await prepared.run(prepared.source, prepared.target, opts);
    } finally {
      await prepared.cleanup();
    }
    const result = resultOf(raw);
    const r = raw as { ok?: boolean; errors?: unknown[] };
    if (r.ok === false && Array.isArray(r.errors) && r.errors.length > 0 && result.docsWritten === 0 && result.docsRead === 0) {
      throw r.errors[0];
    }
    return result;
  } catch (e) {
    throw toDivanError(e, context);
  }
}

/**
 * Starts a live replication from `source` into `target`; it runs until `stop()`.
 * With `retry`, it keeps retrying while the other side is unreachable.
 */
export function replicateLive(
  source: DocumentStore,
  target: DocumentStore,
  options: ReplicateWithOptions = {},
): LiveReplication {
  const context = { operation: "replicateLive", store: `${source.name} → ${target.name}` };
  const opts = pouchOptions(source, target, { ...options, live: true });
  const prepared = prepare(source, target, options);
  const emitter = prepared.run(prepared.source, prepared.target, opts);
  const listeners: ((info: { docsWritten: number }) => void)[] = [];
  let waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let paused = false;
  let failure: unknown;
  let stopped = false;
  // Settles on "complete" (also after cancel) or on a fatal "error"; the error is reported by idle().
  const completed: Promise<void> = Promise.resolve(emitter)
    .then(
      () => undefined,
      () => undefined,
    )
    .then(() => prepared.cleanup());
  const settle = (): void => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) (failure === undefined ? w.resolve() : w.reject(failure));
  };
  emitter.on("change", (info) => {
    const docsWritten = (info as { docs_written?: number }).docs_written ?? 0;
    for (const l of listeners) l({ docsWritten });
  });
  emitter.on("active", () => {
    paused = false;
  });
  emitter.on("paused", (err) => {
    paused = true;
    if (err !== undefined && err !== null && options.retry !== true) failure = toDivanError(err, context);
    settle();
  });
  emitter.on("error", (err) => {
    failure = toDivanError(err, context);
    paused = true;
    settle();
  });
  return {
    onChange(listener) {
      listeners.push(listener);
    },
    idle() {
      if (failure !== undefined) return Promise.reject(failure);
      if (paused || stopped) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        emitter.cancel();
      }
      await completed;
      settle();
    },
  };
}
