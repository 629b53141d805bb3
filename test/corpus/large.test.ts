/**
 * The corpus at 20,000+ documents on CouchDB (`COUCHDB_URL`), with 14,000 schema-invalid documents whose long ids
 * make the quarantine larger than CouchDB's 8 MB document limit: one `_local` document could not hold it (HTTP 413,
 * and the checkpoint counted records that were never stored). The quarantine is paged: every record is stored,
 * the counts match, and the in-place migration and rollback account for every original document. Without
 * `COUCHDB_URL` it is skipped with a printed reason (the embedded server has no document size limit to hit).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpStore } from "../../store/http.js";
import type { DocumentStore } from "../../store/port.js";
import { quarantineCount, quarantineId, readJobs, readQuarantine } from "../../strategies/runner/local.js";
import { uniqueDbName } from "../support/backends.js";
import { externalServerUrl } from "../support/server.js";
import { bundleCli, drop, withCredentials, type BundledCli } from "../cli/support.js";
import { generateCorpus, type Corpus } from "./generator.js";
import { quarantines, seedCorpus, snapshot, unaccounted } from "./support.js";

const couch = externalServerUrl();
const INVALID = 14_000;
if (couch === undefined) console.info("[corpus] skipping the 20,000-document CouchDB corpus: COUCHDB_URL is not set (set it, e.g. http://admin:password@127.0.0.1:5984, to run it)");

describe.skipIf(couch === undefined)("the corpus at 20,000+ documents on CouchDB, with a quarantine over 8 MB", () => {
  let cli: BundledCli;
  let corpus: Corpus;
  let store: DocumentStore;
  const name = uniqueDbName("corpus-large");
  beforeAll(async () => {
    cli = await bundleCli();
    corpus = generateCorpus(20_000, { v1: 6_000, invalid: INVALID, invalidIdPadding: 200 });
    await seedCorpus(couch!, name, corpus);
    store = httpStore(`${couch!}/${name}`);
  }, 300_000);
  afterAll(async () => {
    await store?.close();
    for (const db of [name, `${name}%24divan`]) await drop(couch!, db);
    await cli?.remove();
  });

  it("stores every quarantine record in pages (counts match what is stored), and migrate + rollback account for every original document", async () => {
    expect(corpus.docCount).toBeGreaterThanOrEqual(20_000);
    const url = withCredentials(couch!, name);
    const before = await snapshot(store, corpus.locals.map((l) => l._id));
    const migrated = await cli.run(["migrate", "--db", url, "--to", "3.0.0"]);
    expect(migrated.stderr).toBe("");
    expect(migrated.code).toBe(1);
    const [job] = await readJobs(store);
    const records = await readQuarantine(store, job!.id);
    expect(records.length).toBeGreaterThan(INVALID);
    expect(await quarantineCount(store, job!.id)).toBe(records.length);
    expect(migrated.stdout).toContain(`quarantined ${records.length},`);
    expect(JSON.stringify(records).length).toBeGreaterThan(8_000_000);
    const head = await store.getLocal(quarantineId(job!.id));
    for (let n = 0; n < Number(head?.["pages"]); n++) expect(JSON.stringify(await store.getLocal(`${quarantineId(job!.id)}-${n}`)).length).toBeLessThan(1_100_000);
    const status = await cli.run(["status", "--db", url]);
    expect(status.stdout).toContain(`  quarantine: ${records.length} document(s)`);

    const rolledBack = await cli.run(["rollback", "--db", url, "--to", "1.0.0"]);
    expect(rolledBack.stderr).toBe("");
    expect(rolledBack.code).toBe(1);
    const after = await snapshot(store, corpus.locals.map((l) => l._id));
    expect(unaccounted(corpus, before, after, await quarantines(store))).toEqual([]);
  }, 600_000);
});
