/**
 * The long-running transformer service behind `divan serve --transform`, with its `GET /_divan/status`.
 *
 * The long-running transformer service behind `divan serve --transform`: opens the configured
 * version databases on a server, runs the transformer core live, and answers `GET /_divan/status`
 * (JSON, per version database: pending changes, lag ms, last error, quarantine count; writes and
 * conflicts) on its own 127.0.0.1 listener. `close()` finishes the current page, saves the
 * checkpoints and closes everything (the CLI calls it on SIGTERM).
 *
 * One service transforms a set of databases at a time, across processes: it runs only while it holds the
 * lease `lease:transform:<databases>`, an ordinary document in a state database of divan's own (default
 * `<first database>$divan`; MVCC makes one of two writers fail, on CouchDB too, where `_local` documents have
 * none). A second service waits and tries again every `retryMs`; it takes over when the first stops (which
 * releases the lease) or dies (its lease expires after `ttlMs`). A service that finds its lease taken stops
 * transforming and waits again.
 *
 * While it transforms, the service also ends stale translations as the per-version strategies do when they
 * settle (`endStaleTranslations`: two translations of one document that met, e.g. one a device wrote while it
 * upgraded offline and the service's, or a device's translation of an older revision): once when it starts
 * transforming, then every `staleScanMs` of the config (default 60 s; each scan reads every document with its
 * conflicts, so it is periodic, not per change). `GET /_divan/status` reports the scans under `stale`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { multiVersionIds, singleVersionIds } from "../../adapters/ids.js";
import { DivanError, isDivanError, messageOf } from "../../core/errors.js";
import { acquireLease, readLease, releaseLease } from "../../strategies/runner/local.js";
import { defaultStateDb } from "../commands/migrate.js";
import { redact } from "../../core/redact.js";
import { openStore } from "../../store/open.js";
import type { DocumentStore } from "../../store/port.js";
import { endStaleTranslations } from "../../strategies/transformer/stale.js";
import { createTransformer, type Transformer, type TransformerStatus } from "../../strategies/transformer/transformer.js";
import { loadStepDefinitions } from "../config.js";
import type { TransformConfig } from "./config.js";

/** Options of {@link startTransformerService}. */
export interface TransformerServiceOptions {
  /** The parsed config. */
  readonly config: TransformConfig;
  /** Server base URL for database names that are not URLs (may carry credentials). */
  readonly serverUrl: string;
  /** Port of the status listener on 127.0.0.1 (default 0: a free port; `false`: no listener). */
  readonly statusPort?: number | false;
  /** Receives one line per error and conflict. */
  readonly log?: (line: string) => void;
  /** The lease that lets one service at a time transform these databases (`false`: none, for one process that knows it is alone). */
  readonly lease?: false | TransformerLeaseOptions;
}

/** Where and how the transformer service takes its lease ({@link TransformerServiceOptions.lease}). */
export interface TransformerLeaseOptions {
  /** The state database (default `<first configured database>$divan` on the same server, created if missing). */
  readonly store?: DocumentStore;
  /** Who holds it (default: one name per service). */
  readonly owner?: string;
  /** How long a lease lasts unless renewed (default 30 s; renewed every third of it). */
  readonly ttlMs?: number;
  /** How often a waiting service tries again (default a third of `ttlMs`). */
  readonly retryMs?: number;
}

/** A running transformer service. */
export interface TransformerService {
  readonly transformer: Transformer;
  /** `http://127.0.0.1:<port>/_divan/status`, when the status listener runs. */
  readonly statusUrl: string | undefined;
  /** The status as `GET /_divan/status` returns it. */
  status(): Promise<ServiceStatus>;
  /** Resolves once this service holds the lease and transforms (at once without a lease). */
  leading(): Promise<void>;
  /** Stops the transformer (checkpoints saved), releases the lease, closes the listener and the stores. Idempotent. */
  close(): Promise<void>;
}

/** The JSON of `GET /_divan/status`. */
export interface ServiceStatus extends TransformerStatus {
  /** Per configured side: its database (redacted) and the status of that database's feed. */
  readonly databases: readonly { side: string; database: string; pending: number; lagMs: number; lastError: string | null; quarantined: number }[];
  /** The lease: whether this service holds it (and transforms), and who holds it now. */
  readonly lease: { readonly held: boolean; readonly owner: string | null } | null;
  /** The scans that end stale translations: how many ran, documents they ended a leaf of, the last one's time and error. */
  readonly stale: { readonly scans: number; readonly ended: number; readonly lastScanAt: number | null; readonly lastError: string | null };
}

/** Starts the service: opens (and creates) every configured database and starts the transformer live. */
export async function startTransformerService(options: TransformerServiceOptions): Promise<TransformerService> {
  const { config } = options;
  const steps = await loadStepDefinitions(config.steps);
  const base = options.serverUrl.replace(/\/$/, "");
  const stores = new Map<string, DocumentStore>();
  const sides = [];
  const urls: string[] = [];
  try {
    for (const s of config.sides) {
      const url = /^https?:\/\//i.test(s.db) ? s.db : `${base}/${encodeURIComponent(s.db)}`;
      let store = stores.get(url);
      if (store === undefined) {
        store = await openStore(url);
        stores.set(url, store);
      }
      sides.push({ name: s.name, store, shape: { ...s.shape } });
      urls.push(url);
    }
  } catch (e) {
    await Promise.all([...stores.values()].map((s) => s.close().catch(() => undefined)));
    throw e;
  }
  const transformer = createTransformer({
    sides,
    steps,
    // As per-version-database and per-version-documents write on the server: a device that translates its own
    // documents while it upgrades offline writes the same revisions, so the two translations do not conflict.
    deterministicRevs: true,
    ids: config.ids === "multi-version" ? multiVersionIds : singleVersionIds,
    ...(config.checkpointId === undefined ? {} : { checkpointId: config.checkpointId }),
    onEvent: (e) => {
      if (e.type === "error") options.log?.(`transformer error on ${e.database}: ${e.message}`);
      if (e.type === "conflict") options.log?.(`conflict on ${e.conflict.family}:${e.conflict.entityId ?? ""}: ${e.conflict.winner} wins over ${e.conflict.loser}`);
      if (e.type === "quarantine") options.log?.(`quarantined ${e.record.id}@${e.record.rev ?? "?"} in ${e.record.side}: ${e.record.reason}`);
    },
  });
  // Stale translations are ended on start and every `staleScanMs` while this service transforms (one scan at a time).
  const staleEvery = config.staleScanMs ?? 60_000;
  const stale = { scans: 0, ended: 0, lastScanAt: null as number | null, lastError: null as string | null };
  let staleTimer: ReturnType<typeof setTimeout> | undefined;
  let scanning: Promise<void> = Promise.resolve();
  const scanStale = async (): Promise<void> => {
    staleTimer = undefined;
    if (closed || !held) return;
    try {
      await transformer.idle();
      const ended = await endStaleTranslations(transformer);
      stale.scans += 1;
      stale.ended += ended.length;
      stale.lastScanAt = Date.now();
      stale.lastError = null;
      if (ended.length > 0) options.log?.(`ended stale translations of ${ended.length} document(s): ${ended.slice(0, 5).join(", ")}${ended.length > 5 ? ", …" : ""}`);
    } catch (e) {
      stale.lastError = redact(messageOf(e));
      options.log?.(`stale translation scan: ${stale.lastError}`);
    }
    if (!closed && held && staleEvery > 0) staleTimer = setTimeout(() => (scanning = scanning.then(scanStale)), staleEvery);
  };
  const startScans = (): void => {
    scanning = scanning.then(scanStale);
  };
  const stopScans = (): void => {
    if (staleTimer !== undefined) clearTimeout(staleTimer);
    staleTimer = undefined;
  };
  // The lease, then the transformer: at once when the lease is free, else when it is released or expires.
  const leaseOptions = options.lease === false ? undefined : (options.lease ?? {});
  const ttl = leaseOptions?.ttlMs ?? 30_000;
  const retryMs = leaseOptions?.retryMs ?? Math.max(10, Math.floor(ttl / 3));
  const owner = leaseOptions?.owner ?? `transformer-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let state: DocumentStore | undefined;
  let ownState = false;
  const key = `transform:${[...new Set((await Promise.all(sides.map(async (s) => (await s.store.info()).name))))].sort().join(",")}`;
  if (leaseOptions !== undefined) {
    state = leaseOptions.store;
    if (state === undefined) {
      state = await openStore(defaultStateDb(urls[0]!));
      ownState = true;
    }
  }
  let held = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let tick: Promise<void> = Promise.resolve();
  let becameLeader: () => void = () => {};
  const leader = new Promise<void>((resolve) => (becameLeader = resolve));
  const step = async (): Promise<void> => {
    if (closed || state === undefined) return;
    try {
      await acquireLease(state, key, owner, ttl, Date.now());
      if (!held) {
        held = true;
        await transformer.start();
        becameLeader();
        startScans();
      }
    } catch (e) {
      if (!isDivanError(e, "LEASE_HELD") && !isDivanError(e, "STORE_UNAVAILABLE")) options.log?.(`transformer lease on ${key}: ${messageOf(e)}`);
      if (held) {
        held = false;
        options.log?.(`transformer lease on ${key} lost: stopping until it is free`);
        stopScans();
        await scanning;
        await transformer.stop();
      }
    }
    if (!closed) timer = setTimeout(() => (tick = step()), held ? Math.max(10, Math.floor(ttl / 3)) : retryMs);
  };
  if (state === undefined) {
    held = true;
    await transformer.start();
    becameLeader();
    startScans();
  } else {
    await step();
  }

  const status = async (): Promise<ServiceStatus> => {
    const s = await transformer.status();
    const databases = transformer.sides.map((side) => {
      const f = s.feeds.find((x) => x.sides.includes(side.name));
      return {
        side: side.name,
        database: redact(side.store.name),
        pending: f?.pending ?? 0,
        lagMs: f?.lagMs ?? 0,
        lastError: f?.lastError ?? null,
        quarantined: s.quarantine.filter((q) => q.side === side.name).length,
      };
    });
    const current = state === undefined ? undefined : await readLease(state, key);
    return { ...s, databases, lease: state === undefined ? null : { held, owner: current !== undefined && current.expiresAt > Date.now() ? current.owner : null }, stale: { ...stale } };
  };

  let server: http.Server | undefined;
  let statusUrl: string | undefined;
  if (options.statusPort !== false) {
    server = http.createServer((req, res) => {
      if (req.method === "GET" && (req.url === "/_divan/status" || req.url?.startsWith("/_divan/status?"))) {
        status().then(
          (body) => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
          },
          (e: unknown) => {
            res.writeHead(500, { "content-type": "application/json" });
            res.end(JSON.stringify({ error: "internal", reason: redact(messageOf(e)) }));
          },
        );
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "not_found", reason: "GET /_divan/status" }));
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once("error", (e) => reject(new DivanError("STORE_UNAVAILABLE", `transformer status listener: ${messageOf(e)}`, { cause: e })));
      srv.listen(typeof options.statusPort === "number" ? options.statusPort : 0, "127.0.0.1", () => resolve());
    });
    statusUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/_divan/status`;
  }

  return {
    transformer,
    statusUrl,
    status,
    leading: () => leader,
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await tick;
      stopScans();
      await scanning;
      await transformer.stop();
      if (state !== undefined && held) await releaseLease(state, key, owner).catch(() => undefined);
      if (ownState) await state?.close();
      if (server !== undefined) {
        const srv = server;
        srv.closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      }
      await Promise.all([...stores.values()].map((s) => s.close()));
    },
  };
}
