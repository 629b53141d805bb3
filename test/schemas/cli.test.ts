import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderTypes, typesCommand } from "../../server/commands/types.js";
import { uniqueDbName } from "../support/backends.js";
import { couchFetch, startTestServer, type TestServer } from "../support/server.js";

const ROOT = join(import.meta.dirname, "../..");
const TODO = join(ROOT, "examples/todo-app");

/** Runs the real CLI (`node --import tsx server/cli.ts ...`) in a child process. */
function divan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(ROOT, "server/cli.ts"), ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "divan-schemas-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("divan types", () => {
  it("the committed examples/todo-app/types.ts is what the schemas generate", async () => {
    const file = join(TODO, "types.ts");
    expect(await readFile(file, "utf8")).toBe(await renderTypes(join(TODO, "schemas"), file));
  });

  it("emits an interface per type and major that keeps unknown attributes, unions and DocOf", async () => {
    const ts = await readFile(join(TODO, "types.ts"), "utf8");
    for (const name of ["TodoItemV1", "TodoItemV2", "TodoItemV3", "TodoItemStatusV1", "SettingsV1"]) expect(ts).toContain(`export interface ${name} {`);
    expect(ts).toContain("export type TodoItem = TodoItemV1 | TodoItemV2 | TodoItemV3;");
    expect(ts).toMatch(/export type DocOf<T extends DocType, V extends keyof DocTypes\[T\]> = DocTypes\[T\]\[V\];/);
    expect(ts.match(/\[k: string\]: unknown;/g)).toHaveLength(5);
    expect(ts).toMatch(/status: "active" \| "blocked" \| "done" \| "rejected";/);
  });

  it("--check fails on a stale file after a schema changes, and passes once regenerated", async () => {
    const app = join(tmp, "app");
    await cp(join(TODO, "schemas"), join(app, "schemas"), { recursive: true });
    await cp(join(TODO, "types.ts"), join(app, "types.ts"));
    const args = ["types", "--schemas", join(app, "schemas"), "--out", join(app, "types.ts")];
    expect((await divan([...args, "--check"])).code).toBe(0);

    const schemaFile = join(app, "schemas/todo-item/3.0.json");
    const schema = JSON.parse(await readFile(schemaFile, "utf8")) as { properties: Record<string, unknown> };
    schema.properties["dueAt"] = { type: "string", format: "date-time" };
    await writeFile(schemaFile, JSON.stringify(schema, null, 2));
    const stale = await divan([...args, "--check"]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("is stale");
    expect(await typesCommand({ schemas: join(app, "schemas"), out: join(app, "types.ts") })).toBe("written");
    expect(await readFile(join(app, "types.ts"), "utf8")).toContain("dueAt?: string;");
    expect((await divan([...args, "--check"])).code).toBe(0);
  });
});

describe("divan validate", () => {
  let server: TestServer;
  const dbs: string[] = [];
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const db of dbs) await (await couchFetch(db, { method: "DELETE" })).arrayBuffer();
    await server?.close();
  });

  it("--db on 1000 documents with one invalid exits 1 and names it", async () => {
    const db = `${server.url}/${uniqueDbName("validate")}`;
    dbs.push(db);
    expect((await couchFetch(db, { method: "PUT" })).status).toBe(201);
    const docs: Record<string, unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = `todo-item:${String(i).padStart(4, "0")}`;
      docs.push(
        i % 2 === 0
          ? { _id: id, schema: "todo-item", version: 2, title: `todo ${i}`, status: "active", createdAt: "2024-03-01T09:30:00Z" }
          : { _id: id, schema: "todo-item", version: 1, title: `todo ${i}`, isDone: i % 3 === 0, createdAt: "2024-03-01T09:30:00Z" },
      );
    }
    docs[617] = { ...docs[617], status: "finished" }; // todo-item:0617 is version 1: status is unknown there, still valid
    docs[618] = { ...docs[618], status: "finished" }; // todo-item:0618 is version 2: invalid
    docs.push({ _id: "_design/views", views: {} });
    const res = await couchFetch(`${db}/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs }) });
    expect(res.status).toBe(201);

    const out = await divan(["validate", "--db", db, "--schemas", join(TODO, "schemas")]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(": 1000 document(s)");
    expect(out.stdout).toContain("todo-item@1: 500 valid, 0 invalid");
    expect(out.stdout).toContain("todo-item@2: 499 valid, 1 invalid");
    expect(out.stdout.match(/^invalid /gm)).toEqual(["invalid "]);
    expect(out.stdout).toMatch(/^invalid todo-item:0618 \(rev 1-[0-9a-f]+\) todo-item@2:\n {2}\/status must be equal to one of the allowed values \[enum\]$/m);
  });

  it("validates JSON files and exits 0 when every document is valid", async () => {
    const file = join(tmp, "docs.json");
    const fixtures = JSON.parse(await readFile(join(TODO, "fixtures/todo-item/3.json"), "utf8")) as { valid: unknown[] };
    await writeFile(file, JSON.stringify({ docs: fixtures.valid }));
    const ok = await divan(["validate", file, "--schemas", join(TODO, "schemas")]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`todo-item@3: ${fixtures.valid.length} valid, 0 invalid`);
    expect(ok.stdout).toContain("all documents valid");
  });
});
