/**
 * The migration lease is exclusive on every backend: an ordinary document in a state database, written with the
 * revision just read, so a stale or missing `_rev` gets `CONFLICT` — on CouchDB 3 too, which does not check the
 * revision of `_local` documents (where the lease used to be).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDivanError } from "../../core/errors.js";
import { acquireLease, leaseId, readLease, releaseLease } from "../../strategies/runner/local.js";
import type { DocumentStore } from "../../store/port.js";
import { storeBackends } from "../support/backends.js";

/** How two contenders fared: `won` took the lease, `held` got LEASE_HELD. */
async function race(attempts: readonly Promise<void>[]): Promise<("won" | "held")[]> {
  const settled = await Promise.allSettled(attempts);
  return settled.map((s) => {
    if (s.status === "fulfilled") return "won";
    if (isDivanError(s.reason, "LEASE_HELD")) return "held";
    throw s.reason;
  });
}

for (const backend of storeBackends()) {
  describe.skipIf(backend.skipReason !== undefined)(`migration lease: ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it("of two acquireLease calls at the same moment, exactly one wins, for a free lease and for an expired one", async () => {
      const state = await backend.newStore();
      for (let round = 0; round < 5; round++) {
        const db = `db-${round}`;
        const now = Date.now();
        expect((await race([acquireLease(state, db, "a", 60_000, now), acquireLease(state, db, "b", 60_000, now)])).sort()).toEqual(["held", "won"]);
        // Expired: both see the same stale revision; one write wins, the other gets CONFLICT.
        const later = now + 120_000;
        const outcome = await race([acquireLease(state, db, "c", 60_000, later), acquireLease(state, db, "d", 60_000, later)]);
        expect(outcome.sort()).toEqual(["held", "won"]);
        expect(["c", "d"]).toContain((await readLease(state, db))?.owner);
      }
    });

    it("refuses another owner while the lease is unexpired, lets its owner renew and release it, and lives in an ordinary document", async () => {
      const state = await backend.newStore();
      const now = Date.now();
      await acquireLease(state, "db", "me", 1_000, now, "to-x");
      const other = await acquireLease(state, "db", "you", 1_000, now + 500).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDivanError(other, "LEASE_HELD")).toBe(true);
      expect((other as Error).message).toContain('migration to-x on db is running under owner "me"');
      await acquireLease(state, "db", "me", 1_000, now + 900); // renewal
      expect((await readLease(state, "db"))?.expiresAt).toBe(now + 1_900);
      await releaseLease(state, "db", "you"); // not the owner: nothing happens
      expect((await readLease(state, "db"))?.owner).toBe("me");
      expect((await state.get(leaseId("db")))["owner"]).toBe("me");
      await releaseLease(state, "db", "me");
      expect(await readLease(state, "db")).toBeUndefined();
      await acquireLease(state, "db", "you", 1_000, now + 1_000);
      expect((await readLease(state, "db"))?.owner).toBe("you");
    });

    it("is released even when the owner's own renewal lands between the release's read and its delete", async () => {
      const inner = await backend.newStore();
      const now = Date.now();
      await acquireLease(inner, "db", "me", 30_000, now);
      let renewed = false;
      const state: DocumentStore = Object.create(inner) as DocumentStore;
      state.remove = async (id: string, rev: string) => {
        if (!renewed) {
          renewed = true;
          await acquireLease(inner, "db", "me", 30_000, now + 10_000); // the renewal, still in flight when the run ended
        }
        return inner.remove(id, rev);
      };
      await releaseLease(state, "db", "me");
      expect(renewed).toBe(true);
      expect(await readLease(inner, "db")).toBeUndefined();
    });
  });
}
