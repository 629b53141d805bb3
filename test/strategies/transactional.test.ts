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
