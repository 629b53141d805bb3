import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDivanError } from "../../core/errors.js";
import { HttpStore } from "../../store/http.js";
import { isHttpUrl, openStore } from "../../store/open.js";
import { PouchStore } from "../../store/pouch.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("openStore", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("opens and creates an http(s) URL as an HTTP store", async () => {
    const store = await openStore(`${server.url}/${uniqueDbName()}`);
    try {
      expect(store).toBeInstanceOf(HttpStore);
      expect((await store.info()).docCount).toBe(0);
    } finally {
      await store.destroy();
      await store.close();
    }
  });

  it("leaves a missing database alone with create: false", async () => {
    const store = await openStore(`${server.url}/${uniqueDbName()}`, { create: false });
    try {
      await expect(store.info()).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await store.close();
    }
  });

  it("opens any other name with the given PouchDB constructor and store options", async () => {
    const store = await openStore(uniqueDbName(), { PouchDB: MemoryPouchDB, pouch: { validateDocUpdate: true } });
    try {
      expect(store).toBeInstanceOf(PouchStore);
      expect(store.capabilities.supportsValidateDocUpdate).toBe(true);
      await store.put({ _id: "a" });
      expect((await store.get("a"))._id).toBe("a");
    } finally {
      await store.destroy();
    }
  });

  it("refuses a database name without a PouchDB constructor", async () => {
    let err: unknown;
    try {
      await openStore("todos");
    } catch (e) {
      err = e;
    }
    expect(isDivanError(err, "CONFIG_INVALID")).toBe(true);
  });

  it("tells URLs from names", () => {
    expect(isHttpUrl("HTTPS://h/db")).toBe(true);
    expect(isHttpUrl("http://h/db")).toBe(true);
    expect(isHttpUrl("todos")).toBe(false);
    expect(isHttpUrl("/data/todos")).toBe(false);
  });
});
