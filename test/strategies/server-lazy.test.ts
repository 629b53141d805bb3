import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";

const { run } = comparisonFixture({ strategies: ["server-lazy"], scenarios: ["basti", "legacy-forever", "haneen", "marten"], seed: 11 });

describe("strategy server-lazy (single-version, lazy, server)", () => {
  it("is registered with its taxonomy cell, no caveats and the todo steps as its migration code", () => {
    const s = createStrategy("server-lazy");
    expect(s.taxonomy).toEqual({ storage: "single-version", timing: "lazy", place: "server" });
    expect(s.change).toEqual({ from: "1.0.0", to: "3.0.0" });
    expect(s.caveats).toEqual([]);
    expect(s.migrationCode).toBe("steps");
  });

  it("Basti: the 3.0 web app and the plain, never-updated 1.0 phone both read and edit everything through the proxy; every invariant holds", () => {
    const r = run("basti");
    for (const i of r.invariants) expect(i.ok, `${i.name}: ${i.detail}`).toBe(true);
    expect(r.refused).toEqual([]);
    expect(r.metrics.conflicts).toBe(0);
    expect(r.status).toBe("pass");
  });

  it("Legacy forever: the 1.0 edit keeps the group and the status set by 3.0; every invariant holds", () => {
    const r = run("legacy-forever");
    for (const i of r.invariants) expect(i.ok, `${i.name}: ${i.detail}`).toBe(true);
    expect(r.metrics.lostFields).toBe(0);
    expect(r.metrics.conflicts).toBe(0);
    expect(r.status).toBe("pass");
  });

  it("Haneen and Marten pass: a late offline 1.0 todo reaches 3.0, a todo-item@3 without its status waits for it", () => {
    for (const s of ["haneen", "marten"]) {
      const r = run(s);
      expect(r.status, `${s}: ${r.error ?? ""}`).toBe("pass"); // a run that broke has no invariants to loop over
      for (const i of r.invariants) expect(i.ok, `${s} ${i.name}: ${i.detail}`).toBe(true);
    }
  });

  it("without a translating proxy to start, prepareServer fails with CONFIG_INVALID", async () => {
    const s = createStrategy("server-lazy");
    const context = { translatingProxy: undefined } as unknown as Parameters<typeof s.prepareServer>[0];
    await expect(s.prepareServer(context)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    await s.close();
  });
});
