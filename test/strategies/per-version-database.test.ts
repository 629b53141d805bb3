import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";

const { run } = comparisonFixture({ strategies: ["per-version-database"], scenarios: ["haneen", "basti", "marten", "legacy-forever", "conflict-storm"], seed: 11 });

describe("strategy per-version-database (1.0 → 3.0, one database per version, server transformers)", () => {
  it("declares the multi-db · eager · server cell and no caveat (a device that upgrades offline reads its data before it syncs)", () => {
    const s = createStrategy("per-version-database");
    expect(s.taxonomy).toEqual({ storage: "multi-db", timing: "eager", place: "server" });
    expect(s.change).toEqual({ from: "1.0.0", to: "3.0.0" });
    expect(s.caveats).toEqual([]);
  });

  for (const scenario of ["haneen", "basti", "marten", "legacy-forever"]) {
    it(`${scenario}: every invariant holds, every app version reads every todo, nothing refused`, () => {
      const r = run(scenario);
      for (const i of r.invariants) expect(i.ok, `${scenario} ${i.name}: ${i.detail}`).toBe(true);
      expect(r.refused).toEqual([]);
      expect(r.status).toBe("pass");
      expect(r.metrics.lostDocs).toBe(0);
    });
  }

  it("conflict storm: edits land in one version database, so the rule predicts no conflict and none exists; nothing is lost", () => {
    const r = run("conflict-storm");
    const byName = new Map(r.invariants.map((i) => [i.name, i]));
    expect(byName.get("expected-conflicts-only")?.ok).toBe(true);
    expect(byName.get("no-lost-documents")?.ok).toBe(true);
    expect(byName.get("no-lost-fields")?.ok).toBe(true);
    expect(r.status).toBe("pass");
  });

  it("Legacy forever: the 1.0 edit reaches the 3.0 database with the group the 3.0 app set", () => {
    const fields = run("legacy-forever").invariants.find((i) => i.name === "no-lost-fields");
    expect(fields?.ok).toBe(true);
    expect(fields?.detail).toBe("every value users set is on the server");
  });
});
