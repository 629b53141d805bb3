/**
 * Channels on the device (issue 10): replicate an app version's documents with a multi-version server
 * database through the app's channel, and compact the local database after an app upgrade.
 *
 * - {@link syncChannel}`(local, remoteUrl, manifest)`: one push and one pull, both filtered by the
 *   channel selector of the manifest (`strategies/channels.ts`); reports the `divan-retired` signal.
 * - {@link compactChannel}: after an upgrade, copy the local data through the NEW channel into a fresh
 *   local database (a local, filtered replication: no server involved), then destroy the old one. The
 *   app switches to the fresh database. Pass `remoteUrl` to push pending local writes first, so nothing
 *   unpushed is dropped; without it the caller vouches that the device has synced.
 *
 * Browser-safe: no Node built-ins. The caller brings PouchDB (with the http adapter and the
 * replication plugin) — the constructor of `local` is used unless `options.PouchDB` is given.
 */
import { DivanError } from "../core/errors.js";
import type { Manifest } from "../schemas/manifest.js";
import type { Registry } from "../schemas/registry.js";
import { pouchStore, type PouchConstructor } from "../store/pouch.js";
import { getIfExists, type DocumentStore, type ReplicationResult, type Selector } from "../store/port.js";
import { replicate } from "../store/replicate.js";
import { compactThrough, manifestChannel, retirementOf, RETIRED_DOC_ID, type ChannelForm, type RetiredApp } from "../strategies/channels.js";

/** A local database: a PouchDB instance or a divan store. */
export type LocalDatabase = PouchDB.Database | DocumentStore;

/** Options of {@link syncChannel} and {@link compactChannel}. */
export interface ChannelSyncOptions {
  /** Channel form: `exact` (default: only the app's versions) or `newer` (also newer versions). */
  form?: ChannelForm;
  /** Resolves manifest ranges that span several majors (see `manifestShape`). */
  registry?: Registry;
  /** Attribute holding the document type (default `"schema"`). */
  typeField?: string;
  /** Attribute holding the major version (default `"version"`). */
  versionField?: string;
  /** The PouchDB constructor to open the remote URL with (default: the constructor of `local`). */
  PouchDB?: PouchConstructor | PouchDB.Static;
  /** Documents per replication batch. */
  batchSize?: number;
  /** Reject with `APP_RETIRED` when the server says this app version is retired (default `false`: report it). */
  failIfRetired?: boolean;
}

/** What {@link syncChannel} did. */
export interface ChannelSyncResult {
  /** The selector both directions used. */
  selector: Selector;
  /** Local → server. */
  pushed: ReplicationResult;
  /** Server → local. */
  pulled: ReplicationResult;
  /** Present when the server retired this app version: tell the user to update. */
  retired?: RetiredApp;
}

function isStore(db: LocalDatabase): db is DocumentStore {
  return typeof (db as Partial<DocumentStore>).replicationEndpoint === "function" && typeof (db as Partial<DocumentStore>).capabilities === "object";
}

function asStore(db: LocalDatabase): DocumentStore {
  return isStore(db) ? db : pouchStore(db);
}

function constructorOf(local: DocumentStore, options: ChannelSyncOptions): PouchConstructor {
  if (options.PouchDB !== undefined) return options.PouchDB as unknown as PouchConstructor;
  const endpoint = local.replicationEndpoint();
  const ctor = typeof endpoint === "object" && endpoint !== null ? (endpoint as { constructor?: unknown }).constructor : undefined;
  if (typeof ctor !== "function") {
    throw new DivanError("CONFIG_INVALID", `Cannot open the remote database: ${local.name} is not a PouchDB database; pass { PouchDB }.`);
  }
  return ctor as PouchConstructor;
}

/** The remote database as a store, opened with PouchDB's http adapter (never as a local database). */
function remoteStore(local: DocumentStore, remoteUrl: string, options: ChannelSyncOptions): DocumentStore {
  if (!/^https?:\/\//i.test(remoteUrl)) {
    throw new DivanError("CONFIG_INVALID", `The remote database must be an http(s) URL, not "${remoteUrl.replace(/\/\/[^@/]*@/, "//***@")}".`);
  }
  const Ctor = constructorOf(local, options);
  return pouchStore(new Ctor(remoteUrl, { adapter: /^https:/i.test(remoteUrl) ? "https" : "http", skip_setup: true }));
}

/**
 * Syncs `local` with the server database at `remoteUrl` through the channel of `manifest`: one push
 * then one pull, both filtered by the channel selector, so the device only sends and receives the
 * documents of its app version (and untyped notices). Reports the retirement signal when the server
 * has retired this app version.
 *
 * @throws DivanError `STORE_UNAVAILABLE`/`UNAUTHORIZED`… when replication fails; `APP_RETIRED` with `failIfRetired`.
 * @example
 * ```ts
 * const r = await syncChannel(new PouchDB("todos"), "https://couch.example/todos", manifest);
 * if (r.retired) showUpdateBanner(r.retired.message);
 * ```
 */
export async function syncChannel(local: LocalDatabase, remoteUrl: string, manifest: Manifest, options: ChannelSyncOptions = {}): Promise<ChannelSyncResult> {
  const store = asStore(local);
  const selector = manifestChannel(manifest, options);
  const remote = remoteStore(store, remoteUrl, options);
  const batch = options.batchSize === undefined ? {} : { batchSize: options.batchSize };
  try {
    const pushed = await replicate(store, remote, { selector, ...batch });
    const pulled = await replicate(remote, store, { selector, ...batch });
    const result: ChannelSyncResult = { selector, pushed, pulled };
    const retired = await readRetirement(store, manifest.version);
    if (retired !== undefined) {
      if (options.failIfRetired === true) {
        throw new DivanError("APP_RETIRED", `App ${manifest.version} is no longer supported: ${retired.message || `update to ${retired.minimumVersion} or later`}.`, {
          details: { app: manifest.version, minimumVersion: retired.minimumVersion },
        });
      }
      result.retired = retired;
    }
    return result;
  } finally {
    await remote.close().catch(() => undefined);
  }
}

/** The retirement entry for `appVersion` in the local copy of the `divan-retired` document, if any. */
export async function readRetirement(local: LocalDatabase, appVersion: string): Promise<RetiredApp | undefined> {
  const notice = await getIfExists(asStore(local), RETIRED_DOC_ID);
  return notice === undefined ? undefined : retirementOf(notice, appVersion);
}

/** Options of {@link compactChannel}. */
export interface CompactOptions extends ChannelSyncOptions {
  /** Push `from` to this server database first, so no unpushed write is dropped (recommended when online). */
  remoteUrl?: string;
  /** Destroy `from` once the copy is complete (default `true`). */
  destroyOld?: boolean;
}

/** What {@link compactChannel} did. */
export interface CompactResult {
  /** The fresh database the app uses from now on. */
  store: DocumentStore;
  /** The new channel's selector. */
  selector: Selector;
  /** Documents copied into the fresh database. */
  copied: number;
  /** Live documents of the old database that the new channel leaves behind (old versions). */
  dropped: number;
  /** What the preliminary push sent, when `remoteUrl` was given. */
  pushed?: ReplicationResult;
  /** The old database was kept because the server refused some of its documents (they stay there). */
  keptOld: boolean;
}

/**
 * Client compaction after an app upgrade: the device keeps only the documents of its new app version.
 * Replicates `from` into the empty `to` through the channel of the NEW `manifest` (a local filtered
 * replication: revisions and histories are kept, so the server sees the same revisions and nothing
 * conflicts), then destroys `from`. No server load beyond an optional push of pending writes; the next
 * {@link syncChannel} from `to` compares revisions with the server (`_revs_diff`) and transfers no
 * document bodies it already holds. With the `exact` form the new versions that were not on the device
 * arrive with that next sync.
 *
 * If the push fails the old database is left untouched (nothing is lost) and the error is thrown.
 *
 * @throws DivanError `CONFIG_INVALID` when `to` is not empty.
 */
export async function compactChannel(from: LocalDatabase, to: LocalDatabase, manifest: Manifest, options: CompactOptions = {}): Promise<CompactResult> {
  const source = asStore(from);
  const target = asStore(to);
  const selector = manifestChannel(manifest, options);
  const remote = options.remoteUrl === undefined ? undefined : remoteStore(source, options.remoteUrl, options);
  try {
    const r = await compactThrough(source, target, selector, {
      ...(remote === undefined ? {} : { push: remote }),
      ...(options.destroyOld === undefined ? {} : { destroyOld: options.destroyOld }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    return { store: target, selector, ...r };
  } finally {
    await remote?.close().catch(() => undefined);
  }
}
