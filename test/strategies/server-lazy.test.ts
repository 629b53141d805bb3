import { describe, expect, it } from "vitest";
import { comparisonFixture } from "../support/comparison.js";
import { createStrategy } from "../../examples/strategies.js";
import { openEnv, runScript } from "../../examples/todo-app/simulate/run.js";
import { assertLegal, type Script } from "../../examples/todo-app/simulate/script.js";

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

  it("an old app's done, made after it received a status the old version cannot show, replaces it without a conflict", async () => {
    const script: Script = {
      seed: 1,
      events: [
        { kind: "device", device: "d1", app: "old" },
        { kind: "create", device: "d1", todo: "t1", title: "a" },
        { kind: "device", device: "d2", app: "old" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "d2" },
        { kind: "set-status", device: "d2", todo: "t1", status: "blocked" },
        { kind: "sync", device: "d2" },
        { kind: "sync", device: "d1" },
        { kind: "set-done", device: "d1", todo: "t1", done: true },
        { kind: "sync", device: "d1" },
        { kind: "set-new-field", device: "d2", todo: "t1", value: "group 1" },
        { kind: "sync", device: "d2" },
        { kind: "set-done", device: "d1", todo: "t1", done: false },
        { kind: "sync", device: "d1" },
      ],
    };
    assertLegal(script);
    const env = await openEnv("memory");
    try {
      const v = await runScript(() => createStrategy("server-lazy"), script, env);
      expect(v.details).toEqual([]);
      expect(v.status).toBe("pass"); // a conflict on this todo, which nobody edited concurrently, would fail expected-conflicts-only
    } finally {
      await env.close();
    }
  });
});
