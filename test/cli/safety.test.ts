/**
 * The CLI on data nobody wrote for the tests (issue 14), against the test server (`COUCHDB_URL` or embedded):
 * an in-place rollback of entities split across pages, a failed job retried, translations that fail their
 * schema without `--verify`, databases that do not exist, what `validate` and `status` say about documents of
 * unknown types and versions, and a missing schemas folder.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { ROOT, allDocs, drop, seed, seedRevisions, statusOf, todoV1, withCredentials, type Json, bundleCli, type BundledCli, type CliResult } from "./support.js";

let cli: BundledCli;
/** The CLI, bundled once for this file: it starts in a fraction of the time tsx needs. */
const divan = (args: readonly string[], options?: { cwd?: string }): Promise<CliResult> => cli.run(args, options);

let server: TestServer;
let dir: string;
const dbs: string[] = [];
/** A fresh database with `docs` (dropped after the file, with its state database). */
async function database(prefix: string, docs: readonly Json[]): Promise<{ name: string; url: string }> {
  const name = uniqueDbName(prefix);
  dbs.push(name, `${name}%24divan`);
  await seed(server.url, name, docs);
  return { name, url: withCredentials(server.url, name) };
}
const todos = (n: number): Json[] => Array.from({ length: n }, (_, i) => todoV1(i));

beforeAll(async () => {
  cli = await bundleCli();
  server = await startTestServer();
  dir = await mkdtemp(path.join(tmpdir(), "divan-cli-safety-"));
});
afterAll(async () => {
  await cli?.remove();
  if (server !== undefined) for (const db of dbs) await drop(server.url, db);
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("rollback of the 1→3 split beyond one page, and a failed job retried", () => {
  it("rolls 24 todos back with pages of 5 (each todo-item@3 and its todo-item-status@1 on different pages): nothing quarantined", async () => {
    const { name, url } = await database("cli-split", todos(24));
    const original = await allDocs(server.url, name);
    expect((await divan(["migrate", "--db", url, "--to", "3.0.0", "--batch-size", "5"])).code).toBe(0);
    const r = await divan(["rollback", "--db", url, "--to", "1.0.0", "--batch-size", "5"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/migrated 48, copied 0, skipped 0, quarantined 0,/);
    expect(r.code).toBe(0);
    const back = await allDocs(server.url, name);
    expect([...back.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [id, doc] of original) expect({ ...back.get(id), _rev: undefined }, id).toEqual({ ...doc, _rev: undefined });
  });

  it("a rollback that quarantined everything (steps without the 2→3 step) is retried by the next run with the right steps, and status lists it without --to", async () => {
    const { name, url } = await database("cli-retry", todos(6));
    expect((await divan(["migrate", "--db", url, "--to", "3.0.0"])).code).toBe(0);
    const broken = path.join(dir, "only-1-to-2.ts");
    await writeFile(broken, `export { todoItem1to2 } from ${JSON.stringify(path.join(ROOT, "examples/todo-app/steps/1-to-2.ts"))};\n`);
    const failed = await divan(["rollback", "--db", url, "--to", "todo-item@1", "--steps", broken]);
    // these steps know no todo-item@3 (and no todo-item-status at all: those are skipped as an unknown type)
    expect(failed.stdout).toMatch(/skipped 6, quarantined 6,/);
    expect(failed.stdout).toContain("[NO_PATH]");
    expect(failed.code).toBe(1);
    const listed = await divan(["status", "--db", url]);
    expect(listed.stdout).toContain("rollback down-todo-item-1: to todo-item@1 in place");
    expect(listed.stdout).toContain("  quarantine: 6 document(s)");
    expect(listed.code).toBe(1);

    const retried = await divan(["rollback", "--db", url, "--to", "todo-item@1"]);
    expect(retried.stdout).toMatch(/migrated 12, copied 0, skipped 0, quarantined 0,/);
    expect(retried.code).toBe(0);
    const after = await divan(["status", "--db", url]);
    expect(after.stdout).toContain("rollback down-todo-item-1: to todo-item@1 in place");
    expect(after.stdout).toMatch(/rollback down-todo-item-1:[^]*? {2}quarantine: 0 document\(s\)/);
    expect(after.stdout).toContain("  todo-item@1: 6");
    expect(after.code).toBe(0);
    // --restart scans everything again: nothing left to do
    const restarted = await divan(["rollback", "--db", url, "--to", "todo-item@1", "--restart"]);
    expect(restarted.stdout).toMatch(/read 6, written 0,/);
    expect(restarted.code).toBe(0);
    expect((await allDocs(server.url, name)).size).toBe(6);
  });
});

describe("translations that fail their schema", () => {
  const bad: Json[] = [
    todoV1(0),
    { ...todoV1(1), isDone: undefined }, // no isDone: its status document would have no status
    todoV1(2, { title: "x".repeat(65) }),
    todoV1(3, { createdAt: "yesterday" }),
  ];

  it("are quarantined by default (no --verify), the originals stay where they were, and migrate exits 1", async () => {
    const { name, url } = await database("cli-invalid", bad);
    const before = await allDocs(server.url, name);
    const r = await divan(["migrate", "--db", url, "--to", "3.0.0"]);
    expect(r.stdout).toMatch(/migrated 1, copied 0, skipped 0, quarantined 3,/);
    for (const n of [1, 2, 3]) expect(r.stdout).toMatch(new RegExp(`quarantined todo-item:t0${n} .*\\[(SCHEMA_INVALID|STEP_FAILED)\\]`));
    expect(r.code).toBe(1);
    const after = await allDocs(server.url, name);
    for (const n of [1, 2, 3]) expect(after.get(`todo-item:t0${n}`), String(n)).toEqual(before.get(`todo-item:t0${n}`));
    expect(after.get("todo-item-status:t01")).toBeUndefined();
  });

  it("are written with --no-validate (the opt-out), and exit 0", async () => {
    const { name, url } = await database("cli-novalidate", [todoV1(0), todoV1(2, { title: "x".repeat(65) })]);
    const r = await divan(["migrate", "--db", url, "--to", "3.0.0", "--no-validate"]);
    expect(r.stdout).toMatch(/migrated 2, copied 0, skipped 0, quarantined 0,/);
    expect(r.code).toBe(0);
    expect((await allDocs(server.url, name)).get("todo-item:t02")?.["version"]).toBe(3);
  });
});

describe("databases that do not exist, and URLs that are no database", () => {
  it("validate, status, migrate and rollback of a missing database fail with NOT_FOUND (exit 2) and create nothing", async () => {
    const missing = uniqueDbName("cli-missing");
    const url = withCredentials(server.url, missing);
    for (const args of [["validate", "--db", url], ["status", "--db", url], ["migrate", "--db", url, "--to", "3.0.0"], ["rollback", "--db", url, "--to", "1.0.0"]]) {
      const r = await divan(args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).toMatch(/does not exist.*\[NOT_FOUND\]/);
      expect(r.stdout, args[0]).not.toMatch(/all documents valid|documents of/);
    }
    expect(await statusOf(server.url, missing)).toBe(404);
    expect(await statusOf(server.url, `${missing}%24divan`)).toBe(404);
  });

  it("a local database name that does not exist is NOT_FOUND, and an htp:// URL is CONFIG_INVALID", async () => {
    const local = await divan(["validate", "--db", "typo-db", "--schemas", path.join(ROOT, "examples/todo-app/schemas")], { cwd: dir });
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/no local database typo-db.*\[NOT_FOUND\]/);
    expect(existsSync(path.join(dir, "typo-db")), "no database created").toBe(false);
    const scheme = await divan(["validate", "--db", "htp://127.0.0.1:5984/x"]);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/give an http\(s\):\/\/ URL or the name of a local PouchDB database \(not htp:\/\/\) \[CONFIG_INVALID\]/);
  });
});

describe("what validate and status say about documents divan does not know", () => {
  it("validate names the documents of unknown types, and a known type at an unknown version is invalid (not an unknown type); status prints no @undefined", async () => {
    const { url } = await database("cli-unknown", [
      todoV1(0),
      { _id: "todo-item:v9", schema: "todo-item", version: 9, title: "from the future" },
      { _id: "todo-item:vs", schema: "todo-item", version: "1", title: "a string version" },
      { _id: "widget:a", schema: "widget", version: 1 },
      { _id: "widget:b", schema: "widget", version: 2 },
      { _id: "loose", note: "no type at all" },
      { _id: "todo-item:nov", schema: "todo-item", title: "no version" },
    ]);
    const v = await divan(["validate", "--db", url]);
    expect(v.stdout).toContain("  unknown type widget: 2 (not validated): widget:a, widget:b");
    expect(v.stdout).toContain("  no type: 1 (not validated): loose");
    expect(v.stdout).toContain("  todo-item@9: 0 valid, 1 invalid");
    expect(v.stdout).toContain('  todo-item@"1": 0 valid, 1 invalid');
    expect(v.stdout).toContain("invalid todo-item:v9");
    expect(v.stdout).toMatch(/todo-item has no schema for version 9 \(its majors: 1, 2, 3\)/);
    expect(v.stdout).toContain("invalid todo-item:nov");
    expect(v.stdout).toContain("3 invalid document(s)");
    expect(v.code).toBe(1);
    const s = await divan(["status", "--db", url]);
    expect(s.stdout).not.toContain("undefined");
    expect(s.stdout).toContain("  todo-item@(no version): 1");
    expect(s.stdout).toContain('  todo-item@"1": 1');
    expect(s.stdout).toContain("no migration job has run on this database");
    expect(s.code).toBe(0);
  });

  it("validate checks every leaf of a document in conflict: a valid winner with an invalid losing leaf is invalid (exit 1), naming the leaf's revision", async () => {
    const { name, url } = await database("cli-leaves", [todoV1(0)]);
    const leaf = (hash: string, extra: Record<string, unknown>): Json => ({ ...todoV1(1), _rev: `1-${hash.repeat(32)}`, ...extra });
    // CouchDB's winner of two first revisions is the greater revision string: the valid "b" wins, the invalid "a" loses.
    await seedRevisions(server.url, name, [leaf("b", { title: "a valid winner" }), leaf("a", { isDone: "maybe" })]);
    const v = await divan(["validate", "--db", url]);
    expect(v.stdout).toContain(": 2 document(s), 1 losing leaf revision(s) of documents in conflict");
    expect(v.stdout).toContain("  todo-item@1: 2 valid, 1 invalid");
    expect(v.stdout).toContain(`invalid todo-item:t01 (rev 1-${"a".repeat(32)}) todo-item@1:\n  /isDone must be boolean [type]`);
    expect(v.stdout).toContain("1 invalid document(s)");
    expect(v.code).toBe(1);
  });

  it("a missing schemas folder says which folder divan looked in and how to point it elsewhere", async () => {
    const r = await divan(["validate", "x.json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no schemas folder at ${path.join(dir, "schemas")}`);
    expect(r.stderr).toMatch(/--schemas DIR.*--config.*\[CONFIG_INVALID\]/);
  });
});
