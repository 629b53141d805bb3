import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";

const { run } = comparisonFixture({ strategies: ["client-side"], scenarios: ["conflict-storm", "haneen"], seed: 5 });

describe("strategy client-side (each device migrates its own PouchDB with deterministic revisions)", () => {
  it("is registered as single-version / eager / client", () => {
    expect(createStrategy("client-side").taxonomy).toEqual({ storage: "single-version", timing: "eager", place: "client" });
  });

  it("Conflict storm: five devices migrating the same todos at once end with zero conflicts and pass every invariant", () => {
    const r = run("conflict-storm");
    expect(r.metrics.conflicts).toBe(0);
    expect(r.status).toBe("pass");
  });

  it("Haneen: nothing is lost and the server writes nothing at release (devices migrate)", () => {
    const r = run("haneen");
    expect(r.metrics.lostDocs).toBe(0);
    expect(r.metrics.lostFields).toBe(0);
    expect(r.metrics.downtimeMs).toBe(0);
    expect(r.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual(["apps-read-their-data"]);
  });
});
