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
import { multiVersionIds, singleVersionIds } from "../../adapters/ids.js";
import { redact } from "../../core/redact.js";
import { openStore } from "../../store/open.js";
import type { DocumentStore } from "../../store/port.js";
import { createTransformer, type Transformer, type TransformerStatus } from "../../strategies/transformer/transformer.js";
import { loadStepDefinitions } from "../config.js";
import { loadRegistry } from "../../schemas/load.js";
import type { TransformConfig } from "./config.js";
import { startLeaseLoop, type LeaseLoop } from "./lease.js";
import { staleScans, type StaleScanStatus } from "./stale-scans.js";
import { startStatusListener } from "./status-listener.js";

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
  readonly stale: StaleScanStatus;
}

/** Starts the service: opens (and creates) every configured database and starts the transformer live. */
export async function startTransformerService(options: TransformerServiceOptions): Promise<TransformerService> {
  const { config } = options;
  const steps = await loadStepDefinitions(config.steps);
  const verify = config.schemas === undefined ? undefined : await loadRegistry(config.schemas);
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
    ...(verify === undefined ? {} : { verify }),
    ids: config.ids === "multi-version" ? multiVersionIds : singleVersionIds,
    ...(config.checkpointId === undefined ? {} : { checkpointId: config.checkpointId }),
    onEvent: (e) => {
      if (e.type === "error") options.log?.(`transformer error on ${e.database}: ${e.message}`);
      if (e.type === "conflict") options.log?.(`conflict on ${e.conflict.family}:${e.conflict.entityId ?? ""}: ${e.conflict.winner} wins over ${e.conflict.loser}`);
      if (e.type === "quarantine") options.log?.(`quarantined ${e.record.id}@${e.record.rev ?? "?"} in ${e.record.side}: ${e.record.reason} [${e.record.code}]`);
    },
  });
  // Stale translations are ended on start and every `staleScanMs` while this service transforms.
  const stale = staleScans(transformer, config.staleScanMs ?? 60_000, options.log);
  const startTransforming = async (): Promise<void> => {
    await transformer.start();
    stale.start();
  };
  const stopTransforming = async (): Promise<void> => {
    await stale.stop();
    await transformer.stop();
  };
  // The lease, then the transformer: at once when the lease is free, else when it is released or expires.
  const leaseOptions = options.lease === false ? undefined : (options.lease ?? {});
  let lease: LeaseLoop | undefined;
  if (leaseOptions === undefined) {
    await startTransforming();
  } else {
    const ttlMs = leaseOptions.ttlMs ?? 30_000;
    lease = await startLeaseLoop({
      key: `transform:${[...new Set(await Promise.all(sides.map(async (s) => (await s.store.info()).name)))].sort().join(",")}`,
      store: leaseOptions.store,
      firstUrl: urls[0]!,
      owner: leaseOptions.owner ?? `transformer-${process.pid}-${Math.random().toString(36).slice(2)}`,
      ttlMs,
      retryMs: leaseOptions.retryMs ?? Math.max(10, Math.floor(ttlMs / 3)),
      start: startTransforming,
      stop: stopTransforming,
      log: options.log,
    });
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
    return { ...s, databases, lease: lease === undefined ? null : { held: lease.held(), owner: await lease.owner() }, stale: stale.status() };
  };
  const listener = options.statusPort === false ? undefined : await startStatusListener(options.statusPort ?? 0, status);

  let closed = false;
  return {
    transformer,
    statusUrl: listener?.url,
    status,
    leading: () => lease?.leading ?? Promise.resolve(),
    async close() {
      if (closed) return;
      closed = true;
      await lease?.stop();
      await stopTransforming();
      await lease?.release();
      await listener?.close();
      await Promise.all([...stores.values()].map((s) => s.close()));
    },
  };
}
