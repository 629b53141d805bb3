/**
 * The CLI as it runs when built (plain Node, no TypeScript loader active): `divan serve --transform` and `divan
 * migrate --steps` load the todo example's own `steps/index.ts` with the same loader. The CLI is bundled with
 * esbuild ({@link bundleCli}), which is what `dist/` is for this purpose, without depending on when
 * `npm run build` last ran.
 *
 * `serve` stays on its embedded server even when `COUCHDB_URL` is set (what is tested is the loader); `migrate`
 * runs against the test server.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer } from "../support/server.js";
import { ROOT, bundleCli, drop, seed, todoV1, withCredentials, type BundledCli } from "./support.js";

const STEPS = path.join(ROOT, "examples/todo-app/steps/index.ts");
let dir: string;
let cli: BundledCli;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "divan-built-"));
  cli = await bundleCli();
});
afterAll(async () => {
  await cli?.remove();
  await rm(dir, { recursive: true, force: true });
});

describe("the built CLI loads TypeScript steps", () => {
  it("divan serve --transform starts with the todo example's steps/index.ts and stops on SIGTERM", async () => {
    const config = path.join(dir, "transform.json");
    await writeFile(
      config,
      JSON.stringify({
        steps: STEPS,
        sides: [
          { name: "v1", db: "built-v1", shape: { "todo-item": 1 } },
          { name: "v3", db: "built-v3", shape: { "todo-item": 3, "todo-item-status": 1 } },
        ],
      }),
    );
    const env = { ...process.env };
    delete env["COUCHDB_URL"];
    const child = spawn(process.execPath, [cli.file, "serve", "--port", "0", "--transform", config], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const started = new Promise<boolean>((resolve) => {
      child.stdout.on("data", (b: Buffer) => {
        stdout += b.toString();
        if (stdout.includes("divan transformers running for v1, v3")) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    expect(await started, stderr).toBe(true);
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(0);
    expect(stderr).not.toContain("Unknown file extension");
  });

  it("divan migrate --steps loads the same module with the same loader", async () => {
    const server = await startTestServer();
    const db = uniqueDbName("cli-built");
    try {
      await seed(server.url, db, [todoV1(1)]);
      const r = await cli.run(["migrate", "--db", withCredentials(server.url, db), "--to", "todo-item@3", "--steps", STEPS, "--dry-run"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/migrated 1, /);
      expect(r.code).toBe(0);
    } finally {
      await drop(server.url, db);
      await server.close();
    }
  });
});
