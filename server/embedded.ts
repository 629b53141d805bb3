/**
 * The embedded CouchDB-compatible server: a thin CouchDB HTTP API (Express 4) over PouchDB,
 * in memory by default or in LevelDB files under a data directory.
 *
 * Why not express-pouchdb: its parts register plugins through `PouchDB.plugin`, which on a
 * `PouchDB.defaults()` constructor patches the process-wide PouchDB prototype (pouchdb-find 7 would
 * replace PouchDB 9's `find` for every PouchDB in the process), and its database list listens on the
 * process-global constructor event emitter, so every PouchDB created anywhere in the process would show
 * up in every server's `_all_dbs`. It also writes `config.json`/`log.txt`, routes a `_selector` filter
 * to a design-doc lookup whose rejection kills the process, and never answers `_db_updates`.
 * Owning the routes keeps each server isolated and every failure an HTTP error.
 *
 * Endpoints: `/`, `/_up`, `/_all_dbs`, `/_uuids`, `/_session` (everyone is admin), `/_active_tasks`,
 * `/_db_updates` (normal/longpoll/continuous; one entry per database with its latest event, kept in
 * memory, so it restarts from 0 with the process); per database: create/info/delete, `_changes`
 * (`_selector`, `_doc_ids`, `_design`, `_view` and design-document filters; since, limit, include_docs,
 * conflicts, style, descending, heartbeat, timeout; sequences are PouchDB's, opaque to clients),
 * `_all_docs`, `_bulk_docs` (also `new_edits=false`), `_bulk_get`, `_revs_diff`, `_find`, `_explain`,
 * `_index`, views, `_local/` and `_design/` documents, documents and attachments (JSON only, no
 * multipart), `validate_doc_update` (as CouchDB runs it: `store/validate-doc-update.ts`), `_security` (kept
 * in memory, handed to `validate_doc_update`, not enforced), `_compact`, `_view_cleanup`.
 * Not served: authentication (every request is an admin's), `_replicate`/`_replicator`, `_purge`,
 * show/list/update functions, `feed=eventsource`, multipart document bodies.
 */
import { randomUUID } from "node:crypto";
import { resolve, sep } from "node:path";
import { DivanError, messageOf } from "../core/errors.js";
import { pouchDefaults } from "../store/pouchdb-node.js";
import { createApp } from "./embedded/app.js";
import type { Stopper } from "./embedded/changes.js";
import { DbRegistry } from "./embedded/registry.js";
import { listenLocal, type LocalListener } from "./embedded/http.js";

/** Options of {@link startEmbeddedServer}. */
export interface EmbeddedServerOptions {
  /** TCP port on 127.0.0.1; `0` or undefined picks a free port. */
  port?: number;
  /** Keep databases as LevelDB files in this directory; in memory (and gone on close) when undefined. */
  dataDir?: string;
  /** Receives one line per request and per server-side failure (default: nothing is logged). */
  log?: (line: string) => void;
  /** Largest accepted request body in bytes (default 64 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
}

/** A running embedded server. */
export interface EmbeddedServer {
  /** Base URL, e.g. `http://127.0.0.1:5984` (no trailing slash). */
  url: string;
  /** Ends every open feed and connection, closes the databases and stops listening. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 64 * 1024 * 1024;

/**
 * Starts a CouchDB-compatible server on 127.0.0.1.
 *
 * Each call gets its own databases: two servers in one process never share data.
 *
 * @example
 * ```ts
 * const server = await startEmbeddedServer();
 * await fetch(`${server.url}/todos`, { method: "PUT" });
 * await server.close();
 * ```
 * @throws DivanError `CONFIG_INVALID` for a bad port, `STORE_UNAVAILABLE` when it cannot listen.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DivanError("CONFIG_INVALID", `Port must be an integer between 0 and 65535, got ${String(options.port)}.`);
  }
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  const Pouch =
    dataDir === undefined
      ? pouchDefaults({ adapter: "memory", prefix: `divan-embedded-${randomUUID()}/` })
      : pouchDefaults({ adapter: "leveldb", prefix: dataDir + sep });
  const registry = new DbRegistry(Pouch, dataDir);
  try {
    await registry.load();
  } catch (e) {
    throw new DivanError("STORE_UNAVAILABLE", `Cannot open the data directory ${String(dataDir)}: ${messageOf(e)}`, { cause: e });
  }

  const log = options.log ?? (() => undefined);
  const feeds = new Set<Stopper>();
  const app = createApp({
    registry,
    feeds: {
      add(stop) {
        feeds.add(stop);
        return () => feeds.delete(stop);
      },
    },
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY,
    uuid: randomUUID().replace(/-/g, ""),
    log,
  });

  let listener: LocalListener;
  try {
    listener = await listenLocal(app, {
      port,
      what: "The embedded server",
      beforeClose: () => {
        for (const stop of [...feeds]) stop();
        feeds.clear();
      },
      onError: (e) => log(`server error: ${e.message}`),
    });
  } catch (e) {
    await registry.closeAll();
    throw e;
  }

  let closing: Promise<void> | undefined;
  return {
    url: listener.url,
    close() {
      closing ??= listener.close().then(() => registry.closeAll());
      return closing;
    },
  };
}
