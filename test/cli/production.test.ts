/**
 * The long-running entry points a team deploys for a strategy (README "Strategies in production"), each run as
 * a child process against the test server (`COUCHDB_URL` or an embedded server), the way a supervisor runs it:
 * started, driven over HTTP while it runs, stopped with SIGTERM (exit 0). Every `--db` URL carries
 * user:password; no output may show the password.
 *
 * - `divan migrate --follow` (amended): migrates, then migrates late old-version writes and honours a late
 *   deletion of a migrated document.
 * - `divan serve --lazy` (server-lazy): the translating proxy serves the database as one database per app version.
 * - `divan migrate --target --switch offline|online` (transactional, transactional-online): copy, lock, verify.
 * - `divan serve --transform` with `"ids": "multi-version"` (per-version-documents): every version in one database.
 *   (`per-version-database`, one database per version, is `test/cli/transform.test.ts`.)
 * - `divan serve --transform` ending stale translations (per-version-database): a device's offline translation
 *   meets the service's; the service's scan ends the stale one, as the strategy does when it settles.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startDeviceTransformer } from "../../client/index.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { httpStore } from "../../store/http.js";
import { pouchStore } from "../../store/pouch.js";
import { replicate } from "../../store/replicate.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { couchFetch, externalServerUrl } from "../support/server.js";
import { allDocs, cliFixture, leaves, passwordShown, ROOT, seed, seedRevisions, startCli, statusOf, todoV1, withCredentials, type CliResult, type Json, type RunningCli } from "./support.js";

const fixture = cliFixture();
const { database } = fixture;
/** Starts `divan <args>` from the todo app's folder. */
const start = (args: readonly string[]): RunningCli => startCli(fixture.cli, args);

/** Polls `check` until it holds (the test's timeout bounds the wait). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

async function getJson(url: string): Promise<{ status: number; body: Json }> {
  const res = await couchFetch(url);
  return { status: res.status, body: (await res.json()) as Json };
}

describe("divan migrate --follow (amended)", () => {
  it("migrates, then migrates old-version writes that arrive later and honours a late deletion of a migrated todo, until SIGTERM", async () => {
    const DB = database("cli-follow");
    const url = withCredentials(fixture.url, DB);
    await seed(fixture.url, DB, [todoV1(1), todoV1(2), todoV1(3)]);
    const before = await allDocs(fixture.url, DB);
    const running = start(["migrate", "--db", url, "--to", "todo-item@3", "--follow"]);
    try {
      await running.waitFor(/following _changes/);
      expect((await getJson(`${fixture.url}/${DB}/todo-item:t01`)).body).toMatchObject({ version: 3 });

      // An old app, offline during the migration, pushes a new todo-item@1 …
      const res = await couchFetch(`${fixture.url}/${DB}/todo-item:t07`, { method: "PUT", body: JSON.stringify(todoV1(7)) });
      expect(res.status).toBe(201);
      await until(async () => (await getJson(`${fixture.url}/${DB}/todo-item-status:t07`)).status === 200);
      expect((await getJson(`${fixture.url}/${DB}/todo-item:t07`)).body).toMatchObject({ version: 3, title: "todo 7" });
      expect((await getJson(`${fixture.url}/${DB}/todo-item-status:t07`)).body).toMatchObject({ status: "active" });

      // … and the deletion of a todo it had before the migration: the deletion wins over the migrated revision.
      const old = before.get("todo-item:t02")!;
      const oldRev = String(old["_rev"]);
      const hash = oldRev.split("-")[1]!;
      await seedRevisions(fixture.url, DB, [{ _id: "todo-item:t02", _rev: "2-0000000000000000000000000000d0d0", _deleted: true, _revisions: { start: 2, ids: ["0000000000000000000000000000d0d0", hash] } }]);
      await until(async () => (await statusOf(fixture.url, DB, "todo-item:t02")) === 404 && (await statusOf(fixture.url, DB, "todo-item-status:t02")) === 404);
      expect((await getJson(`${fixture.url}/${DB}/todo-item:t03`)).body).toMatchObject({ version: 3 });

      const { code, stdout, stderr } = await running.stop();
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/^follow: migrated 1, written \d+, quarantined 0$/m);
      expect(stdout).toContain("follow: stopped");
      expect(passwordShown(`${stdout}\n${stderr}`)).toBeUndefined();
    } finally {
      running.kill();
    }
  });

  it("leaves a user's own edit live where a deletion conflicts with it, before the migration and after it (CouchDB's winner stays)", async () => {
    const DB = database("cli-follow-user-conflict");
    const url = withCredentials(fixture.url, DB);
    await seed(fixture.url, DB, [todoV1(1), todoV1(2)]);
    // Before the migration: an old app edits t02 on one device and deletes it on another (CouchDB keeps the edit).
    const t02 = String((await allDocs(fixture.url, DB)).get("todo-item:t02")!["_rev"]).split("-")[1]!;
    await seedRevisions(fixture.url, DB, [
      { ...todoV1(2), title: "edited before", _rev: "2-0000000000000000000000000000e0e0", _revisions: { start: 2, ids: ["0000000000000000000000000000e0e0", t02] } },
      { _id: "todo-item:t02", _rev: "2-0000000000000000000000000000d0d0", _deleted: true, _revisions: { start: 2, ids: ["0000000000000000000000000000d0d0", t02] } },
    ]);
    const first = await fixture.cli.run(["migrate", "--db", url, "--to", "todo-item@3"]);
    expect(first.code, first.stderr).toBe(0);
    // After it: a new app edits the migrated t01 on one device and deletes it on another.
    const t01 = (await getJson(`${fixture.url}/${DB}/todo-item:t01?revs=true`)).body as unknown as Record<string, unknown> & { _revisions: { start: number; ids: string[] } };
    expect(t01).toMatchObject({ version: 3 });
    const { _rev: _r, _revisions: history, ...body } = t01;
    const next = history.start + 1;
    await seedRevisions(fixture.url, DB, [
      { ...body, _id: "todo-item:t01", title: "edited after", _rev: `${next}-0000000000000000000000000000e1e1`, _revisions: { start: next, ids: ["0000000000000000000000000000e1e1", ...history.ids] } },
      { _id: "todo-item:t01", _rev: `${next}-0000000000000000000000000000d1d1`, _deleted: true, _revisions: { start: next, ids: ["0000000000000000000000000000d1d1", ...history.ids] } },
    ]);
    const running = start(["migrate", "--db", url, "--to", "todo-item@3", "--follow"]);
    try {
      await running.waitFor(/following _changes/);
      // A later old-version write: the follow pass that migrates it looked at both conflicts first.
      expect((await couchFetch(`${fixture.url}/${DB}/todo-item:t07`, { method: "PUT", body: JSON.stringify(todoV1(7)) })).status).toBe(201);
      await until(async () => (await getJson(`${fixture.url}/${DB}/todo-item-status:t07`)).status === 200);

      expect((await getJson(`${fixture.url}/${DB}/todo-item:t01`)).body).toMatchObject({ version: 3, title: "edited after" });
      expect((await getJson(`${fixture.url}/${DB}/todo-item:t02`)).body).toMatchObject({ version: 3, title: "edited before" });
      expect(await statusOf(fixture.url, DB, "todo-item-status:t01")).toBe(200);
      expect(await statusOf(fixture.url, DB, "todo-item-status:t02")).toBe(200);
      const { code, stderr } = await running.stop();
      expect(code, stderr).toBe(0);
    } finally {
      running.kill();
    }
  }, 60_000);

  it("prints a quarantined document once, not on every pass, until it changes", async () => {
    const DB = database("cli-follow-quarantine");
    const url = withCredentials(fixture.url, DB);
    const bad = { ...todoV1(9), version: "one" };
    await seed(fixture.url, DB, [todoV1(1), bad]);
    const running = start(["migrate", "--db", url, "--to", "todo-item@3", "--follow"]);
    const printed = (out: string): number => out.split("\n").filter((l) => l.startsWith("quarantined todo-item:t09")).length;
    try {
      await running.waitFor(/following _changes/);
      for (const n of [7, 8]) {
        expect((await couchFetch(`${fixture.url}/${DB}/todo-item:t0${n}`, { method: "PUT", body: JSON.stringify(todoV1(n)) })).status).toBe(201);
        await until(async () => (await getJson(`${fixture.url}/${DB}/todo-item-status:t0${n}`)).status === 200);
      }
      // Edited and still malformed: a new revision, quarantined and printed once more.
      const current = (await getJson(`${fixture.url}/${DB}/todo-item:t09`)).body as Record<string, unknown>;
      expect((await couchFetch(`${fixture.url}/${DB}/todo-item:t09`, { method: "PUT", body: JSON.stringify({ ...current, title: "still bad" }) })).status).toBe(201);
      await running.waitFor(/^quarantined todo-item:t09 \(rev 2-/m);
      expect((await couchFetch(`${fixture.url}/${DB}/todo-item:t05`, { method: "PUT", body: JSON.stringify(todoV1(5)) })).status).toBe(201);
      await until(async () => (await getJson(`${fixture.url}/${DB}/todo-item-status:t05`)).status === 200);
      const { code, stdout } = await running.stop();
      expect(code).toBe(1); // still quarantined
      expect(printed(stdout)).toBe(2); // by the first run, and once after the edit
      // The pass that migrates t05 comes after the edit was quarantined, and quarantines nothing again (how the other
      // changes group into passes depends on timing).
      const passes = stdout.split("\n").filter((l) => /^follow: migrated \d+/.test(l));
      expect(passes.at(-1)).toMatch(/^follow: migrated 1, written 2, quarantined 0$/);
    } finally {
      running.kill();
    }
  });

  it("refuses --follow with --target or --dry-run: it migrates in place as documents arrive (exit 2, CONFIG_INVALID)", async () => {
    const DB = database("cli-follow-refused");
    await seed(fixture.url, DB, [todoV1(1)]);
    for (const extra of [["--target", withCredentials(fixture.url, `${DB}-copy`)], ["--dry-run"]]) {
      const r = await fixture.cli.run(["migrate", "--db", withCredentials(fixture.url, DB), "--to", "todo-item@3", "--follow", ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("[CONFIG_INVALID]");
      expect(r.stderr).toContain(`cannot be combined with ${extra[0]}`);
    }
    expect((await getJson(`${fixture.url}/${DB}/todo-item:t01`)).body).toMatchObject({ version: 1 });
  });
});

describe("divan serve --lazy (server-lazy)", () => {
  it("serves the database as one database per app version: each reads its own version, a write through the old one is stored at the newest, SIGTERM stops it", async () => {
    const DB = database("cli-lazy");
    await seed(fixture.url, DB, [todoV1(1), todoV1(2)]);
    const running = start(["serve", "--lazy", "--db", withCredentials(fixture.url, DB)]);
    try {
      const [, base] = await running.waitFor(/lazy proxy listening on (http:\/\/127\.0\.0\.1:\d+)/);
      await running.waitFor(/app-3-0-0\s+todo-item@3/);
      expect((await getJson(`${base}/app-1-0-0/todo-item:t01`)).body).toMatchObject({ version: 1, isDone: false });
      expect((await getJson(`${base}/app-3-0-0/todo-item:t01`)).body).toMatchObject({ version: 3, group: "default" });
      expect((await getJson(`${base}/app-3-0-0/todo-item-status:t02`)).body).toMatchObject({ version: 1, status: "done" });
      // Nothing was migrated by reading: the server database still holds todo-item@1.
      expect((await getJson(`${fixture.url}/${DB}/todo-item:t01`)).body).toMatchObject({ version: 1 });

      // The old app edits through its database: the write is the migration.
      const t01 = (await getJson(`${base}/app-1-0-0/todo-item:t01`)).body;
      const put = await fetch(`${base}/app-1-0-0/todo-item:t01`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...t01, isDone: true }) });
      expect(put.status).toBe(201);
      expect((await getJson(`${fixture.url}/${DB}/todo-item:t01`)).body).toMatchObject({ version: 3 });
      expect((await getJson(`${fixture.url}/${DB}/todo-item-status:t01`)).body).toMatchObject({ status: "done" });
      expect((await getJson(`${base}/app-1-0-0/todo-item:t01`)).body).toMatchObject({ version: 1, isDone: true });

      const { code, stdout, stderr } = await running.stop();
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("divan lazy proxy stopped");
      expect(passwordShown(`${stdout}\n${stderr}`)).toBeUndefined();
    } finally {
      running.kill();
    }
  });

  it("a device replicates each app version's database whole, attachments included (of a translated todo and of a document of a type no step knows)", async () => {
    const DB = database("cli-lazy-att");
    const data = (text: string): string => Buffer.from(text).toString("base64");
    await seed(fixture.url, DB, [
      todoV1(1),
      todoV1(2, { _attachments: { "photo/1.txt": { content_type: "text/plain", data: data("the todo's attachment") } } }),
      { _id: "widget:w1", schema: "widget", version: 7, _attachments: { "w.bin": { content_type: "application/octet-stream", data: data("the widget's") } } },
      { _id: "_design/app", views: { all: { map: "function (doc) { emit(doc._id); }" } } },
    ]);
    const running = start(["serve", "--lazy", "--db", withCredentials(fixture.url, DB)]);
    try {
      const [, base] = await running.waitFor(/lazy proxy listening on (http:\/\/127\.0\.0\.1:\d+)/);
      await running.waitFor(/app-3-0-0\s+todo-item@3/);
      for (const [view, version] of [["app-1-0-0", 1], ["app-3-0-0", 3]] as const) {
        const device = new MemoryPouchDB(uniqueDbName(`device-${view}`));
        try {
          const result = await device.replicate.from(new MemoryPouchDB(`${base}/${view}`, { adapter: "http" }));
          expect(result.doc_write_failures, view).toBe(0);
          expect(await device.get("todo-item:t02"), view).toMatchObject({ version });
          expect((await device.getAttachment("todo-item:t02", "photo/1.txt")).toString(), view).toBe("the todo's attachment");
          expect((await device.getAttachment("widget:w1", "w.bin")).toString(), view).toBe("the widget's");
        } finally {
          await device.destroy();
        }
      }
      expect((await running.stop()).code).toBe(0);
    } finally {
      running.kill();
    }
  });

  it("refuses a database that does not exist (exit 2, NOT_FOUND) and --lazy with --transform (CONFIG_INVALID)", async () => {
    const missing = await fixture.cli.run(["serve", "--lazy", "--db", withCredentials(fixture.url, uniqueDbName("cli-lazy-missing"))]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("[NOT_FOUND]");
    const both = await fixture.cli.run(["serve", "--lazy", "--transform", "transform.json", "--db", withCredentials(fixture.url, "x")]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("[CONFIG_INVALID]");
  });
});

describe("divan migrate --target --switch (transactional, transactional-online)", () => {
  for (const mode of ["offline", "online"] as const) {
    it(`--switch ${mode} copies and migrates into --target, verifies it, and leaves --db refusing writes`, async () => {
      const DB = database(`cli-switch-${mode}`);
      const TARGET = database(`cli-switch-${mode}-v3`);
      await seed(fixture.url, DB, [todoV1(1), todoV1(2)]);
      const r = await fixture.cli.run(["migrate", "--db", withCredentials(fixture.url, DB), "--target", withCredentials(fixture.url, TARGET), "--to", "todo-item@3", "--switch", mode]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("verify: 4 checked, 0 invalid");
      expect(r.stdout).toMatch(new RegExp(`switch \\(${mode}\\): .* refuses writes since the lock \\(\\d+ ms until the copy was complete\\)`));
      expect(passwordShown(`${r.stdout}\n${r.stderr}`)).toBeUndefined();
      // The copy: every todo at v3, split into item and status.
      expect((await getJson(`${fixture.url}/${TARGET}/todo-item:t02`)).body).toMatchObject({ version: 3 });
      expect((await getJson(`${fixture.url}/${TARGET}/todo-item-status:t02`)).body).toMatchObject({ status: "done" });
      // The source: unchanged, and refusing writes with the maintenance reason.
      const t01 = (await getJson(`${fixture.url}/${DB}/todo-item:t01`)).body;
      expect(t01).toMatchObject({ version: 1 });
      const put = await couchFetch(`${fixture.url}/${DB}/todo-item:t01`, { method: "PUT", body: JSON.stringify({ ...t01, title: "late" }) });
      expect(put.status).toBe(403);
      expect(((await put.json()) as { reason: string }).reason).toContain("maintenance: this database moved to");
    });
  }

  /** Seeds `base` in `db` as two concurrent edits of one revision (titles "from phone", "from tablet"), then runs the offline switch into `target`. */
  async function switchTwoLeaves(db: string, target: string, base: Json): Promise<CliResult> {
    const branch = (hash: string, title: string): Json => ({ ...base, title, _rev: `2-${hash}`, _revisions: { start: 2, ids: [hash, "0000000000000000000000000000a0a0"] } });
    await seedRevisions(fixture.url, db, [branch("0000000000000000000000000000b0b0", "from phone"), branch("0000000000000000000000000000c0c0", "from tablet")]);
    return fixture.cli.run(["migrate", "--db", withCredentials(fixture.url, db), "--target", withCredentials(fixture.url, target), "--to", "todo-item@3", "--switch", "offline"]);
  }

  it("--switch translates old apps' concurrent edits edit by edit: the users' conflict reaches the target at v3", async () => {
    const DB = database("cli-switch-conflict");
    const TARGET = database("cli-switch-conflict-v3");
    await seed(fixture.url, DB, []);
    const r = await switchTwoLeaves(DB, TARGET, todoV1(1));
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("0 invalid");
    expect(r.stdout).toContain("conflicts: 1 document(s) the copy carried in conflict now hold each user's edit at the new version");
    expect(r.stdout).not.toContain("quarantined todo-item:t01");
    expect(r.stdout).toContain("quarantined 0,");
    const titles = [...(await leaves(fixture.url, TARGET, "todo-item:t01")).values()].map((d) => [d.version, d.title]);
    expect(titles.sort()).toEqual([[3, "from phone"], [3, "from tablet"]]);
  });

  it("--switch quarantines a conflict whose leaves are not valid (each leaf's reason, exit 1) and leaves it as the copy carried it", async () => {
    const DB = database("cli-switch-conflict-invalid");
    const TARGET = database("cli-switch-conflict-invalid-v3");
    await seed(fixture.url, DB, [todoV1(2)]);
    const { isDone, ...invalid } = todoV1(1); // todo-item@1 requires isDone
    void isDone;
    const r = await switchTwoLeaves(DB, TARGET, invalid);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stdout).toContain("0 invalid");
    expect(r.stdout).toContain("quarantined 2,");
    expect(r.stdout).toContain("quarantined todo-item:t01 (rev 2-0000000000000000000000000000b0b0) todo-item@1: [SCHEMA_INVALID] a leaf of a conflict");
    expect(r.stdout).toContain("quarantined todo-item:t01 (rev 2-0000000000000000000000000000c0c0) todo-item@1: [SCHEMA_INVALID] a leaf of a conflict");
    expect(r.stdout).not.toContain("conflicts: 1 document(s)");
    // Both leaves stay in the target as the copy carried them (old version), and in the source.
    for (const db of [DB, TARGET]) {
      const titles = [...(await leaves(fixture.url, db, "todo-item:t01")).values()].map((d) => [d.version, d.title]);
      expect(titles.sort()).toEqual([[1, "from phone"], [1, "from tablet"]]);
    }
    expect(await statusOf(fixture.url, TARGET, "todo-item-status:t01")).toBe(404);
    expect((await getJson(`${fixture.url}/${TARGET}/todo-item:t02`)).body).toMatchObject({ version: 3 });
  });

  it("refuses --switch without --target or with an unknown mode (exit 2, CONFIG_INVALID), touching nothing", async () => {
    const DB = database("cli-switch-refused");
    await seed(fixture.url, DB, [todoV1(1)]);
    const noTarget = await fixture.cli.run(["migrate", "--db", withCredentials(fixture.url, DB), "--to", "todo-item@3", "--switch", "online"]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("give --target URL [CONFIG_INVALID]");
    const unknown = await fixture.cli.run(["migrate", "--db", withCredentials(fixture.url, DB), "--target", withCredentials(fixture.url, `${DB}-x`), "--to", "todo-item@3", "--switch", "later"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--switch must be offline or online");
    expect(await statusOf(fixture.url, DB, "_design/divan-maintenance")).toBe(404);
  });
});

describe("divan serve --transform with multi-version ids (per-version-documents)", () => {
  it("keeps every version of a todo side by side in one database: a v1 write gets its v3 documents next to it, SIGTERM exits 0", async () => {
    const DB = database("cli-pvd");
    const dir = await mkdtemp(path.join(tmpdir(), "divan-cli-pvd-"));
    const config = path.join(dir, "transform.json");
    await writeFile(
      config,
      JSON.stringify({
        steps: path.join(ROOT, "examples/todo-app/steps/index.ts"),
        ids: "multi-version",
        sides: [
          { name: "v1", db: DB, shape: { "todo-item": 1, settings: 1 } },
          { name: "v3", db: DB, shape: { "todo-item": 3, "todo-item-status": 1, settings: 1 } },
        ],
      }),
    );
    // Against COUCHDB_URL the command runs the transformers alone against it; else it starts its own embedded server.
    const external = externalServerUrl();
    const running = start(["serve", "--port", "0", "--transform", config]);
    try {
      const base = external ?? (await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await running.waitFor(/transformers running for v1, v3/);
      const v1 = { ...todoV1(2), _id: "todo-item:t02:v:1" };
      const res = await couchFetch(`${base}/${DB}/${encodeURIComponent(v1._id)}`, { method: "PUT", body: JSON.stringify(v1) });
      expect(res.status).toBe(201);
      await until(async () => (await getJson(`${base}/${DB}/${encodeURIComponent("todo-item-status:t02:v:1")}`)).status === 200);
      expect((await getJson(`${base}/${DB}/${encodeURIComponent("todo-item:t02:v:3")}`)).body).toMatchObject({ schema: "todo-item", version: 3, title: "todo 2" });
      expect((await getJson(`${base}/${DB}/${encodeURIComponent("todo-item-status:t02:v:1")}`)).body).toMatchObject({ status: "done" });
      expect((await getJson(`${base}/${DB}/${encodeURIComponent("todo-item:t02:v:1")}`)).body).toMatchObject({ version: 1, isDone: true });
      const { code, stdout, stderr } = await running.stop();
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("divan transformers stopped");
    } finally {
      running.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("divan serve --transform and attachments", () => {
  it("a todo with an attachment is quarantined (BAD_REQUEST, left as it is) and the todos written with it are translated: the feed does not stop", async () => {
    const DB = database("cli-pvd-att");
    const dir = await mkdtemp(path.join(tmpdir(), "divan-cli-pvd-att-"));
    const config = path.join(dir, "transform.json");
    const v1 = { "todo-item": 1, settings: 1 };
    const v3 = { "todo-item": 3, "todo-item-status": 1, settings: 1 };
    const sides = [{ name: "v1", db: DB, shape: v1 }, { name: "v3", db: DB, shape: v3 }];
    await writeFile(config, JSON.stringify({ steps: path.join(ROOT, "examples/todo-app/steps/index.ts"), ids: "multi-version", sides }));
    const external = externalServerUrl();
    const running = start(["serve", "--port", "0", "--transform", config]);
    try {
      const base = external ?? (await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await running.waitFor(/transformers running for v1, v3/);
      const note = { "note.txt": { content_type: "text/plain", data: Buffer.from("kept where it is").toString("base64") } };
      const docs = [{ ...todoV1(3), _id: "todo-item:t03:v:1", _attachments: note }, { ...todoV1(4), _id: "todo-item:t04:v:1" }];
      const res = await couchFetch(`${base}/${DB}/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs }) });
      expect(res.status).toBe(201);
      await until(async () => (await getJson(`${base}/${DB}/${encodeURIComponent("todo-item:t04:v:3")}`)).status === 200);
      for (const id of ["todo-item:t03:v:3", "todo-item-status:t03:v:1"]) expect((await getJson(`${base}/${DB}/${encodeURIComponent(id)}`)).status, id).toBe(404);
      const kept = await couchFetch(`${base}/${DB}/${encodeURIComponent("todo-item:t03:v:1")}/note.txt`);
      expect(await kept.text()).toBe("kept where it is");
      const { code, stderr } = await running.stop();
      expect(code, stderr).toBe(0);
      expect(stderr).toMatch(/quarantined todo-item:t03:v:1@1-\w+ in v1: writing todo-item:t03:v:3 into v3 was refused: BAD_REQUEST: it has attachments \(note\.txt\).* \[BAD_REQUEST\]$/m);
    } finally {
      running.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("divan serve --transform ends stale translations (per-version-database, as the strategy does when it settles)", () => {
  it("a device's offline translation of its own edit meets the service's translation of the revision before it: the scan ends the stale one, the edit stays, no conflict is left", async () => {
    const [V1, V3] = [database("cli-stale-v1"), database("cli-stale-v3")];
    const dir = await mkdtemp(path.join(tmpdir(), "divan-cli-stale-"));
    const config = path.join(dir, "transform.json");
    const shapes = { v1: { "todo-item": 1 }, v3: { "todo-item": 3, "todo-item-status": 1 } };
    await writeFile(
      config,
      JSON.stringify({
        steps: path.join(ROOT, "examples/todo-app/steps/index.ts"),
        staleScanMs: 200,
        sides: [
          { name: "v1", db: V1, shape: shapes.v1 },
          { name: "v3", db: V3, shape: shapes.v3 },
        ],
      }),
    );
    const external = externalServerUrl();
    const running = start(["serve", "--port", "0", "--transform", config]);
    const local: PouchDB.Database[] = [];
    try {
      const base = external ?? (await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const statusUrl = (await running.waitFor(/status at (http:\/\/127\.0\.0\.1:\d+\/_divan\/status)/))[1]!;
      const [v1, v3] = [httpStore(`${base}/${V1}`), httpStore(`${base}/${V3}`)];
      await v1.put(todoV1(1));
      await until(async () => (await getJson(`${base}/${V3}/todo-item:t01`)).status === 200);

      // A device of the old app edits the todo offline, then installs the new app offline: its transformer translates
      // the edit into its own v3 database (deterministic revisions, as the service writes them), then it syncs.
      const [oldDb, newDb] = [new MemoryPouchDB(uniqueDbName("dev-v1")), new MemoryPouchDB(uniqueDbName("dev-v3"))];
      local.push(oldDb, newDb);
      await replicate(v1, pouchStore(oldDb));
      const t01 = await oldDb.get<Record<string, unknown>>("todo-item:t01");
      await oldDb.put({ ...t01, title: "todo 1, edited offline" });
      const device = await startDeviceTransformer({ old: { version: "v1", db: oldDb, shape: shapes.v1 }, current: { version: "v3", db: newDb, shape: shapes.v3 }, steps: todoSteps });
      await device.stop();
      await replicate(pouchStore(newDb), v3);
      await replicate(pouchStore(oldDb), v1);

      // Two translations met in v3; the service's periodic scan ends the stale one (translated from the older revision).
      type Stale = { scans: number; ended: number; lastError: string | null };
      await until(async () => ((await getJson(statusUrl)).body["stale"] as Stale).ended > 0);
      await until(async () => (await getJson(`${base}/${V3}/todo-item:t01?conflicts=true`)).body["_conflicts"] === undefined);
      const stale = (await getJson(statusUrl)).body["stale"] as Stale;
      expect(stale.lastError).toBeNull();
      expect(stale.scans).toBeGreaterThan(1);
      expect((await getJson(`${base}/${V3}/todo-item:t01?conflicts=true`)).body).toMatchObject({ version: 3, title: "todo 1, edited offline" });
      expect((await getJson(`${base}/${V3}/todo-item-status:t01?conflicts=true`)).body["_conflicts"]).toBeUndefined();
      const { code, stderr } = await running.stop();
      expect(code, stderr).toBe(0);
      expect(stderr).toMatch(/ended stale translations of \d+ document\(s\): .*todo-item/);
      expect(passwordShown(stderr)).toBeUndefined();
    } finally {
      running.kill();
      for (const d of local) await d.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
