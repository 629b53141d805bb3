/**
 * The acceptance corpus (issue 14): a database of more than 10,000 documents nobody wrote for the tests
 * (`generator.ts`), taken through the CLI as a team would on its own data, in place and with `--target`:
 * `migrate` to 3.0.0, `validate`, `rollback` to 1.0.0. Afterwards every original document is back (its body
 * byte for byte in canonical JSON, revisions apart: CouchDB and PouchDB do not keep key order) or listed in the
 * quarantine with a reason; a todo that started at 2 or 3 is its translation down to 1; every conflict leaf is
 * accounted for; no database but divan's own copy was deleted; exit codes are as documented (0 all migrated and
 * valid, 1 something quarantined or invalid, 2 could not run). On the test server: embedded, or `COUCHDB_URL`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpStore } from "../../store/http.js";
import type { DocumentStore } from "../../store/port.js";
import { readCopyMarker } from "../../strategies/runner/local.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { bundleCli, drop, seed, statusOf, todoV1, withCredentials, type BundledCli } from "../cli/support.js";
import { generateCorpus, type Corpus } from "./generator.js";
import { copyProblems, quarantines, seedCorpus, snapshot, unaccounted } from "./support.js";

let server: TestServer;
let cli: BundledCli;
let corpus: Corpus;
const dbs: string[] = [];
const stores: DocumentStore[] = [];
const BYSTANDER = uniqueDbName("corpus-bystander");

beforeAll(async () => {
  server = await startTestServer();
  cli = await bundleCli();
  corpus = generateCorpus(20_240_101);
  await seed(server.url, BYSTANDER, [todoV1(1)]);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  if (server !== undefined) for (const db of [...dbs, BYSTANDER]) await drop(server.url, db);
  await cli?.remove();
  await server?.close();
});

/** A database seeded with the corpus, its URL with credentials and a store on it. */
async function corpusDb(prefix: string): Promise<{ name: string; url: string; store: DocumentStore }> {
  const name = uniqueDbName(prefix);
  dbs.push(name, `${name}%24divan`);
  await seedCorpus(server.url, name, corpus);
  const store = httpStore(`${server.url}/${name}`);
  stores.push(store);
  return { name, url: withCredentials(server.url, name), store };
}

const localIds = (): string[] => corpus.locals.map((l) => l._id);

describe("the corpus (over 10,000 documents nobody wrote for the tests)", () => {
  it("in place: migrate to 3.0.0, validate, rollback to 1.0.0 — every original document back or quarantined with a reason", async () => {
    const db = await corpusDb("corpus-inplace");
    expect((await db.store.info()).docCount).toBe(corpus.docCount);
    expect(corpus.docCount).toBeGreaterThanOrEqual(10_000);
    const before = await snapshot(db.store, localIds());

    const migrated = await cli.run(["migrate", "--db", db.url, "--to", "3.0.0"]);
    expect(migrated.stderr).toBe("");
    expect(migrated.stdout).toMatch(/conflict leaves [1-9]/);
    expect(migrated.code, "something is quarantined").toBe(1);
    const validated = await cli.run(["validate", "--db", db.url]);
    expect(validated.stdout).toMatch(/todo-item@3: \d+ valid, 0 invalid/);
    expect(validated.code, "the schema-invalid documents are still there").toBe(1);

    const rolledBack = await cli.run(["rollback", "--db", db.url, "--to", "1.0.0"]);
    expect(rolledBack.stderr).toBe("");
    expect(rolledBack.code, "the todo-item@3 documents with an isDone of their own are quarantined").toBe(1);

    const after = await snapshot(db.store, localIds());
    expect(unaccounted(corpus, before, after, await quarantines(db.store))).toEqual([]);
    // the status lists both jobs and exits 1: documents are quarantined
    const status = await cli.run(["status", "--db", db.url]);
    const jobs = status.stdout.split("\n").filter((l) => /^(migration|rollback) /.test(l));
    expect(jobs, status.stdout.slice(0, 2000)).toHaveLength(2);
    expect(status.stdout).toMatch(/^migration to-settings-1-todo-item-3-todo-item-status-1: /m);
    expect(status.stdout).toMatch(/^rollback down-todo-item-1: to todo-item@1 in place$/m);
    expect(status.code).toBe(1);
    expect(await statusOf(server.url, BYSTANDER)).toBe(200);
  }, 300_000);

  it("--target: migrate into a new database, validate it, rollback --target drops only the copy — the source never changed", async () => {
    const src = await corpusDb("corpus-src");
    const target = uniqueDbName("corpus-copy");
    dbs.push(target, `${target}%24divan`);
    const targetUrl = withCredentials(server.url, target);
    const before = await snapshot(src.store, localIds());

    const migrated = await cli.run(["migrate", "--db", src.url, "--target", targetUrl, "--to", "3.0.0"]);
    expect(migrated.stderr).toBe("");
    expect(migrated.code, "something is quarantined").toBe(1);
    const copyStore = httpStore(`${server.url}/${target}`);
    stores.push(copyStore);
    const copy = await snapshot(copyStore);
    expect(copyProblems(corpus, before, copy, await quarantines(copyStore))).toEqual([]);
    expect((await readCopyMarker(copyStore))?.source).toBe(src.name);
    const validated = await cli.run(["validate", "--db", targetUrl]);
    expect(validated.stdout).toMatch(/todo-item@3: \d+ valid, 0 invalid/);
    expect(validated.code, "the quarantined documents are in the copy unchanged").toBe(1);

    const dropped = await cli.run(["rollback", "--db", src.url, "--target", targetUrl, "--to", "1.0.0"]);
    expect(dropped.stderr).toBe("");
    expect(dropped.code).toBe(0);
    expect(await statusOf(server.url, target)).toBe(404);
    expect(await statusOf(server.url, `${target}%24divan`)).toBe(404);
    const after = await snapshot(src.store, localIds());
    expect(unaccounted(corpus, before, after, new Map())).toEqual([]);
    for (const [id, leaves] of before.leaves) expect(after.leaves.get(id)?.map((l) => l._rev), id).toEqual(leaves.map((l) => l._rev));
    expect(await statusOf(server.url, src.name)).toBe(200);
    expect(await statusOf(server.url, BYSTANDER)).toBe(200);
  }, 300_000);
});
