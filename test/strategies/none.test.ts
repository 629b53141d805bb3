import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";

const { run, invariant, report } = comparisonFixture({ strategies: ["none"], scenarios: ["haneen", "basti"], seed: 7 });

describe("strategy none (breaking 1.0 → 3.0, no migration)", () => {
  it("declares its taxonomy cell, its change and the caveat it is known to violate", () => {
    const s = createStrategy("none");
    expect(s.change).toEqual({ from: "1.0.0", to: "3.0.0" });
    expect(s.taxonomy.storage).toBe("single-version");
    expect(s.caveats.map((c) => c.invariant)).toEqual(["apps-read-their-data"]);
  });

  it("Haneen: after she installs 3.0 her app cannot read the todo she created offline with 1.0", () => {
    const r = run("haneen");
    const reads = invariant(r, "apps-read-their-data");
    expect(reads.ok).toBe(false);
    expect(reads.expected).toBe(true);
    expect(reads.detail).toMatch(/^\d+ violation\(s\): .*\(expected: documents are never migrated/);
    expect(reads.violations).toContainEqual(expect.stringMatching(/^haneen \(app 3\.0\.0\) at the end: "flowers" \([0-9a-f]{32}\) not shown: todo-item:[0-9a-f]{32} is todo-item@1; app 3\.0\.0 reads todo-item@3$/));
    expect(r.status).toBe("expected");
  });

  it("Basti: the never-updated 1.0 phone cannot read the todo his 3.0 web app created, and 3.0 cannot edit 1.0 todos", () => {
    const r = run("basti");
    const reads = invariant(r, "apps-read-their-data");
    expect(reads.ok).toBe(false);
    expect(reads.violations).toContainEqual(
      expect.stringMatching(/^phone \(app 1\.0\.0\) at the end: "groceries" \([0-9a-f]{32}\) not shown: todo-item:[0-9a-f]{32} is todo-item@3; app 1\.0\.0 reads todo-item@1$/),
    );
    expect(r.refused.some((a) => a.device === "web" && /cannot edit todo .*todo-item@1/.test(a.error))).toBe(true);
    expect(r.metrics.legacySupport).toBe("partial");
  });

  it("loses nothing and converges: documents stay as written, only reading breaks", () => {
    for (const r of report().runs) {
      for (const name of ["converged", "no-lost-documents", "no-lost-fields", "bounded-writes", "expected-conflicts-only"]) {
        expect(invariant(r, name).ok, `${r.scenario} ${name}: ${invariant(r, name).detail}`).toBe(true);
      }
      expect(r.metrics.lostDocs).toBe(0);
      expect(r.metrics.migrationLoc).toBe(0);
    }
  });
});
