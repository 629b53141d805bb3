/**
 * `divan migrate`, `divan status` and `divan rollback` in place, run as child processes against the test
 * server (`COUCHDB_URL` or an embedded server), on a database with todo-item@1 documents, a malformed one, an unknown type, a design
 * document and the settings singleton. Every `--db` URL carries user:password; no output may show the password.
 * The tests run in order on one database: dry run → migrate → rerun → status → rollback.
 * Exit codes: 0 everything migrated and valid, 1 something quarantined (now or still there from an earlier run), 2 could not run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { allDocs, drop, mixedDocs, revs, seed, statusOf, withCredentials, type Json, bundleCli, type BundledCli, type CliResult } from "./support.js";

let cli: BundledCli;
/** The CLI, bundled once for this file: it starts in a fraction of the time tsx needs. */
const divan = (args: readonly string[], options?: { cwd?: string }): Promise<CliResult> => cli.run(args, options);

const DB = uniqueDbName("cli-migrate");
const JOB = "to-todo-item-3-todo-item-status-1";
let server: TestServer;
let url: string;
let seeded: Map<string, Json>;

beforeAll(async () => {
  cli = await bundleCli();
  server = await startTestServer();
  url = withCredentials(server.url, DB);
  await seed(server.url, DB, mixedDocs());
  seeded = await allDocs(server.url, DB);
});
afterAll(async () => {
  await cli?.remove();
  if (server !== undefined) for (const db of [DB, `${DB}%24divan`]) await drop(server.url, db);
  await server?.close();
});

/** The documents that must never change: the malformed todo, the unknown type, the design doc and settings. */
const untouched = ["todo-item:bad", "widget:w1", "_design/app", "settings"];

describe("divan migrate in place (todo-item@1 → todo-item@3)", () => {
  it("--dry-run reports what would change and writes nothing (no document, checkpoint, lease or quarantine)", async () => {
    const before = await revs(server.url, DB);
    const r = await divan(["migrate", "--db", url, "--to", "todo-item@3", "--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("to todo-item@3, todo-item-status@1");
    expect(r.stdout).toContain("dry run: done");
    expect(r.stdout).toMatch(/written 10 \(would be\)/);
    expect(r.stdout).toMatch(/migrated 5, copied 0, skipped 2, quarantined 1/);
    expect(r.stdout).toContain(`quarantined todo-item:bad (rev ${String(seeded.get("todo-item:bad")?._rev)}) todo-item@1: [STEP_FAILED]`);
    expect(r.code).toBe(1); // a quarantined document is a failure for scripts
    expect(await revs(server.url, DB)).toEqual(before);
    for (const local of [`_local/divan-migration-${JOB}`, `_local/divan-quarantine-${JOB}`, "_local/divan-jobs"]) {
      expect(await statusOf(server.url, DB, local), local).toBe(404);
    }
    expect(await statusOf(server.url, `${DB}%24divan`), "no state database").toBe(404);
  });

  it("--verify migrates every todo to item@3 + status@1, quarantines the malformed one and leaves it in place, verify finds nothing invalid", async () => {
    const r = await divan(["migrate", "--db", url, "--to", "todo-item@3", "--verify"]);
    expect(r.stdout).toContain(`in place to todo-item@3, todo-item-status@1 (job ${JOB})`);
    expect(r.stdout).toMatch(/^done in \d+ ms$/m);
    expect(r.stdout).toMatch(/read 8, written 10, failed 1/);
    expect(r.stdout).toMatch(/migrated 5, copied 0, skipped 2, quarantined 1, conflict leaves 0, changed meanwhile 0/);
    expect(r.stdout).toContain("quarantined todo-item:bad");
    expect(r.stdout).toMatch(/verify: \d+ checked, 0 invalid/);
    expect(r.code).toBe(1);

    const docs = await allDocs(server.url, DB);
    for (let n = 0; n < 5; n++) {
      const id = `t0${n}`;
      const old = seeded.get(`todo-item:${id}`)!;
      expect(docs.get(`todo-item:${id}`)).toMatchObject({ schema: "todo-item", version: 3, title: old["title"], createdAt: old["createdAt"], group: "default" });
      expect(docs.get(`todo-item:${id}`)).not.toHaveProperty("isDone");
      expect(docs.get(`todo-item-status:${id}`)).toMatchObject({ schema: "todo-item-status", version: 1, status: n % 2 === 0 ? "done" : "active" });
    }
    expect(docs.get("todo-item:t00")?.["note"]).toBe("kept by every step");
    for (const id of untouched) expect(docs.get(id), id).toEqual(seeded.get(id));
    expect(docs.size).toBe(seeded.size + 5);
    // The lease lived in the state database next to it (an ordinary document, released at the end).
    expect(await statusOf(server.url, `${DB}%24divan`)).toBe(200);
    expect(await statusOf(server.url, `${DB}%24divan`, encodeURIComponent(`lease:${DB}`))).toBe(404);
  });

  it("a rerun tries the quarantined document again, writes nothing, and still exits 1: it is still where it was", async () => {
    const before = await revs(server.url, DB);
    const r = await divan(["migrate", "--db", url, "--to", "todo-item@3", "--verify"]);
    expect(r.stdout).toMatch(/written 0, failed 1/);
    expect(r.stdout).toContain("quarantined todo-item:bad");
    expect(r.stdout).toMatch(/verify: \d+ checked, 0 invalid/);
    expect(r.code).toBe(1);
    expect(await revs(server.url, DB)).toEqual(before);
  });

  it("status lists the job without --to (phase, totals, free lease, quarantine) and exits 1 while a document is quarantined", async () => {
    const all = await divan(["status", "--db", url]);
    expect(all.stdout).toContain(`migration ${JOB}: to todo-item@3, todo-item-status@1 in place`);
    expect(all.stdout).toContain("  quarantine: 1 document(s)");
    expect(all.stdout).not.toContain("@undefined");
    expect(all.code).toBe(1);
    const r = await divan(["status", "--db", url, "--to", "todo-item@3"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    const counts = lines.filter((l) => /^ {2}\S+: \d+$/.test(l)).map((l) => l.trim());
    expect(counts).toEqual(["(design): 1", "settings@1: 1", "todo-item-status@1: 5", "todo-item@1: 1", "todo-item@3: 5", "widget@7: 1"]);
    expect(r.stdout).toContain(`migration ${JOB}:`);
    expect(r.stdout).toContain("  phase done,");
    expect(r.stdout).toMatch(/read 9, written 10, migrated 5, copied 0, skipped 2, quarantined 2, conflict leaves 0/);
    expect(r.stdout).toContain("  lease: free");
    expect(r.stdout).toContain("  quarantine: 1 document(s)");
    expect(r.stdout).toMatch(/^ {4}todo-item:bad \(rev 1-\w+\) todo-item@1: \[STEP_FAILED\]/m);
  });

  it("rollback --to todo-item@1 brings the v1 documents back and removes the status documents; status lists both jobs", async () => {
    const r = await divan(["rollback", "--db", url, "--to", "todo-item@1"]);
    expect(r.stdout).toContain("in place down to todo-item@1");
    expect(r.stdout).toMatch(/migrated 10, .*quarantined 0/);
    expect(r.code).toBe(0);
    const s = await divan(["status", "--db", url]);
    expect(s.stdout).toContain(`migration ${JOB}: to todo-item@3, todo-item-status@1 in place`);
    expect(s.stdout).toContain("rollback down-todo-item-1: to todo-item@1 in place");
    // the malformed todo is still where it was: the migration's quarantine keeps it, and status says so
    expect(s.stdout).toContain("[STEP_FAILED]");
    expect(s.code).toBe(1);
    const docs = await allDocs(server.url, DB);
    expect([...docs.keys()].sort()).toEqual([...seeded.keys()].sort());
    for (const [id, old] of seeded) {
      const { _rev: oldRev, ...oldBody } = old;
      const { _rev: rev, ...body } = docs.get(id)!;
      expect(body, id).toEqual(oldBody);
      if (untouched.includes(id)) expect(rev, id).toBe(oldRev);
    }
  });
});
