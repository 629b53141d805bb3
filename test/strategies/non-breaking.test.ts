import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { scenarioNames } from "../../examples/todo-app/scenarios.js";
import { INVARIANTS } from "../../strategies/types.js";

const { run, report } = comparisonFixture({ strategies: ["non-breaking"], seed: 3 });

describe("strategy non-breaking (additive 1.0 → 1.1, no migration)", () => {
  it("runs every scenario", () => {
    expect(report().runs.map((r) => r.scenario)).toEqual(scenarioNames());
    expect(report().runs.every((r) => r.change.from === "1.0.0" && r.change.to === "1.1.0")).toBe(true);
  });

  it("passes every invariant in every scenario", () => {
    for (const r of report().runs) {
      expect(r.invariants.map((i) => i.name)).toEqual([...INVARIANTS]);
      for (const i of r.invariants) expect(i.ok, `${r.scenario} ${i.name}: ${i.detail}`).toBe(true);
      expect(r.status).toBe("pass");
      expect(r.refused).toEqual([]);
    }
  });

  it("keeps the old app fully working next to the new one", () => {
    for (const name of ["haneen", "basti", "marten", "legacy-forever", "drop-legacy"]) {
      const r = run(name);
      expect(r?.metrics.legacySupport, `${name}: ${r?.metrics.legacySupportReason}`).toBe("yes");
    }
  });

  it("Legacy forever: a 1.0 edit keeps the isImportant flag set by 1.1", () => {
    const r = run("legacy-forever");
    expect(r?.invariants.find((i) => i.name === "no-lost-fields")?.ok).toBe(true);
    expect(r?.metrics.lostFields).toBe(0);
    expect(r?.metrics.userWrites).toBeGreaterThanOrEqual(5);
  });
});
