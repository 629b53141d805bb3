/**
 * HTTP plumbing shared by the embedded server's routes: CouchDB errors, JSON replies, query parsing.
 *
 * HTTP plumbing shared by the embedded server's routes: CouchDB-style error bodies, JSON replies,
 * strict query-parameter parsing and an async-handler wrapper that turns every rejection into a
 * response instead of an unhandled rejection.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import type { Socket } from "node:net";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { DivanError } from "../../core/errors.js";

/** A CouchDB error reply: HTTP status plus the `{ error, reason }` body. */
export class HttpError extends Error {
  /** HTTP status code. */
  readonly status: number;
  /** CouchDB error name (`not_found`, `bad_request`, …). */
  readonly error: string;

  constructor(status: number, error: string, reason: string) {
    super(reason);
    this.name = "HttpError";
    this.status = status;
    this.error = error;
  }
}

/** A 400 `bad_request` with `reason`. */
export function badRequest(reason: string): HttpError {
  return new HttpError(400, "bad_request", reason);
}

/** The `{ error, reason }` body and status CouchDB would answer for `e` (PouchDB errors keep theirs). */
export function toCouchError(e: unknown): { status: number; body: { error: string; reason: string } } {
  if (e instanceof HttpError) return { status: e.status, body: { error: e.error, reason: e.message } };
  if (typeof e === "object" && e !== null) {
    const o = e as { status?: unknown; statusCode?: unknown; name?: unknown; error?: unknown; reason?: unknown; message?: unknown; type?: unknown };
    const raw = typeof o.status === "number" ? o.status : typeof o.statusCode === "number" ? o.statusCode : 500;
    const status = raw >= 400 && raw <= 599 ? raw : 500;
    // body-parser errors carry a `type`.
    if (typeof o.type === "string") {
      if (o.type === "entity.parse.failed") return { status: 400, body: { error: "bad_request", reason: "invalid UTF-8 JSON" } };
      if (o.type === "entity.too.large") return { status: 413, body: { error: "too_large", reason: "the request entity is too large" } };
      if (o.type === "encoding.unsupported" || o.type === "charset.unsupported") {
        return { status: 415, body: { error: "bad_content_type", reason: String(o.message ?? "unsupported encoding") } };
      }
      if (o.type === "request.aborted" || o.type === "request.size.invalid") {
        return { status: 400, body: { error: "bad_request", reason: String(o.message ?? "bad request body") } };
      }
    }
    const reason = typeof o.reason === "string" ? o.reason : typeof o.message === "string" ? o.message : "unknown error";
    let error = typeof o.error === "string" && o.error !== "true" ? o.error : typeof o.name === "string" ? o.name : "";
    if (error === "" || /^[A-Z]\w*Error$/.test(error)) {
      error = status === 500 ? "unknown_error" : "bad_request";
    }
    return { status, body: { error, reason } };
  }
  return { status: 500, body: { error: "unknown_error", reason: String(e) } };
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status);
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Cache-Control", "must-revalidate");
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(JSON.stringify(body) + "\n");
}

/** Wraps an async route so a rejection reaches the error middleware (never an unhandled rejection). */
export function route(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let p: Promise<void>;
    try {
      p = fn(req, res);
    } catch (e) {
      next(e);
      return;
    }
    p.catch(next);
  };
}

/** Strict readers for CouchDB query parameters (JSON-encoded values, booleans, integers). */
export class Query {
  constructor(private readonly q: Request["query"]) {}

  /** The raw string value of `name`, the last one if repeated. */
  str(name: string): string | undefined {
    const v: unknown = this.q[name];
    if (v === undefined) return undefined;
    if (Array.isArray(v)) {
      const last: unknown = v[v.length - 1];
      return typeof last === "string" ? last : undefined;
    }
    return typeof v === "string" ? v : undefined;
  }

  /** True when `name` is present. */
  has(name: string): boolean {
    return this.q[name] !== undefined;
  }

  /** A boolean parameter (`true`/`false`); anything else is a 400. */
  bool(name: string): boolean | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (v === "true") return true;
    if (v === "false") return false;
    throw badRequest(`Invalid boolean parameter: "${name}"`);
  }

  /** A non-negative integer parameter; anything else is a 400. */
  int(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw badRequest(`Invalid value for integer parameter "${name}": ${JSON.stringify(v)}`);
    return Number(v);
  }

  /** A JSON-encoded parameter (`key="abc"`, `keys=["a"]`); invalid JSON is a 400. */
  json(name: string): unknown {
    const v = this.str(name);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw badRequest(`Invalid JSON in query parameter "${name}"`);
    }
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The request body as a JSON object, or a 400. */
export function objectBody(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (!isObject(b)) throw badRequest("Request body must be a JSON object");
  return b;
}

/** A server listening on loopback, from {@link listenLocal}. */
export interface LocalListener {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  /** Stops listening, runs `beforeClose` (end open feeds), destroys every socket and resolves when closed. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link listenLocal}. */
export interface ListenOptions {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Interface to listen on (default 127.0.0.1: servers divan starts never listen beyond loopback by default). */
  readonly host?: string;
  /** What is listening, for error messages ("The embedded server"). */
  readonly what: string;
  /** Called on close before sockets are destroyed, e.g. to end open `_changes` feeds. */
  readonly beforeClose?: () => void;
  /** Receives server errors after listening started. */
  readonly onError?: (e: Error) => void;
}

/**
 * Serves `handler` over HTTP on loopback. Tracks sockets so `close()` also ends keep-alive connections
 * and long-running feeds, and answers a broken client connection with a 400 instead of letting it become
 * an uncaught error.
 *
 * @throws DivanError `STORE_UNAVAILABLE` when it cannot listen.
 */
export async function listenLocal(handler: RequestListener, options: ListenOptions): Promise<LocalListener> {
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_err, socket) => {
    if (!socket.destroyed) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (e: Error): void => {
      rejectListen(new DivanError("STORE_UNAVAILABLE", `${options.what} cannot listen on ${host}:${options.port}: ${e.message}`, { cause: e }));
    };
    server.once("error", onError);
    server.listen(options.port, host, () => {
      server.removeListener("error", onError);
      resolveListen();
    });
  });
  server.on("error", (e) => options.onError?.(e));
  const address = server.address();
  if (address === null || typeof address === "string") throw new DivanError("INTERNAL", `${options.what} has no TCP address.`);
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((done) => server.close(() => done()));
        options.beforeClose?.();
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
