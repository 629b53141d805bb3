/**
 * A small counting HTTP proxy: devices replicate through it, so the comparison can measure the
 * bytes replication moves (request and response bodies) against any server — the embedded one or
 * a real CouchDB at `COUCHDB_URL`. Listens on 127.0.0.1 on a free port.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { DivanError } from "../../core/errors.js";

/** A running counting proxy. */
export interface CountingProxy {
  /** `http://127.0.0.1:PORT` (no credentials; clients send their own). */
  readonly url: string;
  /** Body bytes sent and received through the proxy since it started. */
  bytes(): number;
  /** Requests forwarded since it started. */
  requests(): number;
  /** Stops listening, ends every connection, and resolves. */
  close(): Promise<void>;
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
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    const headers = { ...req.headers, host: base.host };
    const upstream = http.request(
      { host: base.hostname, port: base.port || 80, method: req.method, path: prefix + (req.url ?? "/"), headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
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
    });
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
    bytes: () => bytes,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
