/**
 * The server databases a comparison world reaches: the direct stores, and the ones devices replicate with, through
 * the counting proxy over HTTP or in process in the memory world.
 */
import { DivanError } from "../../../core/errors.js";
import type { DocumentStore } from "../../../store/port.js";
import { httpStore, splitDatabaseUrl } from "../../../store/http.js";
import { openStore } from "../../../store/open.js";
import { pouchDefaults } from "../../../store/pouchdb-node.js";
import { pouchStore } from "../../../store/pouch.js";
import { startLazyProxy } from "../../../server/lazy/proxy.js";
import type { InProcessFetch } from "../../../server/lazy/inject.js";
import type { SyncChannel } from "../../../strategies/types.js";
import type { CountingProxy } from "../proxy.js";
import type { MemoryServer } from "./memory.js";

/** PouchDB with the in-memory adapter, as devices' local databases use it. */
export const MemoryPouch = pouchDefaults({ adapter: "memory" });

/** Where an HTTP world's server and counting proxy are. */
export interface HttpWorldOptions {
  readonly serverUrl?: string;
  readonly proxy?: CountingProxy;
}

/** The options of an HTTP world (`transport` `http`), or `CONFIG_INVALID` when the server URL or proxy is missing. */
export function requireHttp(options: HttpWorldOptions): { serverUrl: string; proxy: CountingProxy } {
  if (options.serverUrl === undefined || options.proxy === undefined) {
    throw new DivanError("CONFIG_INVALID", "An http world needs serverUrl and proxy; pass transport: \"memory\" for the in-process world.");
  }
  return { serverUrl: options.serverUrl, proxy: options.proxy };
}

/** The server databases of one world: `database` and its suffixed siblings, on `memory` or at the HTTP server. */
export class ServerConnections {
  /** Databases on the server: suffix (`""` for main) → direct store. */
  readonly stores = new Map<string, DocumentStore>();
  readonly #options: HttpWorldOptions;
  readonly #database: string;
  readonly #memory: MemoryServer | undefined;
  readonly #auth: string;
  readonly #proxied = new Map<string, DocumentStore>();
  /** In the in-process world: translating proxies started so far, URL → their in-process fetch. */
  readonly #inProcess = new Map<string, InProcessFetch>();

  constructor(options: HttpWorldOptions, database: string, main: DocumentStore, memory: MemoryServer | undefined) {
    this.#options = options;
    this.#database = database;
    this.#memory = memory;
    const url = memory === undefined ? new URL(requireHttp(options).serverUrl) : undefined;
    this.#auth = url?.username ? `${url.username}:${url.password}@` : "";
    this.stores.set("", main);
  }

  /** Starts a translating proxy; in the memory world, one PouchDB then reaches in process. */
  readonly translatingProxy: typeof startLazyProxy = async (o) => {
    const proxy = await startLazyProxy(o);
    if (this.#memory !== undefined) this.#inProcess.set(proxy.url, proxy.fetch);
    return proxy;
  };

  /** The stores devices replicate with, to close with the world. */
  proxiedStores(): Iterable<DocumentStore> {
    return this.#proxied.values();
  }

  /** The direct (not proxied) store of server database `suffix`. */
  async serverStore(suffix: string): Promise<DocumentStore> {
    if (!/^[a-z0-9_$()+/-]*$/.test(suffix)) {
      throw new DivanError("CONFIG_INVALID", `"${suffix}" cannot be part of a CouchDB database name.`, { details: { suffix } });
    }
    const existing = this.stores.get(suffix);
    if (existing) return existing;
    const store =
      this.#memory !== undefined
        ? await this.#memory.open(this.#database + suffix)
        : await openStore(`${requireHttp(this.#options).serverUrl.replace(/\/$/, "")}/${encodeURIComponent(this.#database + suffix)}`);
    this.stores.set(suffix, store);
    return store;
  }

  /**
   * The direct (not proxied) store a channel replicates with: server database `channel.database`, or the
   * database at `channel.remoteUrl` (e.g. a translating proxy) when the channel names one.
   */
  async remoteOf(channel: SyncChannel): Promise<DocumentStore> {
    if (channel.remoteUrl === undefined) return this.serverStore(channel.database);
    return this.#remoteStore(`direct ${channel.remoteUrl}`, channel.remoteUrl);
  }

  /** The store a channel replicates with, through the counting proxy. */
  async channelRemote(channel: SyncChannel): Promise<DocumentStore> {
    if (channel.remoteUrl === undefined) return this.proxiedStore(channel.database);
    if (this.#memory !== undefined) {
      // A translating proxy this world started: PouchDB's HTTP adapter talks to it in process, no socket.
      const url = channel.remoteUrl;
      const fetch = [...this.#inProcess].find(([base]) => url.startsWith(`${base}/`))?.[1];
      if (fetch === undefined) return this.#remoteStore(url, url);
      const existing = this.#proxied.get(url);
      if (existing) return existing;
      const store = pouchStore(new MemoryPouch(url, { adapter: "http", skip_setup: true, fetch } as PouchDB.Configuration.RemoteDatabaseConfiguration));
      this.#proxied.set(url, store);
      return store;
    }
    const { serverUrl, dbName } = splitDatabaseUrl(channel.remoteUrl);
    return this.#remoteStore(channel.remoteUrl, `${requireHttp(this.#options).proxy.mount(serverUrl)}/${encodeURIComponent(dbName)}`);
  }

  /** Server database `suffix` as devices reach it: through the counting proxy (directly in the memory world). */
  async proxiedStore(suffix: string): Promise<DocumentStore> {
    const direct = await this.serverStore(suffix);
    if (this.#memory !== undefined) return direct;
    const existing = this.#proxied.get(suffix);
    if (existing) return existing;
    const proxy = new URL(requireHttp(this.#options).proxy.url);
    const store = httpStore(`${proxy.protocol}//${this.#auth}${proxy.host}/${encodeURIComponent(this.#database + suffix)}`);
    this.#proxied.set(suffix, store);
    return store;
  }

  async #remoteStore(key: string, url: string): Promise<DocumentStore> {
    const existing = this.#proxied.get(key);
    if (existing) return existing;
    const store = httpStore(url);
    this.#proxied.set(key, store);
    return store;
  }
}
