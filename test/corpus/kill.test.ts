/**
 * The corpus (`generator.ts`, over 10,000 documents) migrated in place by `divan migrate` processes killed with
 * SIGKILL at 20 random points — mid-scan, mid-write, mid-checkpoint, while quarantined documents are retried — each
 * run resuming where the last one stopped: the database ends identical to one migrated by a single uninterrupted
 * run (ids, bodies, conflict leaves, quarantine), and nothing was written twice (every leaf has the revision
 * generation the uninterrupted run gave it). On the test server: embedded, or `COUCHDB_URL`.
 *
 * A kill point is "after the run's first progress line (for the second half of the kills: its first after the scan),
 * plus a random delay": every run gets past its start-up (lease, checkpoint, quarantine loaded) and makes some
 * progress, so the 20 points spread over the whole migration.
 * The seed is printed on failure (`KILL_SEED=<seed>` replays it).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redact } from "../../core/redact.js";
import { canonicalJson } from "../../strategies/runner/canonical.js";
import { httpStore } from "../../store/http.js";
import type { DocumentStore } from "../../store/port.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { TODO_APP, bundleCli, drop, withCredentials, type BundledCli } from "../cli/support.js";
import { generateCorpus, type Corpus } from "./generator.js";
import { body, quarantines, seedCorpus, snapshot, type Snapshot } from "./support.js";

const KILLS = 20;
let server: TestServer;
let cli: BundledCli;
let corpus: Corpus;
const dbs: string[] = [];
const stores: DocumentStore[] = [];

beforeAll(async () => {
  server = await startTestServer();
  cli = await bundleCli();
  corpus = generateCorpus(7);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  if (server !== undefined) for (const db of dbs) await drop(server.url, db);
  await cli?.remove();
  await server?.close();
});

async function corpusDb(prefix: string): Promise<{ url: string; store: DocumentStore }> {
  const name = uniqueDbName(prefix);
  dbs.push(name, `${name}%24divan`);
  await seedCorpus(server.url, name, corpus);
  const store = httpStore(`${server.url}/${name}`);
  stores.push(store);
  return { url: withCredentials(server.url, name), store };
}

/**
 * Runs `divan migrate` on `url`; with `killAfterMs`, SIGKILLs it that long after its first progress line (of phase
 * `killIn`, when given: a run that prints none ends normally), and resolves with the phase of the last progress
 * line it printed (`scan` or `dirty`).
 */
function migrate(url: string, killAfterMs?: number, killIn?: "dirty"): Promise<{ killed: string } | number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli.file, "migrate", "--db", url, "--to", "3.0.0", "--lease-owner", "kill-test"], { cwd: TODO_APP, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let armed = false;
    let phase = "start";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      for (const m of chunk.matchAll(/^progress \d+\/\d+ \((\w+)\)$/gm)) phase = m[1]!;
      if (killAfterMs === undefined || armed || !chunk.includes("progress ") || (killIn !== undefined && phase !== killIn)) return;
      armed = true;
      setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve({ killed: phase });
      else if (code === 0 || code === 1) resolve(code);
      else reject(new Error(`divan migrate exited with ${String(code)}: ${redact(stderr)}`));
    });
  });
}

/** Per id, the bodies of every leaf (revisions apart), sorted. */
function contents(s: Snapshot): Map<string, string[]> {
  return new Map([...s.leaves].map(([id, leaves]) => [id, leaves.map(body).sort()]));
}

describe("the corpus migrated by runs killed with SIGKILL", () => {
  it(`ends, after ${KILLS} kills at random points and a last run, identical to an uninterrupted migration`, async () => {
    let seed = Number(process.env["KILL_SEED"] ?? Date.now() % 100_000);
    const startSeed = seed;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const [reference, victim] = await Promise.all([corpusDb("corpus-kill-ref"), corpusDb("corpus-kill")]);
    const uninterrupted = migrate(reference.url); // alongside the killed runs: another database

    // The first half of the kills lands wherever the run is; the second half after a run reached the pass after the
    // scan (how long the scan takes depends on the machine's load, so random delays alone may never get past it).
    const killedIn: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const outcome = await migrate(victim.url, Math.floor(random() * 600), i < KILLS / 2 ? undefined : "dirty");
      if (typeof outcome === "object") killedIn.push(outcome.killed);
    }
    expect(await migrate(victim.url), `seed ${startSeed}`).toBe(1);
    expect(await uninterrupted).toBe(1); // the corpus has documents to quarantine
    expect(killedIn.length, `seed ${startSeed}: killed in ${killedIn.join(", ")}`).toBeGreaterThanOrEqual(KILLS / 2);
    // during the scan and after it (following _changes, retrying the quarantine)
    expect(new Set(killedIn), `seed ${startSeed}: killed in ${killedIn.join(", ")}`).toEqual(new Set(["scan", "dirty"]));

    const [want, got] = [await snapshot(reference.store), await snapshot(victim.store)];
    expect([...got.leaves.keys()], `seed ${startSeed}`).toEqual([...want.leaves.keys()]);
    const [w, g] = [contents(want), contents(got)];
    const differing = [...w.keys()].filter((id) => canonicalJson(w.get(id)) !== canonicalJson(g.get(id)));
    expect(differing, `seed ${startSeed}`).toEqual([]);
    // nothing written twice: every leaf has the revision generation it has after the uninterrupted run
    const generations = (s: Snapshot): string => canonicalJson([...s.leaves].map(([id, leaves]) => [id, leaves.map((d) => Number.parseInt(String(d._rev), 10)).sort()]));
    expect(generations(got), `seed ${startSeed}`).toBe(generations(want));
    const records = async (s: DocumentStore): Promise<string[]> => [...(await quarantines(s)).values()].map((r) => canonicalJson(r)).sort();
    expect(await records(victim.store), `seed ${startSeed}`).toEqual(await records(reference.store));
  }, 300_000);
});
