import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";
import { enterMaintenance, maintenanceDesignDoc } from "../../strategies/transactional/index.js";
import { isDivanError } from "../../core/errors.js";
import { httpStore } from "../../store/http.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer } from "../support/server.js";

const { run } = comparisonFixture({ strategies: ["transactional", "transactional-online"], scenarios: ["conflict-storm", "basti"], seed: 11 });

describe("strategy transactional (maintenance window, copy + migrate + verify + switch) and its online variant", () => {
  it("the maintenance design document refuses app writes with a maintenance reason", async () => {
    const server = await startTestServer();
    const s = httpStore(`${server.url}/${uniqueDbName("maint")}`);
    await s.create();
    try {
      await enterMaintenance(s, "migrating");
      await expect(s.put({ _id: "todo-item:1", schema: "todo-item" })).rejects.toSatisfy((e: unknown) => isDivanError(e, "FORBIDDEN") && /maintenance: migrating/.test(e.message));
      expect(maintenanceDesignDoc("x").validate_doc_update).toContain("maintenance: x");
    } finally {
      await s.destroy();
      await s.close();
      await server.close();
    }
  });

  it("once the old app is retired, the lock lets untyped notices through and still refuses data: new, edited, deleted or replicated", async () => {
    const server = await startTestServer();
    const s = httpStore(`${server.url}/${uniqueDbName("retired")}`);
    await s.create();
    try {
      const { rev } = await s.put({ _id: "todo-item:1", schema: "todo-item", version: 1, title: "a" });
      await enterMaintenance(s, "migrating");
      await enterMaintenance(s, "app 1.0.0 is retired", { typeField: "schema" });
      const refused = (e: unknown): boolean => isDivanError(e, "FORBIDDEN") && /maintenance: app 1\.0\.0 is retired/.test(e.message);
      await s.put({ _id: "app-support", minimumVersion: "3.0.0" });
      expect((await s.get("app-support"))["minimumVersion"]).toBe("3.0.0");
      await expect(s.put({ _id: "todo-item:2", schema: "todo-item", version: 1, title: "b" })).rejects.toSatisfy(refused);
      await expect(s.put({ _id: "todo-item:1", _rev: rev, schema: "todo-item", version: 1, title: "c" })).rejects.toSatisfy(refused);
      await expect(s.remove("todo-item:1", rev)).rejects.toSatisfy(refused);
      // An old device's deletion, as replication writes it: a tombstone carrying no type, child of a typed revision.
      const [pushed] = await s.bulkDocs([{ _id: "todo-item:1", _rev: "2-aaaa", _deleted: true, _revisions: { start: 2, ids: ["aaaa", rev.slice(2)] } }], { newEdits: false });
      expect(pushed?.ok).not.toBe(true);
      expect((await s.get("todo-item:1"))["title"]).toBe("a");
    } finally {
      await s.destroy();
      await s.close();
      await server.close();
    }
  });

  it("both variants switch every upgraded device to the migrated database and pass every invariant in the Conflict storm, with measured downtime", () => {
    for (const name of ["transactional", "transactional-online"]) {
      const r = run("conflict-storm", name);
      expect(r.status, name).toBe("pass");
      expect(r.metrics.conflicts).toBe(0);
      expect(r.metrics.downtimeMs).toBeGreaterThan(0);
    }
  });

  it("Basti: the never-updated phone loses write access (the declared legacy caveat), nothing else fails", () => {
    for (const name of ["transactional", "transactional-online"]) {
      const r = run("basti", name);
      expect(r.status, name).toBe("expected");
      // Basti's phone keeps using and writing with the old app after the release; it never retires.
      const declared = new Set<string>(createStrategy(name).caveats.filter((c) => c.when !== "retired").map((c) => c.invariant));
      const failed = r.invariants.filter((i) => !i.ok);
      expect(failed.length).toBeGreaterThan(0);
      for (const i of failed) expect(declared.has(i.name), i.name).toBe(true);
    }
    expect(createStrategy("transactional").caveats.some((c) => c.invariant === "apps-read-their-data")).toBe(true);
  });
});
