import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDivanError, type DivanError } from "../../core/errors.js";
import { httpStore, splitDatabaseUrl } from "../../store/http.js";
import type { Change } from "../../store/port.js";
import { openPouchStore } from "../../store/pouch.js";
import { replicate, replicateLive } from "../../store/replicate.js";
import { rejection } from "../support/errors.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const UNREACHABLE = "http://admin:s3cret@127.0.0.1:1/db";

function expectRedacted(err: DivanError): void {
  const all = [err.message, JSON.stringify(err.toJSON()), String(err.cause)].join("\n");
  expect(all).not.toContain("s3cret");
  expect(err.message).toContain("admin:***");
}

describe("HTTP store on an unreachable server", () => {
  it("fails every kind of call with STORE_UNAVAILABLE and a redacted password", async () => {
    const store = httpStore(UNREACHABLE);
    expect(store.name).toBe("http://admin:***@127.0.0.1:1/db");
    try {
      for (const call of [
        () => store.info(),
        () => store.get("x"),
        () => store.bulkDocs([{ _id: "x" }]),
        () => store.changes({ selector: { a: 1 } }),
        () => store.getLocal("x"),
        () => store.create(),
      ]) {
        const err = await rejection(call());
        expect(err.code).toBe("STORE_UNAVAILABLE");
        expectRedacted(err);
      }
    } finally {
      await store.close();
    }
  });

  it("gives up a live feed after its retries, through onError and done", async () => {
    const store = httpStore(UNREACHABLE, { maxRetries: 1, retryDelay: 5 });
    const errors: Error[] = [];
    const feed = store.liveChanges({}, { onChange: () => undefined, onError: (e) => errors.push(e) });
    const err = await rejection(feed.done);
    expect(err.code).toBe("STORE_UNAVAILABLE");
    expectRedacted(err);
    expect(errors).toEqual([err]);
    await feed.stop();
    await store.close();
  });

  it("fails a replication from it with STORE_UNAVAILABLE and a redacted password", async () => {
    const source = httpStore(UNREACHABLE);
    const target = openPouchStore(MemoryPouchDB, uniqueDbName("divan-device"));
    try {
      const err = await rejection(replicate(source, target));
      expect(err.code).toBe("STORE_UNAVAILABLE");
      expectRedacted(err);
    } finally {
      await target.destroy();
      await source.close();
    }
  });
});

describe("database URLs", () => {
  it("splits a URL into the server (credentials kept) and the decoded database name", () => {
    expect(splitDatabaseUrl("http://u:p@h:5984/todos")).toEqual({ serverUrl: "http://u:p@h:5984", dbName: "todos" });
    expect(splitDatabaseUrl("https://h/couch/a%2Fb/")).toEqual({ serverUrl: "https://h/couch", dbName: "a/b" });
  });

  it("refuses URLs that name no database or are not http(s), without echoing the password", () => {
    for (const bad of ["http://u:pw1@h:5984/", "ftp://u:pw1@h/db", "not a url"]) {
      let err: unknown;
      try {
        splitDatabaseUrl(bad);
      } catch (e) {
        err = e;
      }
      expect(isDivanError(err, "BAD_REQUEST")).toBe(true);
      expect((err as Error).message).not.toContain("pw1");
    }
  });
});

describe("HTTP store lifecycle on the test server (COUCHDB_URL or embedded)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("addresses a database whose name needs URL encoding", async () => {
    const name = `${uniqueDbName()}/sub$(x)+y`;
    const store = httpStore(`${server.url}/${encodeURIComponent(name)}`);
    try {
      await store.create();
      await store.put({ _id: "a" });
      expect((await store.info()).name).toBe(name);
      expect((await store.get("a"))._id).toBe("a");
    } finally {
      await store.destroy();
      await store.close();
    }
  });

  it("reports NOT_FOUND for a database that does not exist", async () => {
    const store = httpStore(`${server.url}/${uniqueDbName()}`);
    try {
      expect((await rejection(store.info())).code).toBe("NOT_FOUND");
      await store.destroy(); // idempotent even when it never existed
    } finally {
      await store.close();
    }
  });

  it("stops its live feeds and refuses calls once closed", async () => {
    const store = httpStore(`${server.url}/${uniqueDbName()}`);
    await store.create();
    const feed = store.liveChanges({ since: "now" }, { onChange: () => undefined });
    await store.destroy();
    await store.close();
    await feed.done; // stopped by close: resolved, not rejected
    const err = await rejection(store.info());
    expect(err.code).toBe("STORE_UNAVAILABLE");
    await store.close(); // idempotent
  });

  it("replicates server to server through a PouchDB constructor", async () => {
    const a = httpStore(`${server.url}/${uniqueDbName()}`);
    const b = httpStore(`${server.url}/${uniqueDbName()}`);
    try {
      await Promise.all([a.create(), b.create()]);
      await a.bulkDocs([{ _id: "x" }, { _id: "y" }]);
      await expect(replicate(a, b)).rejects.toMatchObject({ code: "BAD_REQUEST" });
      const result = await replicate(a, b, { PouchDB: MemoryPouchDB });
      expect(result.docsWritten).toBe(2);
      expect((await b.allDocs()).rows.map((r) => r.id)).toEqual(["x", "y"]);
      const live = replicateLive(a, b, { PouchDB: MemoryPouchDB });
      await live.idle();
      await live.stop();
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
      await Promise.all([a.close(), b.close()]);
    }
  });
});

/** One `_changes` request the scripted server received, and when its connection closed. */
interface SeenRequest {
  readonly method: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly body: string;
  readonly closed: Promise<void>;
}

/**
 * A scripted CouchDB `_changes` endpoint: the n-th request is answered by `script[n]` (which writes raw
 * bytes, so line splitting, heartbeats and dropped connections can be exact); everything is recorded.
 */
async function scriptedServer(script: ((req: IncomingMessage, res: ServerResponse) => void)[]): Promise<{ url: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    const closed = new Promise<void>((resolve) => req.socket.once("close", () => resolve()));
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push({ method: req.method ?? "", query: url.searchParams, authorization: req.headers.authorization, body, closed });
      const answer = script[seen.length - 1];
      if (answer === undefined) {
        res.writeHead(200, { "content-type": "application/json" });
        res.flushHeaders(); // stays open, silent, until the client goes
      } else answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://admin:s3cret@127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const row = (seq: string, id: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ seq, id, changes: [{ rev: `1-${id}` }], ...extra }) + "\n";

/** Records a feed's changes and errors; `next(n)` resolves once `n` changes arrived. */
function collector(): { changes: Change[]; errors: Error[]; next(n: number): Promise<void>; handlers: { onChange(c: Change): void; onError(e: Error): void } } {
  const changes: Change[] = [];
  const errors: Error[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  return {
    changes,
    errors,
    next: (n) =>
      new Promise<void>((resolve) => {
        if (changes.length >= n) resolve();
        else waiting = { n, resolve };
      }),
    handlers: {
      onChange: (c) => {
        changes.push(c);
        if (waiting !== undefined && changes.length >= waiting.n) waiting.resolve();
      },
      onError: (e) => errors.push(e),
    },
  };
}

describe("HTTP store live feed (feed=continuous)", () => {
  it("reads many changes from one request, split anywhere, heartbeats skipped, credentials as a header", async () => {
    const server = await scriptedServer([
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const text = "\n" + row("1-a", "a", { doc: { _id: "a", title: "caf\u00e9 \u2615" } }) + "\n\n" + row("2-b", "b") + row("3-c", "c", { deleted: true });
        // Byte by byte: lines and a multi-byte character are cut across chunks.
        const bytes = Buffer.from(text);
        let i = 0;
        const drip = (): void => {
          if (i >= bytes.length || res.destroyed) return;
          res.write(bytes.subarray(i, i + 7));
          i += 7;
          setImmediate(drip);
        };
        drip();
      },
    ]);
    const store = httpStore(`${server.url}/db`, { heartbeat: 2_000 });
    const c = collector();
    const feed = store.liveChanges({ since: "0-x", includeDocs: true }, c.handlers);
    try {
      await c.next(3);
      expect(c.changes.map((x) => [x.id, x.seq, x.deleted === true])).toEqual([
        ["a", "1-a", false],
        ["b", "2-b", false],
        ["c", "3-c", true],
      ]);
      expect(c.changes[0]?.doc?.["title"]).toBe("caf\u00e9 \u2615");
      expect(server.seen).toHaveLength(1);
      const q = server.seen[0]!.query;
      expect([q.get("feed"), q.get("heartbeat"), q.get("since"), q.get("include_docs")]).toEqual(["continuous", "2000", "0-x", "true"]);
      expect(server.seen[0]!.authorization).toBe(`Basic ${Buffer.from("admin:s3cret").toString("base64")}`);
    } finally {
      await feed.stop();
      await store.close();
      await server.close();
    }
    expect(c.errors).toEqual([]);
  });

  it("stop() aborts the request: the server sees the connection closed", async () => {
    const server = await scriptedServer([]);
    const store = httpStore(`${server.url}/db`);
    const feed = store.liveChanges({ since: "0" }, { onChange: () => undefined });
    try {
      while (server.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
      await feed.stop();
      await server.seen[0]!.closed; // never resolves (test timeout) if the socket stays open
      await feed.done; // stopped: resolved, not rejected
    } finally {
      await store.close();
      await server.close();
    }
  });

  it("pins since=now to the current sequence, so a reconnect before the first change misses nothing", async () => {
    const server = await scriptedServer([
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ db_name: "db", doc_count: 0, update_seq: "9-pinned" }));
      },
      (_req, res) => {
        res.writeHead(200);
        res.write("\n"); // a heartbeat, then the connection drops before any change
        setTimeout(() => res.socket?.destroy(), 20);
      },
    ]);
    const store = httpStore(`${server.url}/db`, { retryDelay: 1 });
    const feed = store.liveChanges({ since: "now" }, { onChange: () => undefined });
    try {
      while (server.seen.length < 3) await new Promise((r) => setTimeout(r, 5));
      expect(server.seen[1]!.query.get("since")).toBe("9-pinned");
      expect(server.seen[2]!.query.get("since")).toBe("9-pinned"); // not "now" again
    } finally {
      await feed.stop();
      await store.close();
      await server.close();
    }
  });

  it("reopens from last_seq when the server ends the response, and from the last change after a dropped connection", async () => {
    const server = await scriptedServer([
      (_req, res) => {
        res.writeHead(200);
        res.end(row("1-a", "a") + JSON.stringify({ last_seq: "5-end", pending: 0 }) + "\n");
      },
      (_req, res) => {
        res.writeHead(200);
        res.write(row("6-f", "f") + '{"seq":"7-g","id":"g","chan'); // cut mid-line, then dropped
        setTimeout(() => res.socket?.destroy(), 20);
      },
    ]);
    const store = httpStore(`${server.url}/db`, { retryDelay: 5 });
    const c = collector();
    const feed = store.liveChanges({ selector: { schema: "todo-item" } }, c.handlers);
    try {
      await c.next(2);
      while (server.seen.length < 3) await new Promise((r) => setTimeout(r, 5));
      expect(c.changes.map((x) => x.id)).toEqual(["a", "f"]); // the cut line is not delivered
      expect(server.seen.map((r) => r.query.get("since"))).toEqual([null, "5-end", "6-f"]);
      for (const r of server.seen) {
        expect(r.method).toBe("POST");
        expect(r.query.get("filter")).toBe("_selector");
        expect(JSON.parse(r.body)).toEqual({ selector: { schema: "todo-item" } });
      }
    } finally {
      await feed.stop();
      await store.close();
      await server.close();
    }
    expect(c.errors).toEqual([]);
  });

  it("fails with the server's error code for an error answer and for an error line", async () => {
    const server = await scriptedServer([
      (_req, res) => {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "not_found", reason: "Database does not exist." }));
      },
      (_req, res) => {
        res.writeHead(200);
        res.end(row("1-a", "a") + JSON.stringify({ error: "forbidden", reason: "no access" }) + "\n");
      },
    ]);
    const store = httpStore(`${server.url}/db`);
    try {
      const first = store.liveChanges({}, { onChange: () => undefined });
      const e1 = await rejection(first.done);
      expect(e1.code).toBe("NOT_FOUND");
      expect(e1.message).not.toContain("s3cret");
      const c = collector();
      const second = store.liveChanges({}, c.handlers);
      const e2 = await rejection(second.done);
      expect(e2.code).toBe("FORBIDDEN");
      expect(c.changes.map((x) => x.id)).toEqual(["a"]);
      expect(c.errors).toEqual([e2]);
    } finally {
      await store.close();
      await server.close();
    }
  });

  it("reads the next change only after a busy handler settled, in feed order", async () => {
    const server = await scriptedServer([
      (_req, res) => {
        res.writeHead(200);
        res.write(row("1-a", "a") + row("2-b", "b") + row("3-c", "c"));
      },
    ]);
    const store = httpStore(`${server.url}/db`);
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const feed = store.liveChanges(
      {},
      {
        onChange: async (ch) => {
          order.push(`start ${ch.id}`);
          if (ch.id === "a") await gate;
          order.push(`end ${ch.id}`);
        },
      },
    );
    try {
      while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 30));
      expect(order).toEqual(["start a"]);
      release();
      while (order.length < 6) await new Promise((r) => setTimeout(r, 5));
      expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    } finally {
      await feed.stop();
      await store.close();
      await server.close();
    }
  });
});
