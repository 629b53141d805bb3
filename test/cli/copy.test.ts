/**
 * `divan migrate --target URL` (copy and migrate into another database, to a manifest version), `divan status
 * --target`, `divan rollback --target` (drop the copy), and a failing command: every URL carries user:password
 * and no output may show the password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripCredentials } from "../../core/redact.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { allDocs, divan, drop, mixedDocs, redactedUserInfo, revs, seed, statusOf, withCredentials } from "./support.js";

let server: TestServer;
const SRC = uniqueDbName("cli-copy-src");
const DST = uniqueDbName("cli-copy-dst");
const TYPO = uniqueDbName("cli-copy-typo");
/** `http://host:port/db` as the CLI prints a database URL (no credentials at all). */
const shown = (db: string): string => stripCredentials(`${server.url}/${db}`);

beforeAll(async () => {
  server = await startTestServer();
  await seed(server.url, SRC, mixedDocs());
});
afterAll(async () => {
  if (server !== undefined) for (const db of [SRC, DST, TYPO]) await drop(server.url, db);
  await server?.close();
});

describe("divan migrate --target", () => {
  it("copies into another database at app 3.0.0 and leaves the source unchanged; status finds the job there; rollback --target drops the copy", async () => {
    const src = withCredentials(server.url, SRC);
    const dst = withCredentials(server.url, DST);
    const sourceRevs = await revs(server.url, SRC);

    const r = await divan(["migrate", "--db", src, "--target", dst, "--to", "3.0.0", "--verify"]);
    expect(r.stdout).toContain(`into ${shown(DST)} to`);
    expect(r.stdout).toContain("to todo-item@3, todo-item-status@1, settings@1");
    // 5 todos become 10 documents; the malformed todo, the unknown type and settings are copied unchanged.
    expect(r.stdout).toMatch(/written 13, failed 1/);
    expect(r.stdout).toMatch(/migrated 5, copied 3, skipped 0, quarantined 1/);
    expect(r.stdout).toContain("quarantined todo-item:bad");
    expect(r.stdout).toMatch(/verify: \d+ checked, 0 invalid/);
    expect(r.code).toBe(1);

    expect(await revs(server.url, SRC)).toEqual(sourceRevs);
    const copy = await allDocs(server.url, DST);
    const ids = [...copy.keys()].filter((id) => !id.startsWith("_design/"));
    expect(ids.sort()).toEqual([
      "settings",
      ...[0, 1, 2, 3, 4].map((n) => `todo-item-status:t0${n}`),
      "todo-item:bad",
      ...[0, 1, 2, 3, 4].map((n) => `todo-item:t0${n}`),
      "widget:w1",
    ].sort());
    expect(copy.get("todo-item:t03")).toMatchObject({ version: 3, title: "todo 3", group: "default" });
    expect(copy.get("todo-item-status:t03")).toMatchObject({ version: 1, status: "active" });
    expect(copy.get("todo-item:bad")).toMatchObject({ version: 1, title: 42, isDone: "nope" });
    expect(copy.get("widget:w1")).toMatchObject({ schema: "widget", version: 7, size: 3 });

    const s = await divan(["status", "--db", src, "--target", dst, "--to", "3.0.0"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^migration to-settings-1-todo-item-3-todo-item-status-1-from-\S+:$/m);
    expect(s.stdout).toContain("  phase done,");
    expect(s.stdout).toContain("  quarantine: 1 document(s)");
    expect(s.stdout).toContain("  todo-item@1: 6"); // the source's own counts

    const d = await divan(["rollback", "--db", src, "--target", dst, "--to", "3.0.0"]);
    expect(d.code).toBe(0);
    expect(d.stdout.split("\n")).toContain(`dropped ${shown(DST)}; ${shown(SRC)} was never changed`);
    expect(await statusOf(server.url, DST)).toBe(404);
    expect(await revs(server.url, SRC)).toEqual(sourceRevs);
  }, 60_000); // three child processes, on a machine that runs other test files at the same time

  it("rollback --target of a database that does not exist fails with NOT_FOUND (exit 2) and prints no password", async () => {
    const r = await divan(["rollback", "--db", withCredentials(server.url, SRC), "--target", withCredentials(server.url, TYPO), "--to", "3.0.0"]);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain("dropped");
    expect(r.stderr.split("\n").filter((l) => l.startsWith("divan: ") && l.includes(TYPO) && l.endsWith("[NOT_FOUND]"))).toHaveLength(1);
    expect(r.stderr).toContain(redactedUserInfo(server.url));
  });
});
