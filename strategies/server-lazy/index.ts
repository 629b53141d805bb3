/**
 * `server-lazy`: single-version, lazy, server-side (DESIGN §1) — the server-side twin of `live-adapter`.
 *
 * The server keeps one database; documents stay at whatever version they were written in until someone
 * writes them. A translating proxy (`server/lazy/proxy.ts`, started by this strategy on 127.0.0.1 and
 * injected as a factory) serves one CouchDB-compatible database per app version in front of it. Every
 * device runs the plain app of its version (no adapter) and replicates with its version's database: it
 * reads documents translated to its shape, and its writes are translated up onto the stored newest shape
 * (nothing lost) and stored at the newest version — the write is the migration.
 *
 * Translated documents carry synthetic revisions from the proxy's revision map (`_local` documents of the
 * server database), so a device sees linear history and its own edits come back with the revision it
 * made (no echo, no conflict). Documents of types no step names (settings, the support notice) pass
 * through with their real revisions.
 *
 * Upgrading a device: its pending edits are pushed through the old version's database, then a fresh local
 * database is filled from the new version's (both through the device's measured connection) and the old
 * copy is emptied; an offline device keeps the old database as a second channel until it syncs.
 */
import { DivanError, isDivanError } from "../../core/errors.js";
import { replicate } from "../../store/replicate.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import type { TranslatingProxy, TranslatingProxyFactory } from "../proxy.js";
import type { AppVersion, DeviceBinding, DeviceContext, ReleaseResult, RetireResult, ServerContext, Strategy, SyncChannel } from "../types.js";

/** Options of {@link createServerLazyStrategy}. */
export interface ServerLazyStrategyOptions {
  /** Starts the translating proxy (default: the harness's `ServerContext.translatingProxy`). */
  startProxy?: TranslatingProxyFactory;
}

/** The database name the proxy serves app `version` under (`3.0.0` → `app-3-0-0`). */
export function viewName(version: string): string {
  return `app-${version.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
}

/** Deletes every document of a local database that no longer replicates (its tombstones never leave it). */
async function discard(local: DocumentStore): Promise<void> {
  const page = await local.allDocs();
  const tombstones: Doc[] = page.rows.flatMap((r) => (r.value && !r.value.deleted && !r.id.startsWith("_design/") ? [{ _id: r.id, _rev: r.value.rev, _deleted: true }] : []));
  if (tombstones.length > 0) await local.bulkDocs(tombstones);
}

/** Creates the server-lazy strategy (see the module documentation). */
export function createServerLazyStrategy(options: ServerLazyStrategyOptions = {}): Strategy {
  let proxy: TranslatingProxy | undefined;

  const started = (): TranslatingProxy => {
    if (proxy === undefined) throw new DivanError("CONFIG_INVALID", "server-lazy: prepareServer has not started the translating proxy.");
    return proxy;
  };

  const channelOf = (local: DocumentStore, app: AppVersion): SyncChannel => ({ local, database: "", remoteUrl: started().urlOf(viewName(app.version)) });

  return {
    name: "server-lazy",
    description:
      "A translating proxy serves the one server database as a database per app version: plain apps of every version replicate with their own, reads translate, writes migrate the documents they touch.",
    taxonomy: { storage: "single-version", timing: "lazy", place: "server" },
    change: { from: "1.0.0", to: "3.0.0" },
    caveats: [],
    migrationCode: "steps",
    async prepareServer(server: ServerContext): Promise<void> {
      const start = options.startProxy ?? server.translatingProxy;
      if (start === undefined) {
        throw new DivanError("CONFIG_INVALID", "server-lazy needs a translating proxy: pass startProxy (startLazyProxy from divan/server) or ServerContext.translatingProxy.");
      }
      await proxy?.close();
      proxy = await start({
        store: server.main,
        registry: server.registry,
        steps: server.steps,
        views: server.apps.map((a) => ({ name: viewName(a.version), shape: a.shape })),
      });
    },
    release: async (): Promise<ReleaseResult> => ({ downtimeMs: 0, documentsWritten: 0 }),
    openDevice: async (device: DeviceContext): Promise<DeviceBinding> => ({ store: device.local, sync: [channelOf(device.local, device.app)] }),
    async upgradeDevice(device: DeviceContext, from: AppVersion, previous: DeviceBinding): Promise<DeviceBinding> {
      const fresh = await device.openLocal(`-${viewName(device.app.version)}`);
      const channel = channelOf(fresh, device.app);
      if (device.remote === undefined) throw new DivanError("CONFIG_INVALID", "server-lazy upgrades devices through DeviceContext.remote.");
      try {
        for (const old of previous.sync) await replicate(old.local, await device.remote(old.remoteUrl ?? started().urlOf(viewName(from.version))));
        await replicate(await device.remote(channel.remoteUrl!), fresh);
        // the old version's copy is pushed and no longer replicated: drop it (tombstones stay local)
        for (const old of previous.sync) if (old.local !== fresh) await discard(old.local);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
        // offline: the old database keeps its channel, so its pending edits are pushed on the next sync
        return { store: fresh, sync: [...previous.sync, channel] };
      }
      return { store: fresh, sync: [channel] };
    },
    settle: async () => {},
    retire: async (): Promise<RetireResult> => ({
      purgedDocs: 0,
      detail: "nothing to purge: single-version storage keeps one version of each document; untouched documents stay old and the proxy translates them",
    }),
    async close(): Promise<void> {
      const p = proxy;
      proxy = undefined;
      await p?.close();
    },
  };
}
