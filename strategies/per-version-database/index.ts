/**
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
 *   go through the device's own connection (`device.server`), so the harness measures them and an offline
 *   device starts from an empty database that its first sync fills;
 * - the transformer runs live from `prepareServer` on (so a device that syncs right after another one
 *   sees its translated edits); `settle` also drains it;
 * - `retire` stops translating into and out of the retired version; its database is kept (old clients
 *   read the support notice there) unless `dropRetired` is set.
 *
 * The steps are the ones the server context carries (the harness passes the todo app's); options can override them.
 */
import type { StepDefinition } from "../../adapters/steps.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { createTransformer, type Transformer, type TransformerSide } from "../transformer/transformer.js";
import { appMajor, shapeOfMajor, versionSuffix } from "../versions.js";
import type { DeviceBinding, DeviceContext, ReleaseResult, RetireResult, ServerContext, Strategy } from "../types.js";

/** Options of {@link createPerVersionDatabaseStrategy}. */
export interface PerVersionDatabaseOptions {
  /** Steps between the versions (default: the todo example's). */
  readonly steps?: readonly StepDefinition[];
  /** `change` (default): databases for the old and new app versions only; `all`: also every major in between. */
  readonly versions?: "change" | "all";
  /** Destroy the retired version's database on `retire` (default `false`: keep it for old clients to read the notice). */
  readonly dropRetired?: boolean;
}

/** Creates the `per-version-database` strategy. */
export function createPerVersionDatabaseStrategy(options: PerVersionDatabaseOptions = {}): Strategy {
  let transformer: Transformer | undefined;
  const sides = new Map<number, TransformerSide>();

  const sideFor = async (server: ServerContext, major: number): Promise<TransformerSide> => {
    const store: DocumentStore = await server.open(versionSuffix(major));
    return { name: `v${major}`, store, shape: shapeOfMajor(server.apps, major) };
  };
  const bind = (local: DocumentStore, device: DeviceContext): DeviceBinding => ({
    store: local,
    sync: [{ local, database: versionSuffix(appMajor(device.app)) }],
  });

  return {
    name: "per-version-database",
    description:
      "One database per schema major, kept in step by bidirectional server transformers; every app version replicates with its own database.",
    taxonomy: { storage: "multi-db", timing: "eager", place: "server" },
    change: { from: "1.0.0", to: "3.0.0" },
    caveats: [
      {
        invariant: "apps-read-their-data",
        when: "offline-upgrade",
        reason: "the new version's documents are made on the server: a device that installs the new app offline reads its data after its next sync",
      },
    ],
    migrationCode: "steps",

    async prepareServer(server) {
      const from = server.apps.find((a) => a.version === this.change.from);
      if (from === undefined) throw new DivanError("CONFIG_INVALID", `no manifest for app ${this.change.from}`);
      const side = await sideFor(server, appMajor(from));
      sides.set(appMajor(from), side);
      transformer = createTransformer({ sides: [side], steps: options.steps ?? server.steps, retryMs: 200 });
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
      // Through the device's own connection, so the traffic is measured and an offline device does not
      // reach the server: it then starts from an empty database that its first sync fills.
      try {
        for (const channel of previous.sync) await replicate(channel.local, await device.server(channel.database));
        await transformer?.drain();
        await replicate(await device.server(versionSuffix(appMajor(device.app))), local);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
        // Offline: the old database keeps its channel, so what the old app wrote is pushed on the next sync.
        const binding = bind(local, device);
        return { store: binding.store, sync: [...previous.sync, ...binding.sync] };
      }
      return bind(local, device);
    },

    async settle() {
      await transformer?.drain();
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
