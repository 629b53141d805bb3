/**
 * The mechanisms written once: the conflict retry loop, entity families, JSON equality and the typed emitter's
 * listener errors.
 */
import { describe, expect, it } from "vitest";
import { typeFamilies } from "../../adapters/families.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import { jsonEqual } from "../../core/json.js";
import { AGAIN, CONFLICT_ATTEMPTS, retryOnConflict } from "../../core/retry.js";
import { TypedEmitter } from "../../strategies/runner/events.js";

describe("retryOnConflict", () => {
  it("tries again after a thrown CONFLICT or AGAIN and returns the first result", async () => {
    let calls = 0;
    const result = await retryOnConflict("doc", async () => {
      calls += 1;
      if (calls === 1) throw new DivanError("CONFLICT", "lost");
      if (calls === 2) return AGAIN;
      return "written";
    });
    expect(result).toBe("written");
    expect(calls).toBe(3);
  });

  it("passes other errors through at once and gives up with CONFLICT after every attempt lost", async () => {
    let calls = 0;
    await expect(retryOnConflict("doc", async () => ((calls += 1), Promise.reject(new DivanError("FORBIDDEN", "no"))))).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(calls).toBe(1);
    calls = 0;
    const e = await retryOnConflict("_local/x on db", async () => ((calls += 1), AGAIN), { details: { id: "_local/x" } }).catch((x: unknown) => x);
    expect(isDivanError(e, "CONFLICT")).toBe(true);
    expect((e as DivanError).message).toContain("_local/x on db kept changing");
    expect((e as DivanError).details).toEqual({ id: "_local/x" });
    expect(calls).toBe(CONFLICT_ATTEMPTS);
  });
});

describe("typeFamilies", () => {
  it("merges groups that share a type, transitively, into one sorted family per entity", () => {
    const f = typeFamilies([["todo-item", "todo-item-status"], ["settings"], ["todo-tag", "todo-item"]]);
    expect(f.get("todo-item-status")).toEqual(["todo-item", "todo-item-status", "todo-tag"]);
    expect(f.get("todo-tag")).toBe(f.get("todo-item"));
    expect(f.get("settings")).toEqual(["settings"]);
    expect(f.get("unknown")).toBeUndefined();
  });
});

describe("jsonEqual", () => {
  it("compares as JSON: key order and members JSON leaves out do not matter, values do", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, gone: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ _rev: "1-a", a: 1 }, { _rev: "2-b", a: 1 }, new Set(["_rev"]))).toBe(true);
  });
});

describe("TypedEmitter", () => {
  it("keeps calling the other listeners when one throws, and reports the error instead of dropping it", () => {
    const reported: unknown[] = [];
    class Probe extends TypedEmitter<{ tick: number }> {
      protected override listenerFailed(error: unknown): void {
        reported.push(error);
      }
    }
    const emitter = new Probe();
    const seen: number[] = [];
    const boom = new Error("listener bug");
    emitter.on("tick", () => {
      throw boom;
    });
    emitter.on("tick", (n) => seen.push(n));
    emitter.emit("tick", 1);
    expect(seen).toEqual([1]);
    expect(reported).toEqual([boom]);
  });

  it("by default throws a listener's error again on a microtask, where the host's uncaught-error handling sees it", async () => {
    const emitter = new TypedEmitter<{ tick: number }>();
    const boom = new Error("listener bug");
    emitter.on("tick", () => {
      throw boom;
    });
    const caught = new Promise<unknown>((resolve) => process.once("uncaughtException", resolve));
    emitter.emit("tick", 1);
    expect(await caught).toBe(boom);
  });
});
