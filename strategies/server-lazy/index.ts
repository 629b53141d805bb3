/**
 * `server-lazy`: single-version, lazy, server-side — the server-side twin of `live-adapter`.
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
 * made (no echo, no conflict). Documents of types no step names (preferences, the support notice) pass
 * through with their real revisions.
 *
 * Upgrading a device: its pending edits are pushed through the old version's database, then a fresh local
 * database is filled from the new version's (both through the device's measured connection) and the old
 * copy is emptied. An offline device keeps the old database as a second channel, and its new app reads and
 * edits what it holds there through a live adapter and pending edits (see `offline`) until the new
 * version's documents arrived, at a sync.
 */
import { singleVersionIds } from "../../adapters/ids.js";
import { identityOf } from "../catalog.js";
import { createLiveAdapter } from "../live/adapter.js";
import { liveStore } from "../live/store.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import { canonicalJson, withDeterministicRev } from "../runner/canonical.js";
import { replicate } from "../../store/replicate.js";
import type { AllDocsOptions, AllDocsPage, BulkDocsOptions, Doc, DocumentStore, GetOptions, WriteResult } from "../../store/port.js";
import type { TranslatingProxy, TranslatingProxyFactory } from "../proxy.js";
import type { AppVersion, DeviceBinding, DeviceContext, ReleaseResult, RetireResult, ServerContext, Strategy, StrategyOptions, SyncChannel } from "../types.js";

/** Options of {@link createServerLazyStrategy}. */
export interface ServerLazyStrategyOptions extends StrategyOptions {
  /** Starts the translating proxy (default: the harness's `ServerContext.translatingProxy`). */
  startProxy?: TranslatingProxyFactory;
}

/** The database name the proxy serves app `version` under (`4.2.0` → `app-4-2-0`). */
export function viewName(version: string): string {
  return `app-${version.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
}

/** Deletes every document of a local database that no longer replicates (its tombstones never leave it). */
async function discard(local: DocumentStore): Promise<void> {
  const page = await local.allDocs();
  const tombstones: Doc[] = page.rows.flatMap((r) => (r.value && !r.value.deleted && !r.id.startsWith("_design/") ? [{ _id: r.id, _rev: r.value.rev, _deleted: true }] : []));
  if (tombstones.length > 0) await local.bulkDocs(tombstones);
}

/** Where a device that upgraded offline keeps the new app's edits of documents it has in the old version only. */
const PENDING_ID = "_local/divan-offline-edits";

interface PendingEdits {
  v: 1;
  /**
   * Document id → what the new app read and what it wrote instead, and `read`: the old database's revisions of the
   * entity's documents when the new app first edited it (the old view's revisions stand for the whole stored entity).
   */
  edits: Record<string, { base: Doc; doc: Doc; read?: Record<string, string> }>;
}

/** Whether two JSON values are equal (key order aside). */
function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

/** The revisions `old` holds of the documents of the entity of `id` (document id → revision). */
async function entityRevisions(old: DocumentStore, id: string): Promise<Record<string, string>> {
  const entity = singleVersionIds.parse(id)?.entityId;
  const rows = (await old.allDocs()).rows.filter((r) => r.value !== undefined && (r.id === id || (entity !== undefined && singleVersionIds.parse(r.id)?.entityId === entity)));
  return Object.fromEntries(rows.map((r) => [r.id, r.value!.rev]));
}

/**
 * Applies the new app's pending edit of `served` (read with `revs`) to `fresh`: what it changed from `base` (what
 * it read) to `doc`, as a child of the served revision, or as a branch of its own when another device changed one
 * of those members since the read and the entity moved (`unmoved` false).
 */
async function applyEdit(fresh: DocumentStore, served: Doc, base: Doc, doc: Doc, unmoved: boolean): Promise<void> {
  const id = served._id;
  const changed = [...new Set([...Object.keys(base), ...Object.keys(doc)])].filter((k) => !k.startsWith("_") && !same(doc[k], base[k]));
  const onto = (content: Doc): Doc => {
    const out: Doc = { ...content };
    for (const k of changed) {
      if (k in doc) out[k] = doc[k];
      else delete out[k];
    }
    return out;
  };
  // A member another device changed too, even to the same value: as CouchDB keeps both edits of a conflict,
  // the edit becomes a branch of its own (made on the revision before the served one, or a root of its own
  // when there is none), which the proxy merges keeping what it overwrites on a stored conflict branch. Written
  // as a child of the served revision instead, an edit to the value served already would change nothing there,
  // and an edit the other device makes next on the served revision (its undo) would silently take its place.
  // Unless nothing moved since the read (`unmoved`): then what the new view serves is the entity the edit was made on.
  const clash = !unmoved && changed.some((k) => !same(served[k], base[k]));
  const { _rev, _revisions, ...content } = served;
  const ids = _revisions?.ids ?? [];
  const parentRev = ids.length > 1 ? `${Number.parseInt(_rev!, 10) - 1}-${ids[1]}` : undefined;
  const parent = clash && parentRev !== undefined ? await fresh.get(id, { rev: parentRev }).catch(() => undefined) : undefined;
  if (!clash) await fresh.put(onto({ ...content, _rev } as Doc));
  else if (parent === undefined) await fresh.bulkDocs([withDeterministicRev(onto(content as Doc))], { newEdits: false });
  else await fresh.bulkDocs([withDeterministicRev(onto({ ...parent, _revisions: undefined } as Doc))], { newEdits: false });
}

/**
 * The store of a device that installed the new app offline, until the new version's view reached it
 * (`fresh`, empty until then): documents it holds in its old database only are read through a live adapter
 * over that database at the new app's shape (`live`, translated on the device with the app's steps); the new app's
 * edits of them are kept as pending edits (a `_local` document of `fresh`, not replicated) and shown on
 * top; its deletions of them go to the old database (the old view carries them to the server); the rest
 * is `fresh`'s. `caughtUp`, after each sync, applies the pending edits whose document the new view has
 * brought, as edits of what it serves (what they changed only: no conflict, nothing of another device's
 * edit overwritten), and tells how many it applied (the binding pushes them within the same sync) and whether
 * nothing is pending any more and everything the old database holds has arrived translated.
 */
function offline(fresh: DocumentStore, live: DocumentStore, old: DocumentStore): { store: DocumentStore; caughtUp(): Promise<{ applied: number; done: boolean }> } {
  const pending = async (): Promise<PendingEdits> => {
    const doc = await fresh.getLocal(PENDING_ID);
    return doc?.["v"] === 1 ? (doc as unknown as PendingEdits) : { v: 1, edits: {} };
  };
  const save = async (p: PendingEdits): Promise<void> => {
    const current = await fresh.getLocal(PENDING_ID);
    await fresh.putLocal({ ...p, _id: PENDING_ID, ...(current?._rev === undefined ? {} : { _rev: current._rev }) });
  };
  const inFresh = async (ids: readonly string[]): Promise<Set<string>> =>
    new Set((await fresh.allDocs({ keys: [...ids] })).rows.flatMap((r) => (r.value === undefined ? [] : [r.id])));
  /** Of `ids` (at the new app's shape), those the old database holds (translated) and `fresh` does not. */
  const oldOnly = async (ids: readonly string[]): Promise<Set<string>> => {
    const here = await inFresh(ids);
    const there = new Set((await live.allDocs({ keys: [...ids], includeDocs: true })).rows.flatMap((r) => (r.doc === undefined || r.doc === null ? [] : [r.key])));
    return new Set(ids.filter((id) => !here.has(id) && there.has(id)));
  };
  const read = async (o: AllDocsOptions): Promise<AllDocsPage> => {
    const mine = await fresh.allDocs(o);
    const theirs = await live.allDocs(o);
    const edits = (await pending()).edits;
    const rows = new Map(mine.rows.filter((r) => r.value !== undefined || o.keys !== undefined).map((r) => [r.key, r]));
    for (const r of theirs.rows) {
      const have = rows.get(r.key);
      // (a document the adapter synthesizes, such as a split-off part, has a body and no revision)
      if ((r.value === undefined && (r.doc === undefined || r.doc === null)) || have?.value !== undefined) continue;
      const edit = edits[r.id];
      rows.set(r.key, edit === undefined || o.includeDocs !== true ? r : { ...r, doc: edit.doc });
    }
    const out = o.keys === undefined ? [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) : o.keys.map((k) => rows.get(k) ?? { id: k, key: k, error: "not_found" });
    return { totalRows: out.length, rows: out };
  };
  const store = new Proxy(fresh, {
    get(target, key, receiver) {
      if (key === "allDocs") return read;
      if (key === "get") {
        return async (id: string, o?: GetOptions): Promise<Doc> => {
          if (o?.rev !== undefined) return target.get(id, o);
          const row = (await read({ keys: [id], includeDocs: true })).rows[0];
          if (row?.doc === undefined || row.doc === null) throw new DivanError("NOT_FOUND", `${id} is missing`, { details: { id } });
          return row.doc;
        };
      }
      if (key === "bulkDocs") {
        return async (docs: Doc[], o?: BulkDocsOptions): Promise<WriteResult[]> => {
          const olds = await oldOnly(docs.map((d) => d._id));
          const results: WriteResult[] = new Array(docs.length);
          const toFresh = docs.flatMap((d, i) => (olds.has(d._id) ? [] : [i]));
          const written = toFresh.length === 0 ? [] : await target.bulkDocs(toFresh.map((i) => docs[i]!), o);
          toFresh.forEach((i, k) => (results[i] = written[k]!));
          const p = await pending();
          const deletions: Doc[] = [];
          for (const [i, d] of docs.entries()) {
            if (!olds.has(d._id)) continue;
            if (d._deleted === true) deletions.push(d);
            else {
              const before = p.edits[d._id];
              const base = before?.base ?? (await store.get(d._id));
              const read = before === undefined ? await entityRevisions(old, d._id) : before.read;
              p.edits[d._id] = { base, doc: d, ...(read === undefined ? {} : { read }) };
            }
            results[i] = { id: d._id, ok: true, rev: d._rev ?? "" };
          }
          if (Object.keys(p.edits).length > 0) await save(p);
          if (deletions.length > 0) await live.bulkDocs(deletions);
          return results;
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    store,
    async caughtUp() {
      const p = await pending();
      let applied = 0;
      for (const [id, { base, doc, read }] of Object.entries(p.edits)) {
        let served: Doc;
        try {
          served = await fresh.get(id, { revs: true });
        } catch (e) {
          if (isDivanError(e, "NOT_FOUND")) continue;
          throw e;
        }
        // Nothing moved since the read when the old view's revisions the device holds (pulled again after the new
        // view's) are still those it read, whatever the old app's translation showed of members it cannot show (a
        // group set before, read as the default).
        const unmoved = read !== undefined && Object.keys(read).length > 0 && same(await entityRevisions(old, id), read);
        await applyEdit(fresh, served, base, doc, unmoved);
        delete p.edits[id];
        applied += 1;
      }
      await save(p);
      if (Object.keys(p.edits).length > 0) return { applied, done: false };
      const held = (await live.allDocs({ includeDocs: true })).rows.flatMap((r) => (r.doc === undefined || r.doc === null ? [] : [r.id]));
      return { applied, done: (await oldOnly(held)).size === 0 };
    },
  };
}

/** Creates the server-lazy strategy (see the module documentation). */
export function createServerLazyStrategy(options: ServerLazyStrategyOptions): Strategy {
  let proxy: TranslatingProxy | undefined;

  const started = (): TranslatingProxy => {
    if (proxy === undefined) throw new DivanError("CONFIG_INVALID", "server-lazy: prepareServer has not started the translating proxy.");
    return proxy;
  };

  const channelOf = (local: DocumentStore, app: AppVersion): SyncChannel => ({ local, database: "", remoteUrl: started().urlOf(viewName(app.version)) });

  return {
    ...identityOf("server-lazy", options.change),
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
      const remote = device.remote;
      if (remote === undefined) throw new DivanError("CONFIG_INVALID", "server-lazy upgrades devices through DeviceContext.remote.");
      try {
        for (const old of previous.sync) await replicate(old.local, await remote(old.remoteUrl ?? started().urlOf(viewName(from.version))));
        await replicate(await remote(channel.remoteUrl!), fresh);
        // the old version's copy is pushed and no longer replicated: drop it (tombstones stay local)
        for (const old of previous.sync) if (old.local !== fresh) await discard(old.local);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
        // Offline: the old database keeps its channel, so what the old app wrote is pushed on the next sync;
        // until the new view's documents arrived, the new app reads and edits the old ones (see `offline`).
        const olds = previous.sync.map((c) => c.local);
        const live = liveStore(createLiveAdapter(olds[0] ?? device.local, { registry: device.registry, steps: device.steps, shape: device.app.shape }));
        const upgraded = offline(fresh, live, olds[0] ?? device.local);
        const binding: DeviceBinding = {
          store: upgraded.store,
          sync: [...previous.sync, channel],
          synced: async () => {
            // the old view again, after the new one: a pending edit is made on nothing newer than what both then hold
            for (const old of previous.sync) await replicate(await remote(old.remoteUrl ?? started().urlOf(viewName(from.version))), old.local);
            const { applied, done } = await upgraded.caughtUp();
            // The edits just applied are pushed at once, within this sync: a device that never syncs again
            // (or whose app closes now) must not keep them to itself.
            if (applied > 0) await replicate(fresh, await remote(channel.remoteUrl!));
            if (!done) return undefined;
            for (const old of olds) if (old !== fresh) await discard(old);
            return { store: fresh, sync: [channel] };
          },
        };
        return binding;
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
