/**
 * The CouchDB-compatible server of the HTTP tests: a real CouchDB 3 when `COUCHDB_URL` is set
 * (e.g. `http://admin:password@127.0.0.1:5984`), otherwise an embedded server started for the test.
 *
 * Tests written against it must work on both: every database they create has a unique name
 * (`uniqueDbName` of `./backends.ts`) and is destroyed by the test; sequences are opaque (never compared or
 * parsed); no reliance on what only the embedded server does (no authentication, no `_purge`,
 * in-memory databases that vanish on close, `_db_updates` restarting from 0).
 *
 * Raw HTTP from a test goes through {@link couchFetch}: Node's `fetch` refuses a URL with
 * credentials (and echoes the password in its error), so they are moved into an `Authorization` header.
 */
import { redact } from "../../core/redact.js";
import { startEmbeddedServer } from "../../server/embedded.js";
import { splitDatabaseUrl } from "../../store/http.js";

/** A server a test can create databases on. */
export interface TestServer {
  /** Base URL without a trailing slash; carries the credentials of `COUCHDB_URL` when it has them. */
  readonly url: string;
  /** True when the server is `COUCHDB_URL` (not started, and not stopped, by the test). */
  readonly external: boolean;
  /** Stops the embedded server this call started; does nothing for an external server. */
  close(): Promise<void>;
}

/**
 * The server part of `COUCHDB_URL` (credentials kept, a trailing database path or slash dropped),
 * or `undefined` when the variable is unset or empty.
 */
export function externalServerUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env["COUCHDB_URL"]?.trim();
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    throw new Error(`COUCHDB_URL is not a URL: ${redact(raw)}`, { cause: e });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`COUCHDB_URL must be http(s): ${redact(raw)}`);
  url.search = "";
  url.hash = "";
  // Only the server part: `http://h:5984/db` and `http://h:5984/` both name the server `http://h:5984`.
  // A CouchDB behind a path prefix (`https://h/couch`) keeps its prefix when given with a trailing slash.
  const base = url.toString();
  if (url.pathname === "/" || base.endsWith("/")) return base.replace(/\/+$/, "");
  return splitDatabaseUrl(base).serverUrl;
}

/**
 * `COUCHDB_URL` when it is set (checked to answer, with its credentials), else a fresh embedded server
 * on 127.0.0.1 port 0. `close()` stops only what this call started.
 */
export async function startTestServer(): Promise<TestServer> {
  const external = externalServerUrl();
  if (external !== undefined) {
    const res = await couchFetch(`${external}/`).catch((e: unknown) => {
      throw new Error(`COUCHDB_URL ${redact(external)} does not answer: ${redact(String(e))}`, { cause: e });
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`COUCHDB_URL ${redact(external)} answered ${res.status}: ${redact(body)}`);
    return { url: external, external: true, close: async () => undefined };
  }
  const server = await startEmbeddedServer();
  return { url: server.url.replace(/\/$/, ""), external: false, close: () => server.close() };
}

/**
 * `fetch` for URLs that may carry credentials (`http://user:pass@host/...`): they are removed from the
 * URL and sent as HTTP basic authentication. Errors never show the password.
 */
export async function couchFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const u = new URL(url);
  const headers = new Headers(init.headers);
  if (u.username !== "" || u.password !== "") {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers.set("authorization", `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`);
    u.username = "";
    u.password = "";
  }
  try {
    return await fetch(u, { ...init, headers });
  } catch (e) {
    throw new Error(`${init.method ?? "GET"} ${redact(url)} failed: ${redact(String(e))}`, { cause: e });
  }
}
