/**
 * `divan serve --transform <config>` in its embedded mode (one process runs the CouchDB-compatible server and
 * the transformers), `GET /_divan/status`, and the transformer section of `divan status --db`: a v1 write
 * reaches v3, a malformed one is quarantined and counted, SIGTERM stops both cleanly.
 *
 * Stays on the embedded server even when `COUCHDB_URL` is set: what it tests is `divan serve` starting and
 * stopping its own embedded server (the transformers alone against an external server are tested in
 * `test/transformer/service.test.ts`, which follows `COUCHDB_URL`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, divan, todoV1, withCredentials, type Json } from "./support.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "divan-cli-transform-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Polls `check` until it holds (the test's timeout bounds the wait). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("divan serve --transform (embedded server and transformers in one process)", () => {
  it("translates v1 writes into v3, quarantines a malformed todo, divan status shows the checkpoint, nothing pending and the quarantine; SIGTERM exits 0", async () => {
    const config = path.join(dir, "transform.json");
    await writeFile(
      config,
      JSON.stringify({
        steps: path.join(ROOT, "examples/todo-app/steps/index.ts"),
        schemas: path.join(ROOT, "examples/todo-app/schemas"),
        sides: [
          { name: "v1", db: "tx-v1", shape: { "todo-item": 1, settings: 1 } },
          { name: "v3", db: "tx-v3", shape: { "todo-item": 3, "todo-item-status": 1, settings: 1 } },
        ],
      }),
    );
    const env = { ...process.env };
    delete env["COUCHDB_URL"];
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "server/cli.ts"), "serve", "--port", "0", "--transform", config], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const [base, statusUrl] = await new Promise<[string, string]>((resolve, reject) => {
        child.stdout!.on("data", (b: Buffer) => {
          stdout += b.toString();
          const server = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
          const status = /status at (http:\/\/127\.0\.0\.1:\d+\/_divan\/status)/.exec(stdout);
          if (server && status) resolve([server[1]!, status[1]!]);
        });
        void exited.then((code) => reject(new Error(`divan serve --transform exited with ${String(code)}: ${stderr}`)));
      });
      expect(stdout).toContain("divan transformers running for v1, v3");

      const docs: Json[] = [todoV1(1), todoV1(2), { _id: "todo-item:bad", schema: "todo-item", version: 1, title: "bad", isDone: "nope", createdAt: "2024-01-01T00:00:00.000Z" }, todoV1(3, { title: "x".repeat(100) })];
      const res = await fetch(`${base}/tx-v1/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs }) });
      expect(res.status).toBe(201);

      // Quiet: v3 holds both todos (item + status), the status endpoint has nothing pending and one quarantined.
      await until(async () => ((await getJson(`${base}/tx-v3`)).body["doc_count"] as number) === 4);
      type Db = { side: string; pending: number; quarantined: number; lastError: string | null };
      await until(async () => {
        const s = (await getJson(statusUrl)).body as { databases: Db[] };
        return s.databases.every((d) => d.pending === 0) && s.databases.find((d) => d.side === "v1")?.quarantined === 2;
      });
      const s = (await getJson(statusUrl)).body as { databases: Db[] };
      expect(s.databases.map((d) => [d.side, d.quarantined, d.lastError])).toEqual([
        ["v1", 2, null],
        ["v3", 0, null],
      ]);
      expect((await getJson(`${base}/tx-v3/todo-item-status:t02`)).body).toMatchObject({ status: "done" });
      expect((await getJson(`${base}/tx-v3/todo-item:bad`)).status).toBe(404);
      expect((await getJson(`${base}/tx-v3/todo-item:t03`)).status).toBe(404); // its title is too long for v3 (schemas)
      expect((await getJson(`${base}/tx-v1/todo-item:bad`)).body).toMatchObject({ isDone: "nope" });

      // The checkpoint on v1 is saved with its quarantine and nothing after it.
      let since: unknown;
      await until(async () => {
        const cp = await getJson(`${base}/tx-v1/_local/divan-transformer`);
        if (cp.status !== 200 || !Array.isArray(cp.body["quarantine"]) || cp.body["quarantine"].length !== 2) return false;
        since = cp.body["since"];
        const changes = (await getJson(`${base}/tx-v1/_changes?since=${encodeURIComponent(String(since))}`)).body["results"] as { id: string }[];
        return changes.filter((c) => !c.id.startsWith("_")).length === 0;
      });

      const status = await divan(["status", "--db", withCredentials(base, "tx-v1")], { cwd: ROOT });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain("  todo-item@1: 4");
      expect(status.stdout).toContain("transformer:");
      expect(status.stdout).toContain(`  checkpoint: ${String(since)}`);
      expect(status.stdout).toMatch(/^ {2}pending changes: 0\b/m);
      expect(status.stdout).toContain("  quarantined: 2");
      expect(status.stdout).toMatch(/^ {4}todo-item:bad@1-\w+: .*isDone/m);
      expect(status.stdout).toMatch(/^ {4}todo-item:t03@1-\w+: .*SCHEMA_INVALID|^ {4}todo-item:t03@1-\w+: .*not valid/m);

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stdout).toContain("divan transformers stopped");
      expect(stdout).toContain("divan embedded server stopped");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
