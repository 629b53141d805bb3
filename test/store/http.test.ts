import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDivanError, type DivanError } from "../../core/errors.js";
import { httpStore, splitDatabaseUrl } from "../../store/http.js";
import { openPouchStore } from "../../store/pouch.js";
import { replicate, replicateLive } from "../../store/replicate.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const UNREACHABLE = "http://admin:s3cret@127.0.0.1:1/db";

async function rejection(p: Promise<unknown>): Promise<DivanError> {
  try {
    await p;
  } catch (e) {
    if (isDivanError(e)) return e;
    throw new Error(`expected a DivanError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a rejection");
}

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
