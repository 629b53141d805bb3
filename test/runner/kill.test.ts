import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redact } from "../../core/redact.js";
import { httpStore } from "../../store/http.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { readCheckpoint, readQuarantine } from "../../strategies/runner/local.js";
import { runMigration } from "../../strategies/runner/runner.js";
import { contents, graph, todoV1, V3, withRevs } from "./fixtures.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const CHILD = path.join(import.meta.dirname, "kill-child.ts");
const DOCS = 400;
const KILLS = 20;

let server: TestServer;
let bundleDir: string;
let childJs: string;
const stores: DocumentStore[] = [];
beforeAll(async () => {
  server = await startTestServer();
  // The child script bundled once (what `tsx` would do on every start, 21 times): keeps the test well under 30 s.
  bundleDir = await mkdtemp(path.join(os.tmpdir(), "divan-kill-"));
  childJs = path.join(bundleDir, "kill-child.mjs");
  await build({
    entryPoints: [CHILD],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: childJs,
    logLevel: "warning",
    banner: { js: "import { createRequire as __divanCreateRequire } from 'module'; const require = __divanCreateRequire(import.meta.url);" },
  });
});
afterAll(async () => {
  for (const s of stores) {
    await s.destroy().catch(() => undefined);
    await s.close();
  }
  await server?.close();
  await rm(bundleDir, { recursive: true, force: true });
});

async function seeded(): Promise<{ store: DocumentStore; url: string }> {
  const url = `${server.url}/${uniqueDbName("kill")}`;
  const store = httpStore(url);
  stores.push(store);
  await store.create();
  const state = httpStore(`${url}%24divan`);
  stores.push(state);
  await state.create();
  const docs: Doc[] = [];
  for (let i = 0; i < DOCS; i++) docs.push(todoV1(i));
  docs.push({ _id: "settings", schema: "settings", version: 1, color: "#00ff00" });
  await store.bulkDocs(docs);
  return { store, url };
}

/** Runs the child; kills it with SIGKILL after `killAfter` progress lines (never, when undefined). Resolves with how it ended. */
function runChild(url: string, killAfter: number | undefined, random: () => number): Promise<"killed" | "done"> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childJs, url, `${url}%24divan`], { stdio: ["ignore", "pipe", "pipe"] });
    let lines = 0;
    let stderr = "";
    let finished = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) {
        if (line.startsWith("progress")) lines++;
        if (line.startsWith("done")) finished = true;
      }
      if (killAfter !== undefined && lines >= killAfter && child.exitCode === null) {
        // a random extra delay puts the kill anywhere: mid-read, mid-write, mid-checkpoint
        setTimeout(() => child.kill("SIGKILL"), Math.floor(random() * 15));
      }
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve("killed");
      else if (code === 0 && finished) resolve("done");
      else reject(new Error(`child exited with ${String(code)}: ${redact(stderr)}`));
    });
  });
}

describe("kill test", () => {
  it(`a migration killed (SIGKILL) at ${KILLS} random points resumes each time and ends with exactly the database of an uninterrupted run`, async () => {
    let seed = Number(process.env["KILL_SEED"] ?? Date.now() % 100_000);
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const startSeed = seed;
    const reference = await seeded();
    const victim = await seeded();
    await runMigration({ source: reference.store, plan: { graph, to: V3 }, batchSize: 10 });

    let killed = 0;
    for (let i = 0; i < KILLS; i++) {
      const outcome = await runChild(victim.url, 1 + Math.floor(random() * 4), random);
      if (outcome === "killed") killed++;
    }
    expect(await runChild(victim.url, undefined, random)).toBe("done");
    expect(killed, `seed ${startSeed}`).toBeGreaterThan(KILLS / 2);

    const want = await contents(reference.store);
    const got = await contents(victim.store);
    expect(got.length, `seed ${startSeed}`).toBe(DOCS * 2 + 1);
    expect(got, `seed ${startSeed}`).toEqual(want);
    // nothing written twice: every migrated todo is its second revision, every status its first
    for (const d of await withRevs(victim.store)) {
      const gen = Number.parseInt(d._rev!, 10);
      if (d["schema"] === "todo-item") expect(gen, d._id).toBe(2);
      if (d["schema"] === "todo-item-status") expect(gen, d._id).toBe(1);
    }
    expect(await readQuarantine(victim.store, "to-settings-1-todo-item-3-todo-item-status-1")).toEqual([]);
    expect((await readCheckpoint(victim.store, "to-settings-1-todo-item-3-todo-item-status-1"))?.phase).toBe("done");
  }, 60_000);
});
