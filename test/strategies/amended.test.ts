import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";

const { run } = comparisonFixture({ strategies: ["amended"], scenarios: ["haneen", "legacy-forever"], seed: 3 });

describe("strategy amended (in-place server-side eager migration that keeps following _changes)", () => {
  it("is registered as single-version / eager / server for 1.0 → 3.0", () => {
    const s = createStrategy("amended");
    expect(s.taxonomy).toEqual({ storage: "single-version", timing: "eager", place: "server" });
    expect(s.change).toEqual({ from: "1.0.0", to: "3.0.0" });
  });

  it("Haneen: the todo she created offline with 1.0 is migrated after she syncs, her offline edit is merged, nothing lost, no conflict", () => {
    const r = run("haneen");
    for (const name of ["converged", "no-lost-documents", "no-lost-fields", "bounded-writes", "expected-conflicts-only"]) {
      const i = r.invariants.find((x) => x.name === name)!;
      expect(i.ok, `${name}: ${i.detail}`).toBe(true);
    }
    expect(r.metrics.conflicts).toBe(0);
    expect(r.metrics.downtimeMs).toBe(0);
    expect(r.status).toBe("expected"); // only the declared legacy caveat (old apps cannot read v3)
  });

  it("Legacy forever: the group set by 3.0 survives the old app's edit (the migrated revision is the base)", () => {
    const r = run("legacy-forever");
    expect(r.invariants.find((x) => x.name === "no-lost-fields")!.ok).toBe(true);
    expect(r.metrics.lostFields).toBe(0);
  });
});
