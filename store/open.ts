/**
 * One entry point for opening a store from configuration: an http(s) URL becomes an
 * {@link HttpStore} (nano), anything else a PouchDB database of the given constructor.
 */
import { DivanError } from "../core/errors.js";
import { httpStore, type HttpStoreOptions } from "./http.js";
import { openPouchStore, type PouchConstructor, type PouchStoreOptions } from "./pouch.js";
import type { DocumentStore } from "./port.js";

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The PouchDB constructor for non-URL names (e.g. `NodePouchDB`, or `PouchDB.defaults({ adapter: "memory" })`). */
  PouchDB?: PouchConstructor | PouchDB.Static;
  /** PouchDB constructor options for non-URL names (e.g. `{ adapter: "memory" }`). */
  pouchOptions?: Record<string, unknown>;
  /** Options of PouchDB stores. */
  pouch?: Omit<PouchStoreOptions, "reopen">;
  /** Options of HTTP stores. */
  http?: HttpStoreOptions;
  /** Create the database if it does not exist (default `true`). */
  create?: boolean;
}

/** True when `urlOrName` is an http(s) URL. */
export function isHttpUrl(urlOrName: string): boolean {
  return /^https?:\/\//i.test(urlOrName);
}

/**
 * Opens `urlOrName` as a {@link DocumentStore}: an http store for `http(s)://…/db` URLs, else a
 * PouchDB store with `options.PouchDB`. Creates the database unless `create: false`.
 */
export async function openStore(urlOrName: string, options: OpenStoreOptions = {}): Promise<DocumentStore> {
  let store: DocumentStore;
  if (isHttpUrl(urlOrName)) {
    store = httpStore(urlOrName, options.http);
  } else {
    if (options.PouchDB === undefined) {
      throw new DivanError("CONFIG_INVALID", `"${urlOrName}" is not an http(s) URL, so a PouchDB constructor is needed to open it; pass { PouchDB }`);
    }
    const pouchOpts = options.pouchOptions === undefined ? { ...options.pouch } : { ...options.pouch, pouchOptions: options.pouchOptions };
    store = openPouchStore(options.PouchDB, urlOrName, pouchOpts);
  }
  if (options.create !== false) {
    try {
      await store.create();
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
  }
  return store;
}
