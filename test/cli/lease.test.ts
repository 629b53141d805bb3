/**
 * Two `divan migrate` processes started together on the same database (the test server: embedded, or CouchDB
 * at `COUCHDB_URL`): exactly one migrates, the other reports `LEASE_HELD` and changes nothing. The lease is an
 * ordinary document in `<db>$divan`, so this holds on CouchDB 3 too, which does not check `_local` revisions.
 *
 * Both reach the database through a gate (a forwarding proxy) that makes them race for the lease at the same
 * moment — it holds each one's first read of the lease until both have asked — and then holds every scan request
 * (`_all_docs`) until one of the two has exited, or both are scanning (both got the lease: the test fails): so the
 * outcome does not depend on how the two processes are scheduled.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { allDocs, drop, seed, todoV1, withCredentials, bundleCli, type BundledCli, type CliResult } from "./support.js";

let cli: BundledCli;
/** The CLI, bundled once for this file: it starts in a fraction of the time tsx needs. */
const divan = (args: readonly string[], options?: { cwd?: string }): Promise<CliResult> => cli.run(args, options);

const DB = uniqueDbName("cli-lease");
const N = 30;
let server: TestServer;

/**
 * A proxy to `target` that holds the first two reads of a lease until both have arrived, and the `_all_docs`
 * requests of `db` until `open()` (or until two are waiting).
 */
async function gate(target: string, db: string): Promise<{ url: string; open(): void; close(): Promise<void> }> {
  const to = new URL(target);
  let opened = false;
  const held: (() => void)[] = [];
  const leaseReads: (() => void)[] = [];
  let leaseReadsSeen = 0;
  const open = (): void => {
    opened = true;
    for (const f of held.splice(0)) f();
  };
  const proxy = http.createServer((req, res) => {
    const forward = (): void => {
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    };
    const url = req.url ?? "";
    if (req.method === "GET" && /lease/.test(decodeURIComponent(url)) && leaseReadsSeen < 2) {
      leaseReadsSeen++;
      leaseReads.push(forward);
      if (leaseReadsSeen === 2) for (const f of leaseReads.splice(0)) f();
    } else if (!opened && url.startsWith(`/${db}/_all_docs`)) {
      held.push(forward);
      if (held.length === 2) open();
    } else forward();
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    url,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  cli = await bundleCli();
  server = await startTestServer();
  await seed(server.url, DB, Array.from({ length: N }, (_, n) => todoV1(n)));
});
afterAll(async () => {
  await cli?.remove();
  if (server !== undefined) for (const db of [DB, `${DB}%24divan`]) await drop(server.url, db);
  await server?.close();
});

describe("two divan migrate processes on one database", () => {
  it("started together: exactly one migrates (every document once), the other exits 2 with LEASE_HELD", async () => {
    const g = await gate(server.url, DB);
    try {
      // The gate's URL with the server's credentials (COUCHDB_URL's, or any for the embedded server).
      const base = new URL(g.url);
      const own = new URL(server.url);
      base.username = own.username;
      base.password = own.password;
      const url = withCredentials(base.toString().replace(/\/$/, ""), DB);
      const runs = [0, 1].map(() => divan(["migrate", "--db", url, "--to", "todo-item@3"]));
      const first = await Promise.race(runs);
      g.open();
      const [a, b] = await Promise.all(runs);
      expect(first.code).toBe(2);
      const loser = [a!, b!].filter((r) => r.code === 2);
      const winner = [a!, b!].filter((r) => r.code === 0);
      expect(loser, `${a!.stderr}\n${b!.stderr}`).toHaveLength(1);
      expect(winner, `${a!.stderr}\n${b!.stderr}`).toHaveLength(1);
      expect(loser[0]!.stderr).toMatch(/\[LEASE_HELD\]/);
      expect(loser[0]!.stdout).not.toContain("done in");
      expect(winner[0]!.stdout).toMatch(new RegExp(`migrated ${N}, `));
    } finally {
      g.open();
      await g.close();
    }
    const docs = await allDocs(server.url, DB);
    expect(docs.size).toBe(2 * N);
    for (const d of docs.values()) expect(d._rev, d._id).toMatch(d._id.startsWith("todo-item-status:") ? /^1-/ : /^2-/);
  });
});
