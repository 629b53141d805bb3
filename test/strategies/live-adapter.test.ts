import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";

const { run, invariant } = comparisonFixture({
  strategies: ["live-adapter", "live-adapter-new-app-only"],
  scenarios: ["basti", "legacy-forever", "haneen", "marten"],
  seed: 11,
});

describe("strategy live-adapter (single-version, lazy, client)", () => {
  it("is registered with its taxonomy cell and the todo steps as its migration code", () => {
    const s = createStrategy("live-adapter");
    expect(s.taxonomy).toEqual({ storage: "single-version", timing: "lazy", place: "client" });
    expect(s.change).toEqual({ from: "1.0.0", to: "3.0.0" });
    expect(s.caveats).toEqual([]);
    expect(s.migrationCode).toBe("steps");
  });

  it("Basti: the 3.0 web app and the never-updated 1.0 phone both read and edit everything; every invariant holds", () => {
    const r = run("basti", "live-adapter");
    for (const i of r.invariants) expect(i.ok, `${i.name}: ${i.detail}`).toBe(true);
    expect(r.refused).toEqual([]);
    expect(r.status).toBe("pass");
  });

  it("Legacy forever: the 1.0 edit keeps the group and the status set by 3.0", () => {
    const r = run("legacy-forever", "live-adapter");
    for (const i of r.invariants) expect(i.ok, `${i.name}: ${i.detail}`).toBe(true);
    expect(r.metrics.lostFields).toBe(0);
    expect(r.status).toBe("pass");
  });

  it("Haneen and Marten pass: a late old todo is read by 3.0, a todo-item@3 without its status is reported, then read once it arrives", () => {
    for (const s of ["haneen", "marten"]) {
      const r = run(s, "live-adapter");
      expect(r.status, `${s}: ${r.error ?? ""}`).toBe("pass"); // a run that broke has no invariants to loop over
      for (const i of r.invariants) expect(i.ok, `${s} ${i.name}: ${i.detail}`).toBe(true);
    }
  });

  it("with adapters in the new app only, the plain 1.0 phone cannot read what 3.0 wrote: an expected, declared violation, nothing lost", () => {
    const r = run("basti", "live-adapter-new-app-only");
    const reads = invariant(r, "apps-read-their-data");
    expect(reads.ok).toBe(false);
    expect(reads.expected).toBe(true);
    expect(reads.violations).toContainEqual(
      expect.stringMatching(/^phone \(app 1\.0\.0\) at .*"groceries" .* is todo-item@3; app 1\.0\.0 reads todo-item@1$/),
    );
    for (const name of ["no-lost-documents", "no-lost-fields", "converged", "expected-conflicts-only"])
      expect(invariant(r, name).ok).toBe(true);
    expect(r.status).toBe("expected");
    const legacy = run("legacy-forever", "live-adapter-new-app-only");
    expect(invariant(legacy, "no-lost-fields").ok).toBe(true);
    expect(legacy.refused.some((a) => a.device === "phone" && /todo-item@3/.test(a.error))).toBe(true);
  });
});
