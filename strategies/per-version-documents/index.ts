/**
 * `per-version-documents`: every version of a document side by side in one database, kept in step by transformers.
 *
 * `per-version-documents` ("Chesterfield", issue 10): every version of a document side by side in one
 * server database (`task:<id>:v:1` next to `task:<id>:v:3`), kept in step by the shared
 * transformer core (`strategies/transformer/`) with the multi-version id scheme — one database is both
 * source and target. Each app version replicates only its own documents through a channel (a Mango
 * selector, `strategies/channels.ts`); an upgraded device compacts its local database by filtered
 * replication; retiring an app version stops translating into its side (what old devices still push is
 * translated out of it), deletes (or purges) what only it needed and the supported versions hold
 * translated, and leaves the `divan-retired` signal in its channel.
 *
 * Taxonomy: multi-version storage, eager, server-side.
 *
 * On a device the app reads and writes plain ids (`task:<id>`) through {@link versionView}, which
 * maps them to the versions of the app's shape; the device's database holds the versioned ids that
 * replicate.
 */
import { identityOf } from "../catalog.js";
import semver from "semver";
import type { StepDefinition } from "../../adapters/steps.js";
import { multiVersionIds } from "../../adapters/ids.js";
import { DivanError } from "../../core/errors.js";
import type { Fault } from "../../core/faults.js";
import type { ChannelForm } from "../channels.js";
import { endStaleTranslations } from "../transformer/stale.js";
import { createTransformer, type Transformer } from "../transformer/transformer.js";
import type { DocumentStore } from "../../store/port.js";
import type { StrategyOptions, AppVersion, ReleaseResult, RetireResult, ServerContext, Strategy, VersionShape } from "../types.js";
import { removeVersions, retiredVersions, type Removal } from "../retire.js";
import { deviceSide } from "./device.js";
import { writeRetiredGuard, writeRetirement } from "./retire.js";

/** Options of {@link createPerVersionDocumentsStrategy}. */
export interface PerVersionDocumentsOptions extends StrategyOptions {
  /** The app's steps between adjacent shapes (default: the ones the server and device contexts carry). */
  steps?: readonly StepDefinition[];
  /** The app team's migration code (default `"steps"`: the app's step modules). */
  migrationCode?: Strategy["migrationCode"];
  /**
   * Channel form devices replicate with. `exact` (default): only the app's own versions, the least
   * traffic; an upgrading device pulls its new versions once. `newer` (chesterfield's seamless upgrade):
   * devices also receive newer versions ahead of their upgrade, so compaction finds them locally.
   * `none`: devices replicate the whole multi-version database (the baseline that shows what channels
   * save); an upgrade still compacts to the new versions.
   */
  channel?: ChannelForm | "none";
  /** How retired documents are removed (default `delete`; `purge` needs CouchDB's `_purge`). */
  removal?: Removal;
  /**
   * After a retirement, refuse writes of the retired versions on the server (`_design/divan-retired`,
   * `403 divan-retired: …`), so an old client learns by an error (default `false`). The refused writes stay
   * on the old device: what it wrote before the retirement and pushes after it then never reaches the new
   * app. Without the guard such writes are accepted and translated (the retired side stays a source).
   */
  guard?: boolean;
  /**
   * `live` (default): the transformer follows the server's `_changes` and translates as documents
   * arrive; `settle` waits until it caught up. `drain`: it only runs inside `settle` (deterministic, but
   * an old app sees a new entity only after a settle).
   */
  mode?: "live" | "drain";
  /** Transformer retry interval for waiting entities, in ms (default the core's). */
  retryMs?: number;
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  faults?: readonly Fault[];
}

/** The `_local` checkpoint id of this strategy's transformer. */
const CHECKPOINT_ID = "divan-per-version-documents";

/**
 * The documents of `translated` (id → revision) that hold no conflicting leaf: only a winner is translated, so ending
 * it would leave a losing leaf (an older edit the users' conflict kept) as the document's winner, which the retired
 * side, still a source, would then translate over the newer edit. Such a document stays, as untranslated ones do.
 */
async function withoutConflicts(store: DocumentStore, translated: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ids = [...translated.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const page = await store.allDocs({ keys: ids.slice(i, i + 500), includeDocs: true, conflicts: true });
    for (const row of page.rows) {
      const conflicts = row.doc?.["_conflicts"];
      const rev = translated.get(row.id);
      if (rev !== undefined && (!Array.isArray(conflicts) || conflicts.length === 0)) out.set(row.id, rev);
    }
  }
  return out;
}

/** Creates the `per-version-documents` strategy. */
export function createPerVersionDocumentsStrategy(options: PerVersionDocumentsOptions): Strategy {
  const removal: Removal = options.removal ?? "delete";
  const mode = options.mode ?? "live";
  let transformer: Transformer | undefined;
  const supported = new Map<string, VersionShape>();
  const device = deviceSide(options);

  const started = (): Transformer => {
    if (transformer === undefined) {
      throw new DivanError("CONFIG_INVALID", "per-version-documents: prepareServer must run before release, settle or retire.");
    }
    return transformer;
  };

  return {
    ...identityOf("per-version-documents", options.change),
    caveats: [],
    migrationCode: options.migrationCode ?? "steps",

    async prepareServer(server: ServerContext): Promise<void> {
      const from = options.change.from;
      const app = server.apps.find((a) => a.version === from);
      if (app === undefined) throw new DivanError("CONFIG_INVALID", `per-version-documents: no manifest for app ${from}.`, { details: { app: from } });
      supported.set(app.version, app.shape);
      transformer = createTransformer({
        sides: [{ name: app.version, store: server.main, shape: { ...app.shape } }],
        steps: options.steps ?? server.steps,
        ids: multiVersionIds,
        checkpointId: CHECKPOINT_ID,
        // As upgrading devices write the translations they store: the same translation, the same revision.
        deterministicRevs: true,
        ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
      });
      if (mode === "live") await transformer.start();
    },

    async release(server: ServerContext, from: AppVersion, to: AppVersion): Promise<ReleaseResult> {
      const t = started();
      if (!supported.has(from.version)) {
        throw new DivanError("CONFIG_INVALID", `per-version-documents: app ${from.version} is not supported, so it cannot seed ${to.version}.`, {
          details: { from: from.version, to: to.version },
        });
      }
      await t.drain();
      // Eager back-fill: every entity gets its documents of the new shape now.
      const written = await t.addSide({ name: to.version, store: server.main, shape: { ...to.shape } }, from.version);
      supported.set(to.version, to.shape);
      return { downtimeMs: 0, documentsWritten: written };
    },

    openDevice: device.openDevice,
    upgradeDevice: device.upgradeDevice,

    // `drain` mode translates inside `settle` only.
    ...(mode === "live" ? { caughtUp: async (): Promise<void> => void (await started().idle()) } : {}),

    async settle(): Promise<void> {
      const t = started();
      await (mode === "live" ? t.idle() : t.drain());
      // Two translations of one revision that met (an upgrading device's and the server's): one stays.
      // The same scan `divan serve --transform` runs on start and every `staleScanMs`.
      await endStaleTranslations(t);
    },

    async retire(server: ServerContext, app: AppVersion): Promise<RetireResult> {
      const t = started();
      await t.drain();
      const shape = supported.get(app.version);
      if (shape === undefined) return { purgedDocs: 0, detail: `app ${app.version} was not supported: nothing to remove` };
      supported.delete(app.version);
      // Nothing is translated into the retired side any more; what old devices still push is translated out.
      await t.retireSide(app.version);
      const kept = [...supported.values()];
      const versions = retiredVersions(shape, kept);
      const removed = await removeVersions(server.main, versions, { removal, only: await withoutConflicts(server.main, await t.translated(app.version)) });
      const minimum = semver.sort([...supported.keys()])[0] ?? app.version;
      const list = Object.entries(versions).map(([type, v]) => `${type}@${v.join(",")}`).join(", ") || "nothing";
      const message = `App ${app.version} is no longer supported: please update to ${minimum} or later.`;
      if (options.guard === true && Object.keys(versions).length > 0) await writeRetiredGuard(server.main, versions, message);
      await writeRetirement(server.main, {
        app: app.version,
        shape,
        minimumVersion: minimum,
        message,
        removal,
      });
      return {
        purgedDocs: removed,
        detail: `stopped translating into the ${app.version} side, ${removal === "delete" ? "deleted" : "purged"} ${removed} ${list} document(s) the supported versions hold translated, wrote the divan-retired signal its channel carries${options.guard === true ? " and refuses new writes of those versions" : "; what old devices still push is translated"}`,
      };
    },

    async close(): Promise<void> {
      const t = transformer;
      transformer = undefined;
      await t?.stop();
    },
  };
}
