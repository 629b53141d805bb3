/**
 * The transformer service's status listener: `GET /_divan/status` on 127.0.0.1, answering with the JSON a status
 * function gives (500 with the redacted reason when it fails).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { DivanError, messageOf } from "../../core/errors.js";
import { redact } from "../../core/redact.js";

/** A running status listener. */
export interface StatusListener {
  /** `http://127.0.0.1:<port>/_divan/status`. */
  readonly url: string;
  /** Closes the listener and its connections. */
  readonly close: () => Promise<void>;
}

/** Listens on `port` of 127.0.0.1 (0: a free port) and answers `GET /_divan/status` with `status()`. */
export async function startStatusListener(port: number, status: () => Promise<unknown>): Promise<StatusListener> {
  const server = http.createServer((req, res) => {
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
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new DivanError("STORE_UNAVAILABLE", `transformer status listener: ${messageOf(e)}`, { cause: e })));
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/_divan/status`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
