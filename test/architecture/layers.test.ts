/**
 * The layer rule (`.dependency-cruiser.cjs`): core ← schemas ← adapters ← store ← strategies ← server | client ←
 * examples, strategies apart from one another, and no import cycle, checked by dependency-cruiser.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCES = ["index.ts", "core", "schemas", "adapters", "store", "strategies", "server", "client", "examples"];

describe("layers", () => {
  it("no module imports a layer above its own, another strategy's folder, or itself in a cycle", async () => {
    const bin = path.join(ROOT, "node_modules", ".bin", "depcruise");
    const result = await promisify(execFile)(bin, ["--config", ".dependency-cruiser.cjs", "--output-type", "err", ...SOURCES], { cwd: ROOT }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
    );
    expect(result.out).toContain("no dependency violations found");
    expect(result.code, result.out).toBe(0);
  }, 120_000);
});
