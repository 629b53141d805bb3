import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpStore } from "../../store/http.js";
import type { DocumentStore } from "../../store/port.js";
import { loadTransformConfig } from "../../server/transformer/config.js";
import { startTransformerService } from "../../server/transformer/service.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const root = path.resolve(import.meta.dirname, "../..");
let server: TestServer;
let dir: string;
const stores: DocumentStore[] = [];

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(tmpdir(), "divan-transform-"));
});
afterAll(async () => {
  for (const s of stores) {
    await s.destroy().catch(() => undefined);
    await s.close();
  }
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A transformer config for two new databases `<prefix>-…-v1` and `-v3` (unique names); returns its file and the names. */
async function config(name: string): Promise<{ file: string; v1: string; v3: string }> {
  const prefix = uniqueDbName(name);
  const file = path.join(dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      steps: path.join(root, "examples/todo-app/steps/index.ts"),
      sides: [
        { name: "v1", db: `${prefix}-v1`, shape: { "todo-item": 1, settings: 1 } },
        { name: "v3", db: `${prefix}-v3`, shape: { "todo-item": 3, "todo-item-status": 1, settings: 1 } },
      ],
    }),
  );
  store(encodeURIComponent(`${prefix}-v1$divan`)); // the lease's state database, removed with the others
  return { file, v1: `${prefix}-v1`, v3: `${prefix}-v3` };
}
function store(db: string): DocumentStore {
  const s = httpStore(`${server.url}/${db}`);
  stores.push(s);
  return s;
}
const todo = (i: number) => ({ _id: `todo-item:t${String(i).padStart(4, "0")}`, schema: "todo-item", version: 1, title: `todo ${i}`, isDone: i % 2 === 0, createdAt: "2024-01-01T00:00:00.000Z" });

async function until(f: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function serve(cfg: string, owner?: string): { child: ChildProcess; statusUrl: Promise<string> } {
  const args = ["--import", "tsx", path.join(root, "server/cli.ts"), "serve", "--transform", cfg, ...(owner === undefined ? [] : ["--lease-owner", owner])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, COUCHDB_URL: server.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const statusUrl = new Promise<string>((resolve) => {
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /status at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  return { child, statusUrl };
}
const exited = (c: ChildProcess): Promise<number | null> => new Promise((r) => c.once("exit", (code) => r(code)));

describe("transformer service", () => {
  it("GET /_divan/status reports every version database, and writes reach v3", async () => {
    const cfg = await config("svc");
    const v1 = store(cfg.v1);
    const v3 = store(cfg.v3);
    const svc = await startTransformerService({ config: await loadTransformConfig(cfg.file), serverUrl: server.url });
    try {
      await v1.put(todo(1));
      await until(async () => (await v3.info()).docCount === 2);
      await svc.transformer.idle();
      const res = await fetch(svc.statusUrl!);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { databases: { side: string; pending: number; lagMs: number; lastError: string | null; quarantined: number }[]; writes: number };
      expect(body.databases.map((d) => d.side)).toEqual(["v1", "v3"]);
      for (const d of body.databases) expect(d).toMatchObject({ pending: 0, lastError: null, quarantined: 0 });
      expect(body.writes).toBe(2);
    } finally {
      await svc.close();
    }
  });

  it("killed mid-stream and restarted, `divan serve --transform` ends in the same state; SIGTERM exits 0", async () => {
    const cfg = await config("kill");
    const v1 = store(cfg.v1);
    await v1.create();
    await v1.bulkDocs(Array.from({ length: 300 }, (_, i) => todo(i)));
    // The same lease owner: the restarted process takes the killed one's lease over at once.
    const first = serve(cfg.file, "kill-test");
    await first.statusUrl;
    const v3 = store(cfg.v3);
    await until(async () => {
      try {
        return (await v3.info()).docCount > 0;
      } catch {
        return false;
      }
    });
    first.child.kill("SIGKILL");
    await exited(first.child);

    const second = serve(cfg.file, "kill-test");
    const url = await second.statusUrl;
    await until(async () => (await v3.info()).docCount === 600);
    await until(async () => {
      const s = (await (await fetch(url)).json()) as { databases: { pending: number }[] };
      return s.databases.every((d) => d.pending === 0);
    });
    second.child.kill("SIGTERM");
    expect(await exited(second.child)).toBe(0);

    // Same state as one uninterrupted run: each todo once in v3, as item + status, each at its first revision.
    const all = await v3.allDocs({ includeDocs: true });
    expect(all.rows).toHaveLength(600);
    for (const r of all.rows) expect(r.value?.rev.startsWith("1-"), r.id).toBe(true);
    const item = await v3.get("todo-item:t0003");
    expect(item).toMatchObject({ version: 3, title: "todo 3", group: "default" });
    expect(await v3.get("todo-item-status:t0003")).toMatchObject({ status: "active" });
    expect(await v3.get("todo-item-status:t0004")).toMatchObject({ status: "done" });
  });

  it("two services on the same databases: one transforms, the other waits for the lease and takes over when the first stops", async () => {
    const cfg = await config("lease");
    const v1 = store(cfg.v1);
    const v3 = store(cfg.v3);
    const parsed = await loadTransformConfig(cfg.file);
    const first = await startTransformerService({ config: parsed, serverUrl: server.url, statusPort: false, lease: { owner: "first", retryMs: 50 } });
    const second = await startTransformerService({ config: parsed, serverUrl: server.url, statusPort: false, lease: { owner: "second", retryMs: 50 } });
    try {
      expect((await first.status()).lease).toEqual({ held: true, owner: "first" });
      expect((await second.status()).lease).toEqual({ held: false, owner: "first" });
      await v1.put(todo(1));
      await until(async () => (await v3.info()).docCount === 2);
      await first.transformer.idle();
      expect((await first.status()).writes).toBe(2);
      expect((await second.status()).writes).toBe(0);
      expect((await second.status()).running).toBe(false);
      await first.close();
      await second.leading();
      expect((await second.status()).lease).toEqual({ held: true, owner: "second" });
      await v1.put(todo(2));
      await until(async () => (await v3.info()).docCount === 4);
      await second.transformer.idle();
      expect((await second.status()).writes).toBe(2);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("two `divan serve --transform` processes: only one transforms; SIGTERM on it hands the lease to the other", async () => {
    const cfg = await config("procs");
    const v1 = store(cfg.v1);
    await v1.create();
    const a = serve(cfg.file);
    const aUrl = await a.statusUrl;
    const b = serve(cfg.file);
    const bUrl = await b.statusUrl;
    type Status = { writes: number; lease: { held: boolean; owner: string | null } };
    const statusOf = async (url: string): Promise<Status> => (await (await fetch(url)).json()) as Status;
    expect((await statusOf(aUrl)).lease.held).toBe(true);
    expect((await statusOf(bUrl)).lease.held).toBe(false);
    await v1.bulkDocs(Array.from({ length: 20 }, (_, i) => todo(i)));
    const v3 = store(cfg.v3);
    await until(async () => (await v3.info()).docCount === 40);
    expect((await statusOf(aUrl)).writes).toBe(40);
    expect((await statusOf(bUrl)).writes).toBe(0);
    a.child.kill("SIGTERM");
    expect(await exited(a.child)).toBe(0);
    await until(async () => (await statusOf(bUrl)).lease.held);
    await v1.put(todo(100));
    await until(async () => (await v3.info()).docCount === 42);
    expect((await statusOf(bUrl)).writes).toBe(2);
    b.child.kill("SIGTERM");
    expect(await exited(b.child)).toBe(0);
  });
});
