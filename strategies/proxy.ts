/**
 * The translating proxy as strategies see it: a port the server's HTTP proxy implements and the harness injects.
 *
 * A translating proxy as strategies see it (a port): a CouchDB-compatible database per app version in
 * front of one server database. Strategies (in `strategies/`) cannot import the HTTP proxy (in
 * `server/lazy/`), so it is injected as a factory: `startLazyProxy` from `server/lazy/proxy.ts` implements
 * {@link TranslatingProxyFactory}, and the harness passes it as `ServerContext.translatingProxy`.
 */
import type { StepDefinition } from "../adapters/steps.js";
import type { Shape } from "../adapters/types.js";
import type { Registry } from "../schemas/registry.js";
import type { DocumentStore } from "../store/port.js";

/** One database the proxy serves: the server database as an app version sees it. */
export interface ProxyView {
  /** The database name the proxy serves it under (a URL path segment). */
  readonly name: string;
  /** The shape (type → major) documents are translated to. */
  readonly shape: Shape;
}

/** Options of a {@link TranslatingProxyFactory}. */
export interface TranslatingProxyOptions {
  /** The single server database documents live in (newest shape once touched). */
  readonly store: DocumentStore;
  /** The schema registry (types, versions, validation on write). */
  readonly registry: Registry;
  /** Every step of the app family. */
  readonly steps: readonly StepDefinition[];
  /** The databases to serve, one per app version, oldest first: writes through any of them are stored at the last one's shape. */
  readonly views: readonly ProxyView[];
  /** Host to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** Port to listen on (default 0: a free one). */
  readonly port?: number;
}

/** A running translating proxy. */
export interface TranslatingProxy {
  /** `http://host:port` (no trailing slash). */
  readonly url: string;
  /** The database URL of view `name` (`CONFIG_INVALID` for a name it does not serve). */
  urlOf(name: string): string;
  /** Stops listening, ends open feeds and connections. Idempotent. */
  close(): Promise<void>;
}

/** Starts a translating proxy. */
export type TranslatingProxyFactory = (options: TranslatingProxyOptions) => Promise<TranslatingProxy>;
