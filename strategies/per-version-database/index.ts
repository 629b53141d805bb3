/**
 * `per-version-database`: one server database per schema major, kept in step by transformers.
 *
 * `per-version-database` (issue 9): one server database per schema major (`<db>-v1`, `<db>-v3`), kept
 * in step by bidirectional transformers (the core in `strategies/transformer/`); every device
 * replicates, unfiltered, with the database of its app version, so old and new apps see every user's
 * data in the shape they read. Taxonomy: multi-db · eager · server.
 *
 * - `prepareServer` opens the database of the old app version; `release` opens the new one and
 *   back-fills it through the transformer (every entity translated, idempotent);
 * - an upgraded device pushes what its old local database has not synced yet to the old version
 *   database, and starts a fresh local database filled from its new version database (the old local
 *   database keeps old-version documents under the same ids, so it cannot be reused); both replications
 *   go through the device's own connection (`device.server`), so the harness measures them. Until the
 *   device holds the translation of everything in its old database (it upgraded offline, or before the
 *   server translated it), its new app reads that through a transformer of its own and keeps the old
 *   database's channel (see `upgrading`);
 * - the transformer runs live from `prepareServer` on (so a device that syncs right after another one
 *   sees its translated edits); `settle` also drains it;
 * - `retire` stops translating into and out of the retired version; its database is kept (old clients
 *   read the support notice there) unless `dropRetired` is set.
 *
 * The steps are the ones the server context carries (the app's, from its config); options can override them.
 */
import { identityOf } from "../catalog.js";
import { singleVersionIds } from "../../adapters/ids.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { lazyAccess } from "../transformer/lazy-access.js";
import { endStaleTranslations } from "../transformer/stale.js";
import { createTransformer, type Transformer, type TransformerSide } from "../transformer/transformer.js";
import { appMajor, shapeOfMajor, versionSuffix } from "../versions.js";
import type { AppVersion, DeviceBinding, DeviceContext, ReleaseResult, RetireResult, ServerContext, Strategy, StrategyOptions } from "../types.js";

/** Options of {@link createPerVersionDatabaseStrategy}. */
export interface PerVersionDatabaseOptions extends StrategyOptions {
  /** Steps between the versions (default: the ones the server context carries). */
  readonly steps?: readonly StepDefinition[];
  /** `change` (default): databases for the old and new app versions only; `all`: also every major in between. */
  readonly versions?: "change" | "all";
  /** Destroy the retired version's database on `retire` (default `false`: keep it for old clients to read the notice). */
  readonly dropRetired?: boolean;
}

async function sideFor(server: ServerContext, major: number): Promise<TransformerSide> {
  const store: DocumentStore = await server.open(versionSuffix(major));
  return { name: `v${major}`, store, shape: shapeOfMajor(server.apps, major) };
}

function bind(local: DocumentStore, device: DeviceContext): DeviceBinding {
  return { store: local, sync: [{ local, database: versionSuffix(appMajor(device.app)) }] };
}

/**
 * Whether the old version's server database (`remote`) holds every deletion of an old-version document that
 * `old` (an upgrading device's old local database) holds: the old app's deletions reach the new version through
 * the server's transformer only, since the device's new database may not hold the translation they delete.
 * False while offline.
 */
async function deletionsPushed(old: DocumentStore, oldShape: Readonly<Record<string, number>>, remote: () => Promise<DocumentStore>): Promise<boolean> {
  const revs: Record<string, string[]> = {};
  for (const c of (await old.changes({})).results) {
    if (c.deleted === true && c.changes[0] !== undefined && oldShape[singleVersionIds.parse(c.id)?.type ?? ""] !== undefined) revs[c.id] = [c.changes[0].rev];
  }
  if (Object.keys(revs).length === 0) return true;
  try {
    return Object.values(await (await remote()).revsDiff(revs)).every((d) => d.missing.length === 0);
  } catch (e) {
    if (isDivanError(e, "STORE_UNAVAILABLE")) return false;
    throw e;
  }
}

/**
 * A device that installed the new app version, holding old-version documents whose translations it has
 * not received yet (it upgraded offline, or before the server translated them): until it has, it reads
 * them translated by a transformer of its own (from the old database into the new one only: the server
 * translates the new app's edits back; deterministic revisions, as the server writes them, so what it
 * stores when its app edits meets the server's translation without a conflict, and what still meets,
 * `settle` ends), and keeps replicating its old database. At the first sync after which everything it
 * holds is translated, it drops the old database's channel.
 */
async function upgrading(
  device: DeviceContext,
  from: AppVersion,
  previous: DeviceBinding,
  local: DocumentStore,
  steps: readonly StepDefinition[],
): Promise<DeviceBinding> {
  const old = previous.sync[0]?.local ?? device.local;
  const oldSide = `v${appMajor(from)}`;
  const newSide = `v${appMajor(device.app)}`;
  const oldShape = shapeOfMajor(device.apps, appMajor(from));
  const t = createTransformer({
    sides: [
      { name: oldSide, store: old, shape: oldShape },
      { name: newSide, store: local, shape: shapeOfMajor(device.apps, appMajor(device.app)) },
    ],
    steps,
    deterministicRevs: true,
  });
  await t.retireSide(oldSide);
  const oldDatabase = previous.sync[0]?.database ?? versionSuffix(appMajor(from));
  const done = async (): Promise<DeviceBinding | undefined> => {
    const held = (await old.allDocs()).rows.filter((r) => oldShape[singleVersionIds.parse(r.id)?.type ?? ""] !== undefined);
    const translated = await t.translated(oldSide);
    if (held.some((r) => translated.get(r.id) !== r.value?.rev)) return undefined;
    if (!(await deletionsPushed(old, oldShape, () => device.server(oldDatabase)))) return undefined;
    await t.stop();
    return bind(local, device);
  };
  const now = await done();
  if (now !== undefined) return now;
  return { store: lazyAccess(local, [old], newSide, () => t), sync: [...previous.sync, ...bind(local, device).sync], synced: done };
}

/** Creates the `per-version-database` strategy. */
export function createPerVersionDatabaseStrategy(options: PerVersionDatabaseOptions): Strategy {
  let transformer: Transformer | undefined;
  const sides = new Map<number, TransformerSide>();

  return {
    ...identityOf("per-version-database", options.change),
    caveats: [],
    migrationCode: "steps",

    async prepareServer(server) {
      const from = server.apps.find((a) => a.version === this.change.from);
      if (from === undefined) throw new DivanError("CONFIG_INVALID", `no manifest for app ${this.change.from}`);
      const side = await sideFor(server, appMajor(from));
      sides.set(appMajor(from), side);
      // Deterministic revisions, as upgrading devices write the translations they store: the same translation, the same revision.
      transformer = createTransformer({ sides: [side], steps: options.steps ?? server.steps, retryMs: 200, deterministicRevs: true });
      await transformer.start();
    },

    async release(server, from, to): Promise<ReleaseResult> {
      if (transformer === undefined) throw new DivanError("CONFIG_INVALID", "release before prepareServer");
      const lo = appMajor(from);
      const hi = appMajor(to);
      const majors = options.versions === "all" ? Array.from({ length: hi - lo }, (_, i) => lo + 1 + i) : [hi];
      let written = 0;
      for (const major of majors) {
        if (sides.has(major)) continue;
        const side = await sideFor(server, major);
        sides.set(major, side);
        written += await transformer.addSide(side, `v${lo}`);
      }
      return { downtimeMs: 0, documentsWritten: written };
    },

    openDevice: async (device) => bind(device.local, device),

    async upgradeDevice(device, from, previous) {
      if (appMajor(from) === appMajor(device.app)) return previous;
      const local = await device.openLocal(versionSuffix(appMajor(device.app)));
      // Through the device's own connection, so the traffic is measured: push what the old app wrote, pull
      // the new version's database. Offline: both later.
      try {
        for (const channel of previous.sync) await replicate(channel.local, await device.server(channel.database));
        await transformer?.drain();
        await replicate(await device.server(versionSuffix(appMajor(device.app))), local);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
      }
      return upgrading(device, from, previous, local, options.steps ?? device.steps);
    },

    async caughtUp() {
      await transformer?.drain();
    },

    async settle() {
      if (transformer === undefined) return;
      await transformer.drain();
      // Two translations of one revision that met (an upgrading device's and the server's): one stays.
      // The same scan `divan serve --transform` runs on start and every `staleScanMs`.
      await endStaleTranslations(transformer);
    },

    async retire(server, app): Promise<RetireResult> {
      const major = appMajor(app);
      const side = sides.get(major);
      if (side === undefined || transformer === undefined) return { purgedDocs: 0, detail: `no database for version ${major}` };
      if (options.dropRetired !== true) {
        // Old devices that were offline push later: their writes are still translated, or they would be lost.
        return { purgedDocs: 0, detail: `${side.store.name} is kept for old clients to read the notice, and what they still push is translated` };
      }
      await transformer.removeSide(side.name);
      sides.delete(major);
      const purged = (await side.store.info()).docCount;
      await side.store.destroy();
      return { purgedDocs: purged, detail: `transformer for ${side.name} stopped and ${side.store.name} destroyed` };
    },

    async close() {
      await transformer?.stop();
    },
  };
}
