/**
 * The backends every store contract test runs on: PouchDB in memory, nano against the embedded
 * server, and nano against a real CouchDB when `COUCHDB_URL` is set (otherwise that group is
 * skipped with a printed reason — the only skip allowed in the project).
 *
 * Usage: `for (const backend of storeBackends()) describe.skipIf(backend.skipReason !== undefined)(backend.name, () => { … })`,
 * with `backend.setup()` in `beforeAll`, `backend.teardown()` in `afterAll` and `await backend.newStore()`
 * in each test (a fresh, uniquely named, created database, destroyed and closed by `teardown` or `dispose`).
 */
import { startEmbeddedServer } from "../../server/embedded.js";
import { COUCHDB_CAPABILITIES, httpStore, splitDatabaseUrl } from "../../store/http.js";
import { openPouchStore } from "../../store/pouch.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import type { DocumentStore, StoreCapabilities } from "../../store/port.js";

/** A PouchDB constructor whose databases live in memory. */
export const MemoryPouchDB: PouchDB.Static = pouchDefaults({ adapter: "memory" });

let counter = 0;

/** A database name no other test uses (lower-case, starts with a letter, CouchDB-legal). */
export function uniqueDbName(prefix = "divan-test"): string {
  counter += 1;
  const rand = Math.random().toString(36).slice(2, 8);
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}-${rand}`;
}

/** One backend of the contract suite. */
export interface StoreBackend {
  /** Name of the describe group. */
  readonly name: string;
  /** What every store of this backend declares (known before any store exists, for gating groups). */
  readonly capabilities: StoreCapabilities;
  /** Why this backend is skipped, if it is (only the `COUCHDB_URL` group can be). */
  readonly skipReason?: string;
  /** Starts what the backend needs (a server); call in `beforeAll`. */
  setup(): Promise<void>;
  /** Destroys every database this backend made, closes stores and stops servers; call in `afterAll`. */
  teardown(): Promise<void>;
  /** A fresh, created, uniquely named database. */
  newStore(): Promise<DocumentStore>;
  /** Destroys and closes one store made by {@link newStore} (early, e.g. in `onTestFinished`). */
  dispose(store: DocumentStore): Promise<void>;
  /** The base URL of the server (credentials included), for HTTP backends. */
  serverUrl(): string | undefined;
}

abstract class BaseBackend implements StoreBackend {
  abstract readonly name: string;
  abstract readonly capabilities: StoreCapabilities;
  skipReason?: string;
  private readonly stores = new Set<DocumentStore>();

  async setup(): Promise<void> {}

  protected abstract open(name: string): DocumentStore;

  async newStore(): Promise<DocumentStore> {
    const store = this.open(uniqueDbName());
    this.stores.add(store);
    await store.create();
    return store;
  }

  async dispose(store: DocumentStore): Promise<void> {
    if (!this.stores.delete(store)) return;
    try {
      await store.destroy();
    } finally {
      await store.close();
    }
  }

  async teardown(): Promise<void> {
    await Promise.all([...this.stores].map((s) => this.dispose(s)));
  }

  serverUrl(): string | undefined {
    return undefined;
  }
}

class MemoryBackend extends BaseBackend {
  readonly name = "PouchDB (memory)";
  /** PouchDB with pouchdb-find, enforcing validate_doc_update through the store option. */
  readonly capabilities: StoreCapabilities = {
    supportsSelectorReplication: true,
    supportsValidateDocUpdate: true,
    supportsFind: true,
    reportsPending: false,
  };
  protected open(name: string): DocumentStore {
    return openPouchStore(MemoryPouchDB, name, { validateDocUpdate: true });
  }
}

/**
 * What the embedded server (a thin CouchDB-compatible layer over PouchDB) supports. It does not
 * report `pending` in `_changes`, as PouchDB does not.
 */
export const EMBEDDED_CAPABILITIES: Partial<StoreCapabilities> = { reportsPending: false };

class EmbeddedBackend extends BaseBackend {
  readonly name = "nano → embedded server";
  readonly capabilities: StoreCapabilities = { ...COUCHDB_CAPABILITIES, ...EMBEDDED_CAPABILITIES };
  private server: { url: string; close(): Promise<void> } | undefined;

  override async setup(): Promise<void> {
    this.server = await startEmbeddedServer();
  }

  protected open(name: string): DocumentStore {
    return httpStore(`${this.serverUrl()}/${name}`, { capabilities: EMBEDDED_CAPABILITIES });
  }

  override async teardown(): Promise<void> {
    try {
      await super.teardown();
    } finally {
      await this.server?.close();
      this.server = undefined;
    }
  }

  override serverUrl(): string {
    if (this.server === undefined) throw new Error("embedded backend used before setup()");
    return this.server.url.replace(/\/$/, "");
  }
}

class CouchDbBackend extends BaseBackend {
  readonly name = "nano → COUCHDB_URL";
  readonly capabilities: StoreCapabilities = COUCHDB_CAPABILITIES;
  private readonly base: string | undefined;

  constructor(url: string | undefined) {
    super();
    this.base = url?.replace(/\/$/, "");
    if (this.base === undefined || this.base === "") {
      this.skipReason = "COUCHDB_URL is not set: set it (e.g. http://admin:password@127.0.0.1:5984) to run the store contract on a real CouchDB";
    }
  }

  protected open(name: string): DocumentStore {
    return httpStore(`${this.serverUrl()}/${name}`);
  }

  override serverUrl(): string {
    if (this.base === undefined) throw new Error("COUCHDB_URL is not set");
    // COUCHDB_URL names the server; tolerate a trailing database path by keeping only the server part.
    try {
      const { serverUrl } = splitDatabaseUrl(`${this.base}/x`);
      return serverUrl;
    } catch {
      return this.base;
    }
  }
}

/** The backends the store contract runs on, in order: memory, embedded server, `COUCHDB_URL`. */
export function storeBackends(): StoreBackend[] {
  const couch = new CouchDbBackend(process.env.COUCHDB_URL);
  if (couch.skipReason !== undefined) console.info(`[store contract] skipping "${couch.name}": ${couch.skipReason}`);
  return [new MemoryBackend(), new EmbeddedBackend(), couch];
}
