/**
 * A counting HTTP proxy devices replicate through, so the comparison measures the bytes replication moves.
 *
 * A small counting HTTP proxy: devices replicate through it, so the comparison can measure the
 * bytes replication moves (request and response bodies) against any server — the embedded one or
 * a real CouchDB at `COUCHDB_URL`. Listens on 127.0.0.1 on a free port.
 *
 * It counts two figures: every body byte ({@link CountingProxy.wireBytes}), and the same without the
 * bookkeeping ({@link CountingProxy.bytes}, see {@link bookkeepingBytes}): update sequences are opaque
 * tokens whose length is the server's choice (a CouchDB 3 sequence is about 100 bytes and its length
 * differs between two fresh databases; the embedded server's is a few digits); a replication writes a
 * checkpoint when the sequence it is handed back differs from the one it sent, which on CouchDB depends
 * on how the server encoded it, not on what changed; and a database's info answer carries the server's
 * own statistics. Without them the figure is what replication moves (documents, revisions, change
 * lists), reproducible from the seed on any server.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { DivanError } from "../../core/errors.js";

/** A running counting proxy. */
export interface CountingProxy {
  /** `http://127.0.0.1:PORT` (no credentials; clients send their own). */
  readonly url: string;
  /** Body bytes sent and received through the proxy since it started, without the server's bookkeeping ({@link bookkeepingBytes}). */
  bytes(): number;
  /** Every body byte sent and received through the proxy since it started. */
  wireBytes(): number;
  /** Requests forwarded since it started. */
  requests(): number;
  /**
   * Requests and body bytes per request kind since it started (see {@link requestKind}), e.g.
   * `POST _changes` → `{ requests: 12, sent: 2400, received: 9100 }`: where replication's bytes go.
   */
  breakdown(): ReadonlyMap<string, KindCount>;
  /**
   * Makes another http:// server reachable through this proxy (counted like the rest): returns the URL
   * under this proxy that forwards to `target` (its path kept), e.g. a translating proxy a device
   * replicates with. The same target gives the same URL.
   */
  mount(target: string): string;
  /** Stops listening, ends every connection, and resolves. */
  close(): Promise<void>;
}

/** Requests and body bytes of one request kind. */
export interface KindCount {
  /** Requests of this kind. */
  requests: number;
  /** Request body bytes (client → server). */
  sent: number;
  /** Response body bytes (server → client). */
  received: number;
}

/**
 * The kind of a CouchDB request, for the byte breakdown: the method and the endpoint inside the
 * database (`GET _changes`, `POST _changes`, `POST _bulk_get`, `POST _revs_diff`, `POST _bulk_docs`,
 * `GET _local`, `PUT _local`, `GET db` for the database's info, `GET doc`, `GET /` for the server, …).
 * `path` is the request path without the query, relative to the server (mount prefix removed).
 */
export function requestKind(method: string, path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  const [db, second] = parts;
  if (db === undefined) return `${method} /`;
  if (db.startsWith("_")) return `${method} /${db}`;
  if (second === undefined) return `${method} db`;
  if (second === "_local" || second === "_design") return `${method} ${second}`;
  if (second.startsWith("_")) return `${method} ${second}`;
  return `${method} doc`;
}

/** Whether bodies of `kind` may hold bookkeeping (see {@link bookkeepingBytes}). */
function mayHoldBookkeeping(kind: string): boolean {
  return kind === "GET db" || kind.endsWith(" _changes") || kind.endsWith(" _local");
}

/** The keys of a `_changes` answer whose values are update sequences (opaque, their length the server's choice). */
const SEQUENCE_KEYS: ReadonlySet<string> = new Set(["seq", "last_seq"]);

/** Bytes of the JSON values of {@link SEQUENCE_KEYS} anywhere in `value`. */
function sequenceBytes(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sequenceBytes(v), 0);
  if (typeof value !== "object" || value === null) return 0;
  let n = 0;
  for (const [key, v] of Object.entries(value)) n += SEQUENCE_KEYS.has(key) ? Buffer.byteLength(JSON.stringify(v) ?? "") : sequenceBytes(v);
  return n;
}

/**
 * The bytes of a request or response body of `kind` ({@link requestKind}) that are bookkeeping rather
 * than what replication moves: the whole info answer of a database (`GET db`: its sequences, sizes and
 * start time), every `_local` document read or written (replication checkpoints), and the update
 * sequences in `_changes` feeds (one JSON body or one per line). Everything else counts.
 */
export function bookkeepingBytes(kind: string, body: string): number {
  if (!mayHoldBookkeeping(kind)) return 0;
  if (!kind.endsWith(" _changes")) return Buffer.byteLength(body);
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  };
  const whole = parse(body);
  if (whole !== undefined) return sequenceBytes(whole);
  // A continuous feed: one JSON object per line.
  return body.split("\n").reduce((n, line) => n + sequenceBytes(parse(line)), 0);
}

/**
 * Keeps a body of `kind` that may hold bookkeeping and reports its {@link bookkeepingBytes} once, when it
 * ends or its connection closes (a feed cut short still has its complete lines counted).
 */
function inspector(kind: string, report: (bytes: number) => void): { write(chunk: Buffer): void; end(): void } {
  if (!mayHoldBookkeeping(kind)) return { write: () => undefined, end: () => undefined };
  const decoder = new TextDecoder();
  let text = "";
  let ended = false;
  return {
    write: (chunk) => {
      text += decoder.decode(chunk, { stream: true });
    },
    end: () => {
      if (ended) return;
      ended = true;
      report(bookkeepingBytes(kind, text + decoder.decode()));
    },
  };
}

/** Starts a proxy that forwards every request to `target` (a server URL; its path prefix is kept). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const base = new URL(target);
  if (base.protocol !== "http:") {
    throw new DivanError("CONFIG_INVALID", `The counting proxy forwards to http:// servers only, not ${base.protocol}//${base.host}.`);
  }
  const prefix = base.pathname.replace(/\/$/, "");
  const agent = new http.Agent({ keepAlive: true });
  let bytes = 0;
  let bookkeeping = 0;
  let requests = 0;
  const kinds = new Map<string, KindCount>();
  const mounts: URL[] = [];
  const route = (url: string): { to: URL; path: string } => {
    const m = /^\/_divan_mount\/(\d+)(\/.*)?$/.exec(url);
    const to = m === null ? undefined : mounts[Number(m[1])];
    if (m === null || to === undefined) return { to: base, path: prefix + url };
    return { to, path: to.pathname.replace(/\/$/, "") + (m[2] ?? "/") };
  };
  const server = http.createServer((req, res) => {
    requests += 1;
    const { to, path } = route(req.url ?? "/");
    const relative = path.slice(to === base ? prefix.length : to.pathname.replace(/\/$/, "").length).split("?")[0] ?? "/";
    const kind = requestKind(req.method ?? "GET", relative);
    // Bodies that may hold bookkeeping are kept until they end, to take it out of the count.
    const sentBody = inspector(kind, (n) => (bookkeeping += n));
    const receivedBody = inspector(kind, (n) => (bookkeeping += n));
    let count = kinds.get(kind);
    if (count === undefined) kinds.set(kind, (count = { requests: 0, sent: 0, received: 0 }));
    const counted = count;
    counted.requests += 1;
    const headers = { ...req.headers, host: to.host };
    const upstream = http.request(
      { host: to.hostname, port: to.port || 80, method: req.method, path, headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          counted.received += chunk.length;
          receivedBody.write(chunk);
        });
        up.on("end", receivedBody.end);
        up.on("close", receivedBody.end);
        up.pipe(res);
        up.on("error", () => res.destroy());
      },
    );
    upstream.on("error", (e) => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "bad_gateway", reason: e.message }));
      } else res.destroy();
    });
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      counted.sent += chunk.length;
      sentBody.write(chunk);
    });
    req.on("end", sentBody.end);
    req.on("close", sentBody.end);
    req.pipe(upstream);
    res.on("close", () => {
      if (!upstream.writableEnded || !res.writableFinished) upstream.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bytes: () => bytes - bookkeeping,
    wireBytes: () => bytes,
    requests: () => requests,
    breakdown: () => new Map([...kinds].map(([k, c]) => [k, { ...c }])),
    mount: (target) => {
      const url = new URL(target);
      if (url.protocol !== "http:") throw new DivanError("CONFIG_INVALID", `The counting proxy forwards to http:// servers only, not ${url.protocol}//${url.host}.`);
      url.username = "";
      url.password = "";
      let n = mounts.findIndex((m) => m.href === url.href);
      if (n === -1) n = mounts.push(url) - 1;
      return `http://127.0.0.1:${port}/_divan_mount/${n}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
