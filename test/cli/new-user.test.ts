/**
 * What a new user met running the CLI on a messy database (child processes against the test server, `COUCHDB_URL`
 * or embedded): attachments of a document a merge folds away, the documented undo of a copy, Ctrl-C in the middle
 * of a run, and a copy job resumed with another user's credentials.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { couchFetch } from "../support/server.js";
import { ROOT, cliFixture, leaves, passwordShown, seed, startCli, statusOf, todoV1, withCredentials, type CliResult, type Json, type RunningCli } from "./support.js";

const fixture = cliFixture();
const divan = (args: readonly string[], options?: { cwd?: string }): Promise<CliResult> => fixture.cli.run(args, options);
const CONTACT_BOOK = path.join(ROOT, "examples/contact-book");

/** A fresh database name this file drops afterwards (with its `$divan` state database). */
const dbName = (prefix: string): string => fixture.database(`nu-${prefix}`); // nu-: the prefix of databases a shared CouchDB lets this file create

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("a merge (contact book 1 → 2) and the attachments of the document it folds away", () => {
  it("quarantines the contact whose address document has an attachment and leaves both documents, attachment included, where they were", async () => {
    const DB = dbName("merge-att");
    await seed(fixture.url, DB, [
      { _id: "contact:plain", schema: "contact", version: 1, name: "Plain", favorite: "yes" },
      { _id: "contact-address:plain", schema: "contact-address", version: 1, street: "S", city: "C" },
      { _id: "contact:att", schema: "contact", version: 1, name: "With map", favorite: "no", _attachments: { "photo.txt": { content_type: "text/plain", data: b64("photo") } } },
      { _id: "contact-address:att", schema: "contact-address", version: 1, street: "S", city: "C", _attachments: { "map.txt": { content_type: "text/plain", data: b64("the map") } } },
    ]);
    const url = withCredentials(fixture.url, DB);
    const r = await divan(["migrate", "--db", url, "--to", "2.0.0"], { cwd: CONTACT_BOOK });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/migrated 2, /); // the plain contact and its address
    expect(r.stdout).toMatch(/^quarantined contact-address:att \(rev 1-\w+\) contact-address@1: \[STEP_FAILED\] .*map\.txt/m);
    // Left where they were: both documents of the quarantined contact, at version 1, with their attachment bodies.
    const address = await leaves(fixture.url, DB, "contact-address:att");
    expect([...address.values()].map((d) => [d._rev?.slice(0, 2), d["version"], d._deleted])).toEqual([["1-", 1, undefined]]);
    const body = await couchFetch(`${fixture.url}/${DB}/${encodeURIComponent("contact-address:att")}/map.txt`);
    expect(await body.text()).toBe("the map");
    const contact = await leaves(fixture.url, DB, "contact:att");
    expect([...contact.values()].map((d) => d["version"])).toEqual([1]);
    // The plain contact was merged as usual.
    expect(await statusOf(fixture.url, DB, "contact-address:plain")).toBe(404);
  });
});

describe("the documented undo of a copy (README, transactional: `divan rollback --db URL --target NEW`)", () => {
  it("drops the copy without --to, and a rollback in place without --to is refused with CONFIG_INVALID", async () => {
    const SRC = dbName("undo-src");
    const DST = dbName("undo-dst");
    await seed(fixture.url, SRC, [todoV1(1), todoV1(2)]);
    const src = withCredentials(fixture.url, SRC);
    const dst = withCredentials(fixture.url, DST);
    const copied = await divan(["migrate", "--db", src, "--target", dst, "--to", "3.0.0"]);
    expect(copied.code).toBe(0);
    const undone = await divan(["rollback", "--db", src, "--target", dst]);
    expect(undone.stderr).toBe("");
    expect(undone.code).toBe(0);
    expect(undone.stdout).toMatch(new RegExp(`^dropped http://\\S+/${DST} \\(divan's copy made by job `, "m"));
    expect(await statusOf(fixture.url, DST)).toBe(404);
    expect(await statusOf(fixture.url, SRC)).toBe(200);
    const inPlace = await divan(["rollback", "--db", src]);
    expect(inPlace.code).toBe(2);
    expect(inPlace.stderr).toMatch(/give --to <version>.*\[CONFIG_INVALID\]/);
  });
});

/**
 * Runs the bundled CLI, runs `meanwhile` (if given), sends `signal` once its stdout matched `when`, and resolves with
 * what it printed and its exit code; rejects when it printed a password.
 */
async function interrupt(args: readonly string[], when: RegExp, signal: NodeJS.Signals, meanwhile?: (running: RunningCli) => Promise<void>): Promise<CliResult> {
  const running = startCli(fixture.cli, args);
  try {
    await meanwhile?.(running);
    await running.waitFor(when);
    const { code, stdout, stderr } = await running.stop(signal);
    const shown = passwordShown(`${stdout}\n${stderr}`);
    if (shown !== undefined) throw new Error(`divan printed ${shown}`);
    return { code: code ?? -1, stdout, stderr };
  } finally {
    running.kill();
  }
}

describe("Ctrl-C in the middle of a migration", () => {
  it("stops between pages with exit code 130, releases the lease and saves the checkpoint, so the same command resumes at once", async () => {
    const DB = dbName("sigint");
    const N = 600;
    await seed(fixture.url, DB, Array.from({ length: N }, (_, n) => todoV1(n)));
    const url = withCredentials(fixture.url, DB);
    const args = ["migrate", "--db", url, "--to", "3.0.0", "--batch-size", "10", "--concurrency", "1"];
    const stopped = await interrupt(args, /^progress \d+\/\d+/m, "SIGINT");
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain("SIGINT: stopping");
    expect(stopped.stdout).toMatch(/^stopped in \d+ ms$/m);
    expect(stopped.stdout).toContain("run the same command again to resume");
    const resumed = await divan(args);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("(resumed from checkpoint)");
    const docs = (await (await couchFetch(`${fixture.url}/${DB}/_all_docs?include_docs=true`)).json()) as { rows: { doc: Json }[] };
    const items = docs.rows.map((r) => r.doc).filter((d) => d["schema"] === "todo-item");
    expect(items.length).toBe(N);
    expect(items.filter((d) => d["version"] !== 3 || !String(d._rev).startsWith("2-"))).toEqual([]); // each migrated once
  }, 120_000);
});

describe("the job of a copy is named after its source database, not after who runs it", () => {
  it("two users copying the same database name the same job, and the name shows neither", async () => {
    const { defaultMigrationId } = await import("../../strategies/runner/runner.js");
    const to = { "todo-item": 3, "todo-item-status": 1 };
    const as = (user: string): string => defaultMigrationId(to, { name: `http://${user}:***@couch.example:5984/todos` } as Parameters<typeof defaultMigrationId>[1], true);
    expect(as("alice")).toBe(as("bob"));
    expect(as("alice")).not.toContain("alice");
    expect(as("alice")).toBe("to-todo-item-3-todo-item-status-1-from-http-couch-example-5984-todos");
  });
});

describe("divan status shows what the transformers quarantined as migrate does", () => {
  it("a version that is no number is shown as JSON (\"1\", {\"major\":1}), never [object Object]", async () => {
    const DB = dbName("tx-status");
    await seed(fixture.url, DB, []);
    const record = (id: string, version: unknown): Json => ({ _id: id, id, rev: "1-a", type: "todo-item", version, code: "STEP_FAILED", reason: "no step", side: "v1" });
    const checkpoint = { v: 1, quarantine: [record("todo-item:obj", { major: 1 }), record("todo-item:str", "1")] };
    const put = await couchFetch(`${fixture.url}/${DB}/_local/divan-transformer`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(checkpoint) });
    expect(put.status).toBe(201);
    const r = await divan(["status", "--db", withCredentials(fixture.url, DB)]);
    expect(r.stdout).toContain('todo-item:obj@1-a: STEP_FAILED: no step (todo-item@{"major":1}, side v1)');
    expect(r.stdout).toContain('todo-item:str@1-a: STEP_FAILED: no step (todo-item@"1", side v1)');
  });
});

describe("the attachments check of a translation (in process)", () => {
  it("lets a translation keep the attachments of a stored document it builds on, and refuses bodies nobody holds", async () => {
    const { checkTranslation } = await import("../../strategies/runner/plan.js");
    const stub = { "scan.pdf": { content_type: "application/pdf", digest: "md5-x", length: 3, stub: true } };
    const item = { _id: "todo-item:a", schema: "todo-item", version: 1, title: "a", isDone: true, createdAt: "2024-01-01T00:00:00.000Z" };
    const status = { _id: "todo-item-status:a", _rev: "1-s", schema: "todo-item-status", version: 1, status: "done", _attachments: stub };
    const out = { "todo-item": { ...item, version: 3, group: "default" }, "todo-item-status": status };
    // An old edit translated onto the stored status document, which holds the attachment.
    expect(checkTranslation({ versionField: "version" }, undefined, { "todo-item": item }, out, { "todo-item-status": status })).toBeUndefined();
    // Without that stored document, the stub names a body no input holds.
    expect(checkTranslation({ versionField: "version" }, undefined, { "todo-item": item }, out)?.code).toBe("STEP_FAILED");
  });
});

describe("migrate --follow and a conflict between old apps' edits, one of them invalid", () => {
  it("never writes a translation that is not valid at the target: the invalid leaf and its document stay where they were", async () => {
    const DB = dbName("follow-invalid");
    await seed(fixture.url, DB, [todoV1(1)]);
    const base = { _id: "todo-item:c", schema: "todo-item", version: 1, title: "base", isDone: false, createdAt: "2024-01-01T00:00:00.000Z" };
    const put = await couchFetch(`${fixture.url}/${DB}/_bulk_docs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        new_edits: false,
        docs: [
          { ...base, _rev: "1-aaa" },
          { ...base, title: "valid edit", _rev: "2-bbb", _revisions: { start: 2, ids: ["bbb", "aaa"] } },
          { ...base, title: 1234, _rev: "2-ccc", _revisions: { start: 2, ids: ["ccc", "aaa"] } },
        ],
      }),
    });
    expect(put.status).toBe(201);
    const url = withCredentials(fixture.url, DB);
    // Follow until a todo written after the first run is migrated, then Ctrl-C.
    const late = async (): Promise<void> => {
      const res = await couchFetch(`${fixture.url}/${DB}/todo-item:late`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(todoV1(2, { _id: "todo-item:late" })) });
      expect(res.status).toBe(201);
    };
    const r = await interrupt(["migrate", "--db", url, "--to", "3.0.0", "--follow"], /^follow: migrated 1\b/m, "SIGINT", async (running) => {
      await running.waitFor(/following _changes/);
      await late();
    });
    expect(r.stdout).toContain("follow: stopped");
    const c = await leaves(fixture.url, DB, "todo-item:c");
    const invalid = [...c.values()].filter((d) => d["version"] === 3 && typeof d["title"] !== "string");
    expect(invalid).toEqual([]);
    expect([...c.values()].map((d) => d["title"]).sort()).toEqual([1234, "valid edit"].sort());
  }, 120_000);
});
