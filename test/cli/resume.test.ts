/**
 * A job interrupted mid-scan, seen through the CLI: `divan status` shows its checkpoint (phase, last key) and
 * the lease of another runner, `divan migrate` refuses to run while that lease is held, and resumes from the
 * checkpoint once it is free, writing every document once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStepGraph } from "../../adapters/path.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { httpStore } from "../../store/http.js";
import type { DocumentStore } from "../../store/port.js";
import { acquireLease, readCheckpoint, releaseLease } from "../../strategies/runner/local.js";
import { createMigration } from "../../strategies/runner/runner.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { allDocs, drop, seed, todoV1, withCredentials, bundleCli, type BundledCli, type CliResult } from "./support.js";

let cli: BundledCli;
/** The CLI, bundled once for this file: it starts in a fraction of the time tsx needs. */
const divan = (args: readonly string[], options?: { cwd?: string }): Promise<CliResult> => cli.run(args, options);

const DB = uniqueDbName("cli-resume");
const N = 20;
let server: TestServer;
let store: DocumentStore;
let state: DocumentStore;

beforeAll(async () => {
  cli = await bundleCli();
  server = await startTestServer();
  await seed(server.url, DB, Array.from({ length: N }, (_, n) => todoV1(n)));
  store = httpStore(`${server.url}/${DB}`);
  // The CLI's default state database, which holds the lease on the database.
  state = httpStore(`${server.url}/${DB}%24divan`);
  await state.create();
});
afterAll(async () => {
  await cli?.remove();
  await store?.close();
  await state?.close();
  if (server !== undefined) for (const db of [DB, `${DB}%24divan`]) await drop(server.url, db);
  await server?.close();
});

describe("an interrupted migration through the CLI", () => {
  it("status shows the checkpoint and the held lease, migrate refuses while it is held, then resumes and writes each document once", async () => {
    // The same job `divan migrate --to todo-item@3` runs, stopped after its first page.
    const stop = new AbortController();
    const first = createMigration({ source: store, plan: { graph: createStepGraph(todoSteps), to: { "todo-item": 3, "todo-item-status": 1 } }, batchSize: 5, concurrency: 1, signal: stop.signal });
    first.on("document", () => stop.abort());
    const partial = await first.run();
    expect(partial.completed).toBe(false);
    const cp = await readCheckpoint(store, first.id);
    expect(cp?.phase).toBe("scan");
    expect(cp?.lastKey).toBeDefined();
    const done = partial.totals.migrated;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(N);
    // Another runner holds the lease on the database.
    await acquireLease(state, DB, "other-host-4711", 10 * 60_000, Date.now(), first.id);

    const url = withCredentials(server.url, DB);
    const status = await divan(["status", "--db", url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`migration ${first.id}:`);
    expect(status.stdout).toContain(`  phase scan, last key ${String(cp?.lastKey)},`);
    expect(status.stdout).toContain(`  read ${cp?.totals.read}, written ${cp?.totals.written}, migrated ${done},`);
    expect(status.stdout).toMatch(/^ {2}lease: held by other-host-4711 until \d{4}-\d\d-\d\dT/m);
    expect(status.stdout).toContain(`  todo-item@3: ${done}`);
    expect(status.stdout).toContain(`  todo-item@1: ${N - done}`);

    const refused = await divan(["migrate", "--db", url, "--to", "todo-item@3"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/other-host-4711.*\[LEASE_HELD\]/);
    expect(refused.stdout).not.toContain("done in");

    await releaseLease(state, DB, "other-host-4711");
    const resumed = await divan(["migrate", "--db", url, "--to", "todo-item@3"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("(resumed from checkpoint)");
    expect(resumed.stdout).toMatch(new RegExp(`migrated ${N - done}, `));

    const docs = await allDocs(server.url, DB);
    expect(docs.size).toBe(2 * N);
    for (let n = 0; n < N; n++) {
      const id = `t${String(n).padStart(2, "0")}`;
      // first revision from the seed, second from the one migration that wrote it
      expect(docs.get(`todo-item:${id}`), id).toMatchObject({ version: 3, title: `todo ${n}`, _rev: expect.stringMatching(/^2-/) });
      expect(docs.get(`todo-item-status:${id}`), id).toMatchObject({ status: n % 2 === 0 ? "done" : "active", _rev: expect.stringMatching(/^1-/) });
    }
  });
});
