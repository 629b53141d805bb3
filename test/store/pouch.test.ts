import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { isDivanError } from "../../core/errors.js";
import { openPouchStore, pouchStore } from "../../store/pouch.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";

const FORBID_ALL = {
  _id: "_design/guard",
  validate_doc_update: `function (newDoc, oldDoc, userCtx, secObj) {
    if (newDoc.owner !== userCtx.name && !(userCtx.roles || []).includes("_admin")) {
      throw({ unauthorized: "only " + (oldDoc ? oldDoc.owner : "the owner") + " may write" });
    }
    if (newDoc.broken) { null.explode(); }
    if (!newDoc.title) { throw({ forbidden: "title is required" }); }
  }`,
};

describe("PouchDB store", () => {
  it("does not enforce validate_doc_update unless asked to, and says so in its capabilities", async () => {
    const store = openPouchStore(MemoryPouchDB, uniqueDbName());
    try {
      expect(store.capabilities.supportsValidateDocUpdate).toBe(false);
      await store.put(FORBID_ALL);
      await expect(store.put({ _id: "no-title" })).resolves.toMatchObject({ id: "no-title" });
    } finally {
      await store.destroy();
    }
  });

  it("runs validate_doc_update like CouchDB: userCtx, oldDoc, forbidden, unauthorized and crashes", async () => {
    const store = openPouchStore(MemoryPouchDB, uniqueDbName(), {
      validateDocUpdate: true,
      userCtx: { db: "x", name: "ann", roles: [] },
    });
    try {
      expect(store.capabilities.supportsValidateDocUpdate).toBe(true);
      await store.put(FORBID_ALL);
      const { rev } = await store.put({ _id: "t", owner: "ann", title: "ok" });
      const results = await store.bulkDocs([
        { _id: "t", _rev: rev, owner: "bob", title: "stolen" },
        { _id: "u", owner: "ann" },
        { _id: "v", owner: "ann", title: "x", broken: true },
        { _id: "w", owner: "ann", title: "fine" },
      ]);
      expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["UNAUTHORIZED", "FORBIDDEN", "BAD_REQUEST", "ok"]);
      const unauthorized = results[0];
      expect(unauthorized !== undefined && !unauthorized.ok && unauthorized.error.reason).toBe("only ann may write");
      let thrown: unknown;
      try {
        await store.remove("t", rev);
      } catch (e) {
        thrown = e;
      }
      // A deletion is validated too: the tombstone has no owner.
      expect(isDivanError(thrown, "UNAUTHORIZED")).toBe(true);
      // Design documents themselves are not validated.
      await expect(store.put({ _id: "_design/other" })).resolves.toBeDefined();
    } finally {
      await store.destroy();
    }
  });

  it("reopens a wrapped instance after destroy through its own constructor", async () => {
    const name = uniqueDbName();
    const store = pouchStore(new MemoryPouchDB(name));
    await store.put({ _id: "a" });
    await store.destroy();
    await store.create();
    expect((await store.info()).docCount).toBe(0);
    expect(store.pouch.name).toBe(name);
    await store.destroy();
  });

  it("hands out string sequences and accepts them back", async () => {
    const store = openPouchStore(MemoryPouchDB, uniqueDbName());
    try {
      await store.bulkDocs([{ _id: "a" }, { _id: "b" }, { _id: "c" }]);
      const first = await store.changes({ limit: 1 });
      expect(first.lastSeq).toBe("1");
      const rest = await store.changes({ since: first.lastSeq });
      expect(rest.results.map((c) => c.id)).toEqual(["b", "c"]);
      expect((await store.info()).updateSeq).toBe("3");
    } finally {
      await store.destroy();
    }
  });

  it("bundles for the browser without Node built-ins (pouch store, replication, errors)", async () => {
    const result = await build({
      stdin: {
        contents: `export * from "./store/pouch.ts"; export * from "./store/replicate.ts"; export * from "./store/errors.ts";`,
        resolveDir: new URL("../../", import.meta.url).pathname,
        loader: "ts",
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? "";
    expect(code).toContain("validate_doc_update");
    expect(code).not.toMatch(/from ["']node:/);
  });
});
