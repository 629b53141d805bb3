/**
 * The embedded server's Express 4 application: a thin CouchDB HTTP API over PouchDB databases, one route module
 * per CouchDB resource in `routes/`.
 *
 * Every route validates its input and answers CouchDB status codes and `{ error, reason }` bodies;
 * every async handler is wrapped so a rejection becomes a response, and a final error middleware
 * answers whatever escapes. No request can end the process.
 */
import express from "express";
import type { NextFunction, Request, Response } from "express";
import type { FeedTracker } from "./changes.js";
import { sendJson, toCouchError } from "./http.js";
import type { DbRegistry } from "./registry.js";
import { attachmentRoutes } from "./routes/attachments.js";
import { bulkRoutes } from "./routes/bulk.js";
import { databaseRoutes } from "./routes/database.js";
import { documentRoutes } from "./routes/documents.js";
import { queryRoutes } from "./routes/query.js";
import { serverRoutes } from "./routes/server.js";
import { param, type RouteContext } from "./routes/support.js";
import { Validator } from "./validation.js";

/** What the application needs from the server around it. */
export interface AppContext {
  /** The server's databases. */
  registry: DbRegistry;
  /** Open feeds, ended on close. */
  feeds: FeedTracker;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Server uuid reported by `GET /`. */
  uuid: string;
  /** Receives one line per request and per server-side failure. */
  log: (line: string) => void;
}

/** Builds the Express application for one embedded server. */
export function createApp(ctx: AppContext): express.Express {
  const { registry, feeds, log } = ctx;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.enable("case sensitive routing");
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.on("finish", () => log(`${req.method} ${req.originalUrl} ${res.statusCode}`));
    next();
  });
  const c: RouteContext = {
    app,
    registry,
    feeds,
    validator: new Validator(),
    uuid: ctx.uuid,
    json: express.json({ limit: ctx.maxBodyBytes, strict: true, type: () => true }),
    raw: express.raw({ limit: ctx.maxBodyBytes, type: () => true }),
    db: (req: Request) => {
      const name = param(req, "db");
      return { name, db: registry.get(name) };
    },
  };
  // Order matters: every `/{db}/_…` endpoint before the documents (`/{db}/{docid}` matches them too), attachments last.
  serverRoutes(c);
  databaseRoutes(c);
  bulkRoutes(c);
  queryRoutes(c);
  documentRoutes(c);
  attachmentRoutes(c);

  app.use((_req: Request, res: Response) => sendJson(res, 404, { error: "not_found", reason: "missing" }));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toCouchError(err);
    if (status >= 500) log(`error ${req.method} ${req.originalUrl}: ${body.error}: ${body.reason}`);
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    sendJson(res, status, body);
  });
  return app;
}
