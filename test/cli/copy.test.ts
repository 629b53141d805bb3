/**
 * `divan migrate --target URL` (copy and migrate into another database, to a manifest version), `divan status`
 * of the copy, `divan rollback --target` (drop the copy, and only a copy divan made of that source), and failing
 * commands: every URL carries user:password and no output may show the password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripCredentials } from "../../core/redact.js";
import { couchFetch, startTestServer, type TestServer } from "../support/server.js";
import { uniqueDbName } from "../support/backends.js";
import { allDocs, drop, leaves, mixedDocs, redactedUserInfo, revs, seed, seedRevisions, statusOf, todoV1, withCredentials, bundleCli, type BundledCli, type CliResult } from "./support.js";

let cli: BundledCli;
/** The CLI, bundled once for this file: it starts in a fraction of the time tsx needs. */
const divan = (args: readonly string[], options?: { cwd?: string }): Promise<CliResult> => cli.run(args, options);

let server: TestServer;
const SRC = uniqueDbName("cli-copy-src");
const DST = uniqueDbName("cli-copy-dst");
const OTHER = uniqueDbName("cli-copy-other");
const TYPO = uniqueDbName("cli-copy-typo");
const DRY = uniqueDbName("cli-copy-dry");
const AGAIN = uniqueDbName("cli-copy-again");
/** `http://host:port/db` as the CLI prints a database URL (no credentials at all). */
const shown = (db: string): string => stripCredentials(`${server.url}/${db}`);
const hex = (c: string): string => c.repeat(32);
const NOTE = Buffer.from("an attachment the copy must keep").toString("base64");

beforeAll(async () => {
  cli = await bundleCli();
  server = await startTestServer();
  await seed(server.url, SRC, [
    ...mixedDocs(),
    todoV1(7, { _attachments: { "note.txt": { content_type: "text/plain", data: NOTE } } }),
    { _id: "widget:w2", schema: "widget", version: 7, _attachments: { "w.bin": { content_type: "application/octet-stream", data: NOTE } } },
  ]);
  // Two conflicted documents: a widget copied unchanged, and a todo a copy cannot translate without dropping a leaf: both carried with both leaves.
  await seedRevisions(server.url, SRC, [
    { _id: "widget:c", _rev: `1-${hex("a")}`, schema: "widget", version: 7, side: "a" },
    { _id: "widget:c", _rev: `1-${hex("b")}`, schema: "widget", version: 7, side: "b" },
    { ...todoV1(8), _id: "todo-item:c", _rev: `1-${hex("a")}`, title: "leaf a" },
    { ...todoV1(8), _id: "todo-item:c", _rev: `1-${hex("b")}`, title: "leaf b" },
  ]);
  await seed(server.url, OTHER, [todoV1(1)]);
});
afterAll(async () => {
  await cli?.remove();
  if (server !== undefined) for (const db of [SRC, DST, OTHER, TYPO, DRY, `${DRY}%24divan`, AGAIN, `${AGAIN}%24divan`, `${SRC}%24divan`, `${DST}%24divan`, `${OTHER}%24divan`]) await drop(server.url, db);
  await server?.close();
});

describe("divan migrate --target", () => {
  it("--dry-run into a database that does not exist reports the copy it would make and creates nothing (no target, no state database)", async () => {
    const sourceRevs = await revs(server.url, SRC);
    const r = await divan(["migrate", "--db", withCredentials(server.url, SRC), "--target", withCredentials(server.url, DRY), "--to", "3.0.0", "--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`into ${shown(DRY)} to`);
    expect(r.stdout).toContain("dry run: done");
    expect(r.stdout).toMatch(/migrated 6, copied \d+, skipped 0, quarantined 2/);
    expect(r.code).toBe(1); // it would quarantine the malformed and the conflicted todo
    expect(r.stdout).toContain(`not copied: 1 design document(s) (_design/app); copy the ones the new app needs into ${shown(DRY)}\n`);
    expect(await statusOf(server.url, DRY), "no target database").toBe(404);
    expect(await statusOf(server.url, `${DRY}%24divan`), "no state database").toBe(404);
    expect(await revs(server.url, SRC)).toEqual(sourceRevs);
  });

  it("copies into a new database at app 3.0.0 with attachments and conflict leaves, leaves the source unchanged; status of the copy lists the job; rollback --target drops only the copy", async () => {
    const src = withCredentials(server.url, SRC);
    const dst = withCredentials(server.url, DST);
    const sourceRevs = await revs(server.url, SRC);

    const r = await divan(["migrate", "--db", src, "--target", dst, "--to", "3.0.0", "--verify"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`into ${shown(DST)} to`);
    expect(r.stdout).toContain("to todo-item@3, todo-item-status@1, settings@1");
    // 6 todos become 12 documents; the malformed todo, two widgets, settings and the two conflicted documents (each
    // with its losing leaf) are carried unchanged; the malformed and the conflicted todo are quarantined.
    expect(r.stdout).toMatch(/migrated 6, copied 8, skipped 0, quarantined 2, conflict leaves 2,/);
    expect(r.stdout).toContain("quarantined todo-item:bad");
    expect(r.stdout).toContain(`quarantined todo-item:c (rev 1-${hex("b")}) todo-item@1: [CONFLICT]`);
    expect(r.stdout).toMatch(/verify: \d+ checked, 0 invalid/);
    expect(r.code).toBe(1);

    expect(await revs(server.url, SRC)).toEqual(sourceRevs);
    const copy = await allDocs(server.url, DST);
    const ids = [...copy.keys()].filter((id) => !id.startsWith("_design/"));
    expect(ids.sort()).toEqual(
      [
        "settings",
        ...[0, 1, 2, 3, 4, 7].map((n) => `todo-item-status:t0${n}`),
        "todo-item:bad",
        "todo-item:c",
        ...[0, 1, 2, 3, 4, 7].map((n) => `todo-item:t0${n}`),
        "widget:c",
        "widget:w1",
        "widget:w2",
      ].sort(),
    );
    expect(copy.get("todo-item:t03")).toMatchObject({ version: 3, title: "todo 3", group: "default" });
    expect(copy.get("todo-item-status:t03")).toMatchObject({ version: 1, status: "active" });
    expect(copy.get("todo-item:bad")).toMatchObject({ version: 1, title: 42, isDone: "nope" });
    expect(copy.get("todo-item:c")).toMatchObject({ version: 1, title: "leaf b" }); // the winner, carried
    // attachments are in the copy, of a translated todo and of a document copied unchanged
    for (const [id, name] of [["todo-item:t07", "note.txt"], ["widget:w2", "w.bin"]] as const) {
      const att = await couchFetch(`${server.url}/${DST}/${encodeURIComponent(id)}/${name}`);
      expect(att.status, id).toBe(200);
      expect(Buffer.from(await att.arrayBuffer()).toString("base64"), id).toBe(NOTE);
    }
    expect(copy.get("todo-item:t07")).toMatchObject({ version: 3 });
    // the widget copied unchanged keeps both leaves, with the source's revisions
    for (const id of ["widget:c", "todo-item:c"]) expect([...(await leaves(server.url, DST, id)).keys()].sort(), id).toEqual([`1-${hex("a")}`, `1-${hex("b")}`]);

    const s = await divan(["status", "--db", dst]);
    expect(s.stdout).toMatch(/^migration to-settings-1-todo-item-3-todo-item-status-1-from-\S+: to todo-item@3, todo-item-status@1, settings@1, copied from database cli-copy-src-/m);
    expect(s.stdout).toContain("  phase done,");
    expect(s.stdout).toContain("  quarantine: 2 document(s)");
    expect(s.code).toBe(1);

    // Never the source, never a database divan did not make as a copy of --db.
    for (const victim of [SRC, OTHER]) {
      const refused = await divan(["rollback", "--db", src, "--target", withCredentials(server.url, victim), "--to", "3.0.0"]);
      expect(refused.code, victim).toBe(2);
      expect(refused.stderr, victim).toMatch(/no copy divan made.*\[NOT_A_COPY\]/);
      expect(refused.stdout, victim).not.toContain("dropped");
      expect(await statusOf(server.url, victim), victim).toBe(200);
    }
    expect(await revs(server.url, SRC)).toEqual(sourceRevs);
    expect(Object.keys(await revs(server.url, OTHER))).toEqual(["todo-item:t01"]);
    // nor a copy of another source (a migrate --target into it refuses too)
    const intoCopy = await divan(["migrate", "--db", withCredentials(server.url, OTHER), "--target", dst, "--to", "3.0.0"]);
    expect(intoCopy.code).toBe(2);
    expect(intoCopy.stderr).toMatch(/copy of database "cli-copy-src-.*\[NOT_A_COPY\]/);
    const wrongSource = await divan(["rollback", "--db", withCredentials(server.url, OTHER), "--target", dst, "--to", "3.0.0"]);
    expect(wrongSource.code).toBe(2);
    expect(wrongSource.stderr).toContain("[NOT_A_COPY]");
    expect(await statusOf(server.url, DST)).toBe(200);

    const d = await divan(["rollback", "--db", src, "--target", dst, "--to", "3.0.0"]);
    expect(d.stderr).toBe("");
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(new RegExp(`^dropped ${shown(DST).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} \\(divan's copy made by job to-settings-1-\\S+\\); ${shown(SRC).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} was never changed$`, "m"));
    expect(await statusOf(server.url, DST)).toBe(404);
    expect(await statusOf(server.url, `${DST}%24divan`)).toBe(404); // its state database went with it
    expect(await revs(server.url, SRC)).toEqual(sourceRevs);
  });

  it("a copy run again from the start (--restart) writes no new revision of what it copied, documents with attachments included", async () => {
    const args = ["migrate", "--db", withCredentials(server.url, SRC), "--target", withCredentials(server.url, AGAIN), "--to", "3.0.0"];
    const first = await divan(args);
    expect(first.code).toBe(1); // the malformed and the conflicted todo are quarantined
    expect(first.stdout).toContain(`not copied: 1 design document(s) (_design/app); copy the ones the new app needs into ${shown(AGAIN)}\n`);
    expect(await statusOf(server.url, AGAIN, "_design/app")).toBe(404);
    const copied = await revs(server.url, AGAIN);
    expect(copied["todo-item:t07"]).toMatch(/^1-/); // the translated todo with an attachment
    const again = await divan([...args, "--restart"]);
    expect(again.stdout).toMatch(/migrated 0, copied \d+, skipped 6,/);
    expect(await revs(server.url, AGAIN)).toEqual(copied);
  });

  it("a migrate --target into a database that holds documents divan did not copy is refused (NOT_A_COPY), and that database is unchanged", async () => {
    const before = await revs(server.url, OTHER);
    const r = await divan(["migrate", "--db", withCredentials(server.url, SRC), "--target", withCredentials(server.url, OTHER), "--to", "3.0.0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already holds 1 document\(s\).*\[NOT_A_COPY\]/);
    expect(await revs(server.url, OTHER)).toEqual(before);
  });

  it("rollback --target of a database that does not exist fails with NOT_FOUND (exit 2) and prints no password", async () => {
    const r = await divan(["rollback", "--db", withCredentials(server.url, SRC), "--target", withCredentials(server.url, TYPO), "--to", "3.0.0"]);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain("dropped");
    expect(r.stderr.split("\n").filter((l) => l.startsWith("divan: ") && l.includes(TYPO) && l.endsWith("[NOT_FOUND]"))).toHaveLength(1);
    expect(r.stderr).toContain(redactedUserInfo(server.url));
  });
});
