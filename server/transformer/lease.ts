/**
 * The lease that lets one transformer service at a time transform a set of databases: taken, renewed and given up
 * in a loop that starts the transformer while it holds the lease and stops it when the lease is lost.
 */
import { isDivanError, messageOf } from "../../core/errors.js";
import { acquireLease, readLease, releaseLease } from "../../strategies/runner/local.js";
import { openStore } from "../../store/open.js";
import type { DocumentStore } from "../../store/port.js";
import { defaultStateDb } from "../commands/migrate.js";

/** What the loop needs: the lease, and what to start and stop with it. */
export interface LeaseLoopOptions {
  /** The lease document's key in the state database (`transform:<databases>`). */
  readonly key: string;
  /** The state database; when absent, the default one of `firstUrl` is opened (and closed on release). */
  readonly store: DocumentStore | undefined;
  /** URL of the first configured database, for the default state database. */
  readonly firstUrl: string;
  readonly owner: string;
  readonly ttlMs: number;
  /** How often a waiting service tries again. */
  readonly retryMs: number;
  /** Starts transforming (called once the lease is held). */
  readonly start: () => Promise<void>;
  /** Stops transforming (called when the lease is lost). */
  readonly stop: () => Promise<void>;
  readonly log?: ((line: string) => void) | undefined;
}

/** A running lease loop. */
export interface LeaseLoop {
  /** Whether this service holds the lease now. */
  readonly held: () => boolean;
  /** Resolves once the lease is held for the first time. */
  readonly leading: Promise<void>;
  /** The current owner of the lease (null when free or expired). */
  readonly owner: () => Promise<string | null>;
  /** Stops trying (the current attempt finishes). */
  readonly stop: () => Promise<void>;
  /** Releases the lease when held and closes a state database it opened. */
  readonly release: () => Promise<void>;
}

/** Takes the lease (at once when free, else when it is released or expires) and keeps it renewed; see {@link LeaseLoop}. */
export async function startLeaseLoop(options: LeaseLoopOptions): Promise<LeaseLoop> {
  const { key, owner, log } = options;
  const ttl = options.ttlMs;
  const ownState = options.store === undefined;
  const state = options.store ?? (await openStore(defaultStateDb(options.firstUrl)));
  let held = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let tick: Promise<void> = Promise.resolve();
  let becameLeader: () => void = () => {};
  const leading = new Promise<void>((resolve) => (becameLeader = resolve));
  const step = async (): Promise<void> => {
    if (closed) return;
    try {
      await acquireLease(state, key, owner, ttl, Date.now());
      if (!held) {
        held = true;
        await options.start();
        becameLeader();
      }
    } catch (e) {
      if (!isDivanError(e, "LEASE_HELD") && !isDivanError(e, "STORE_UNAVAILABLE")) log?.(`transformer lease on ${key}: ${messageOf(e)}`);
      if (held) {
        held = false;
        log?.(`transformer lease on ${key} lost: stopping until it is free`);
        await options.stop();
      }
    }
    if (!closed) timer = setTimeout(() => (tick = step()), held ? Math.max(10, Math.floor(ttl / 3)) : options.retryMs);
  };
  await step();
  return {
    held: () => held,
    leading,
    owner: async () => {
      const current = await readLease(state, key);
      return current !== undefined && current.expiresAt > Date.now() ? current.owner : null;
    },
    stop: async () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await tick;
    },
    release: async () => {
      if (held) await releaseLease(state, key, owner).catch(() => undefined);
      if (ownState) await state.close();
    },
  };
}
