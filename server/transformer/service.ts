/**
 * The long-running transformer service behind `divan serve --transform`, with its `GET /_divan/status`.
 *
 * The long-running transformer service behind `divan serve --transform`: opens the configured
 * version databases on a server, runs the transformer core live, and answers `GET /_divan/status`
 * (JSON, per version database: pending changes, lag ms, last error, quarantine count; writes and
 * conflicts) on its own 127.0.0.1 listener. `close()` finishes the current page, saves the
 * checkpoints and closes everything (the CLI calls it on SIGTERM).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { multiVersionIds, singleVersionIds } from "../../adapters/ids.js";
import { DivanError, messageOf } from "../../core/errors.js";
import { redact } from "../../core/redact.js";
import { openStore } from "../../store/open.js";
import type { DocumentStore } from "../../store/port.js";
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
}

/** A running transformer service. */
export interface TransformerService {
  readonly transformer: Transformer;
  /** `http://127.0.0.1:<port>/_divan/status`, when the status listener runs. */
  readonly statusUrl: string | undefined;
  /** The status as `GET /_divan/status` returns it. */
  status(): Promise<ServiceStatus>;
  /** Stops the transformer (checkpoints saved), the listener and the stores. Idempotent. */
  close(): Promise<void>;
}

/** The JSON of `GET /_divan/status`. */
export interface ServiceStatus extends TransformerStatus {
  /** Per configured side: its database (redacted) and the status of that database's feed. */
  readonly databases: readonly { side: string; database: string; pending: number; lagMs: number; lastError: string | null; quarantined: number }[];
}

/** Starts the service: opens (and creates) every configured database and starts the transformer live. */
export async function startTransformerService(options: TransformerServiceOptions): Promise<TransformerService> {
  const { config } = options;
  const steps = await loadStepDefinitions(config.steps);
  const base = options.serverUrl.replace(/\/$/, "");
  const stores = new Map<string, DocumentStore>();
  const sides = [];
  try {
    for (const s of config.sides) {
      const url = /^https?:\/\//i.test(s.db) ? s.db : `${base}/${encodeURIComponent(s.db)}`;
      let store = stores.get(url);
      if (store === undefined) {
        store = await openStore(url);
        stores.set(url, store);
      }
      sides.push({ name: s.name, store, shape: { ...s.shape } });
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
  await transformer.start();

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
    return { ...s, databases };
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

  let closed = false;
  return {
    transformer,
    statusUrl,
    status,
    async close() {
      if (closed) return;
      closed = true;
      await transformer.stop();
      if (server !== undefined) {
        const srv = server;
        srv.closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      }
      await Promise.all([...stores.values()].map((s) => s.close()));
    },
  };
}
