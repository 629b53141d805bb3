/**
 * Server-level resources of the embedded server: `/`, `/_up`, `/_all_dbs`, `/_active_tasks`, `/_session`, `/_uuids`, `/_db_updates`.
 */
import type { Request, Response } from "express";
import { badRequest, Query, route, sendJson } from "../http.js";
import type { FeedTracker } from "../changes.js";
import type { DbRegistry, DbUpdate } from "../registry.js";
import { methodNotAllowed, newId, type RouteContext } from "./support.js";

/** Registers the server-level resources. */
export function serverRoutes(c: RouteContext): void {
  const { app, registry, feeds, json } = c;
  app.get("/", (_req, res) => {
    sendJson(res, 200, {
      couchdb: "Welcome",
      version: COUCHDB_VERSION,
      uuid: c.uuid,
      features: [],
      vendor: { name: "divan embedded server (PouchDB)" },
    });
  });
  app.get("/_up", (_req, res) => sendJson(res, 200, { status: "ok" }));
  app.get("/_all_dbs", (_req, res) => sendJson(res, 200, registry.all()));
  app.get("/_active_tasks", (_req, res) => sendJson(res, 200, []));
  app.get("/_session", (_req, res) =>
    sendJson(res, 200, { ok: true, userCtx: { name: null, roles: ["_admin"] }, info: { authentication_handlers: [] } }),
  );
  app.get(
    "/_uuids",
    route(async (req, res) => {
      const count = new Query(req.query).int("count") ?? 1;
      if (count > 1000) throw badRequest("count parameter too large (max 1000)");
      sendJson(res, 200, { uuids: Array.from({ length: count }, newId) });
    }),
  );
  app.all("/_db_updates", json, route(async (req, res) => serveDbUpdates(req, res, registry, feeds)));
}

/** CouchDB version whose API the embedded server follows (`test/server/parity.test.ts` checks it against a real one). */
const COUCHDB_VERSION = "3.4.3";

/** `_db_updates` with `feed=normal|longpoll|continuous`, `since`, `timeout`, `heartbeat`. */
async function serveDbUpdates(req: Request, res: Response, registry: DbRegistry, feeds: FeedTracker): Promise<void> {
  if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw methodNotAllowed("GET,HEAD,POST");
  const q = new Query(req.query);
  const feed = q.str("feed") ?? "normal";
  if (feed !== "normal" && feed !== "longpoll" && feed !== "continuous") {
    throw badRequest(`Supported feeds are normal, longpoll and continuous, not ${JSON.stringify(feed.slice(0, 100))}`);
  }
  const sinceRaw = q.str("since") ?? "0";
  const since = /^"(.*)"$/.exec(sinceRaw)?.[1] ?? sinceRaw;
  if (since !== "now" && !/^\d{1,15}$/.test(since)) throw badRequest("Malformed sequence supplied in 'since' parameter.");
  const first = registry.updatesSince(since);
  if (feed === "normal" || (feed === "longpoll" && first.results.length > 0)) {
    sendJson(res, 200, first);
    return;
  }
  const hbRaw = q.str("heartbeat");
  const heartbeat = hbRaw === "true" ? 60_000 : hbRaw === undefined || hbRaw === "false" ? undefined : q.int("heartbeat");
  if (heartbeat === 0) throw badRequest("heartbeat must be positive");
  const timeout = q.int("timeout") ?? (heartbeat === undefined ? 60_000 : undefined);
  res.status(200);
  res.setHeader("Content-Type", "application/json");
  res.flushHeaders();
  let lastSeq = first.last_seq;
  let done = false;
  const timers: NodeJS.Timeout[] = [];
  const onUpdate = (u: DbUpdate): void => {
    lastSeq = u.seq;
    if (feed === "longpoll") finish({ results: [u], last_seq: u.seq });
    else if (!res.writableEnded) res.write(JSON.stringify(u) + "\n");
  };
  const finish = (tail: unknown): void => {
    if (done) return;
    done = true;
    for (const t of timers) clearTimeout(t);
    registry.events.removeListener("update", onUpdate);
    unregister();
    if (tail !== undefined && !res.writableEnded) res.write(JSON.stringify(tail) + "\n");
    if (!res.writableEnded) res.end();
  };
  const unregister = feeds.add(() => finish(undefined));
  res.on("close", () => finish(undefined));
  if (res.destroyed || req.socket.destroyed) {
    finish(undefined);
    return;
  }
  if (feed === "continuous") for (const u of first.results) res.write(JSON.stringify(u) + "\n");
  registry.events.on("update", onUpdate);
  if (heartbeat !== undefined) timers.push(setInterval(() => !res.writableEnded && res.write("\n"), heartbeat));
  if (timeout !== undefined) {
    timers.push(setTimeout(() => finish(feed === "longpoll" ? { results: [], last_seq: lastSeq } : { last_seq: lastSeq }), timeout));
  }
}