/**
 * Drop legacy for multi-version storage (issue 10, item 5): remove the documents only a retired app
 * version needed, and leave the retirement signal its channel still carries.
 *
 * - `delete` (default, works on every CouchDB and PouchDB): tombstones that keep the type and version
 *   attributes, so they travel through exactly the retired app's channel (its devices drop their copies
 *   in the same pull that brings the signal) and through no other, and say that they end a retired
 *   version's document (`divan: { ended: "retired" }`), not the entity: a transformer reading them from a
 *   retired side deletes nothing.
 * - `purge`: CouchDB's `POST /{db}/_purge` (CouchDB 2.3+), which leaves no tombstone; only for HTTP
 *   stores, and devices keep their copies until they compact. A server without `_purge` fails with
 *   `BAD_REQUEST` before anything is removed.
 *
 * The signal is the untyped document {@link RETIRED_DOC_ID} (`strategies/channels.ts`); it lists every
 * retired app version with the oldest version still supported and a message for the user.
 */
import { DivanError } from "../../core/errors.js";
import { redact } from "../../core/redact.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { scanVersions, type VersionedRef } from "../../store/versions.js";
import { RETIRED_DOC_ID, type RetiredApp } from "../channels.js";
import { ending } from "../transformer/provenance.js";

/** How retired documents are removed. */
export type Removal = "delete" | "purge";

/** What {@link removeVersions} and {@link writeRetirement} need. */
export interface RetireOptions {
  /** `delete` (tombstones) or `purge`. */
  removal: Removal;
  /** Attribute holding the document type (default `"schema"`). */
  typeField?: string;
  /** Attribute holding the major version (default `"version"`). */
  versionField?: string;
  /** Documents per write (default 500). */
  batchSize?: number;
  /**
   * Remove only these documents (id → the revision that may go, as `Transformer.translated` lists what the
   * supported versions hold translated); one that changed since is kept. Default: every document of the versions.
   */
  only?: ReadonlyMap<string, string>;
}

/**
 * The `type → majors` that only the retired shape holds: those of `retired` that no shape in `kept` uses.
 *
 * @example `retiredVersions({ "task": 1, preferences: 1 }, [{ "task": 3, preferences: 1 }])` → `{ "task": [1] }`
 */
export function retiredVersions(retired: Readonly<Record<string, number>>, kept: readonly Readonly<Record<string, number>>[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [type, version] of Object.entries(retired)) {
    if (!kept.some((shape) => shape[type] === version)) out[type] = [version];
  }
  return out;
}

/** Removes the documents of `versions` from `store` (every one, or those of `options.only`); resolves with how many were removed. */
export async function removeVersions(store: DocumentStore, versions: Readonly<Record<string, readonly number[]>>, options: RetireOptions): Promise<number> {
  const only = options.only;
  const refs = (await scanVersions(store, versions)).filter((r) => only === undefined || only.get(r.id) === r.rev);
  if (refs.length === 0) return 0;
  if (options.removal === "purge") return purge(store, refs);
  const typeField = options.typeField ?? "schema";
  const versionField = options.versionField ?? "version";
  const size = options.batchSize ?? 500;
  let removed = 0;
  for (let i = 0; i < refs.length; i += size) {
    const batch = refs.slice(i, i + size);
    const tombstones: Doc[] = batch.map((r) => ({ ...ending({ _id: r.id, _rev: r.rev }, "retired"), [typeField]: r.type, [versionField]: r.version }));
    const results = await store.bulkDocs(tombstones);
    for (const r of results) {
      // A conflict means someone wrote the document meanwhile: it is not retired data we may drop silently.
      if (r.ok) removed += 1;
      else if (r.error.code !== "CONFLICT") {
        throw new DivanError(r.error.code, `Could not delete retired document ${r.id}: ${r.error.reason}`, { details: { id: r.id } });
      }
    }
  }
  return removed;
}

/** `POST {db}/_purge` with the winning revision of each document, through the store's URL. */
async function purge(store: DocumentStore, refs: readonly VersionedRef[]): Promise<number> {
  const endpoint = store.replicationEndpoint();
  if (typeof endpoint !== "string") {
    throw new DivanError("BAD_REQUEST", `${store.name} is not a CouchDB server database; purge needs CouchDB's _purge (use removal "delete").`, {
      details: { store: store.name },
    });
  }
  const url = new URL(endpoint);
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (url.username !== "") {
    headers["authorization"] = `Basic ${btoa(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}`;
    url.username = "";
    url.password = "";
  }
  const body: Record<string, string[]> = {};
  for (const r of refs) body[r.id] = [r.rev];
  let response: Response;
  try {
    response = await fetch(`${url.toString().replace(/\/$/, "")}/_purge`, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (e) {
    throw new DivanError("STORE_UNAVAILABLE", `Purging retired documents on ${redact(endpoint)} failed: ${redact(String(e))}`, { cause: e });
  }
  const text = await response.text();
  if (!response.ok) {
    const code = response.status === 401 ? "UNAUTHORIZED" : response.status === 403 ? "FORBIDDEN" : "BAD_REQUEST";
    throw new DivanError(code, `${store.name} refused _purge (HTTP ${response.status}): ${redact(text.trim().slice(0, 200))}. Use removal "delete" on servers without _purge.`, {
      details: { status: response.status },
    });
  }
  const parsed = JSON.parse(text) as { purged?: Record<string, unknown> };
  return Object.keys(parsed.purged ?? {}).length;
}

/**
 * Adds `entry` to the {@link RETIRED_DOC_ID} document of `store` (creating it), replacing an earlier entry
 * for the same app version; retries on a concurrent update.
 */
export async function writeRetirement(store: DocumentStore, entry: RetiredApp): Promise<void> {
  await updateDoc(store, RETIRED_DOC_ID, (current) => {
    const list = Array.isArray(current?.["retired"]) ? (current["retired"] as unknown[]) : [];
    const others = list.filter((x) => !(typeof x === "object" && x !== null && (x as { app?: unknown }).app === entry.app));
    return { ...(current ?? { _id: RETIRED_DOC_ID }), retired: [...others, { ...entry }] };
  });
}

/** Reads `id` (absent: `undefined`), writes what `next` makes of it; retries on a concurrent update (409). */
async function updateDoc(store: DocumentStore, id: string, next: (current: Doc | undefined) => Doc): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let current: Doc | undefined;
    try {
      current = await store.get(id);
    } catch (e) {
      if (!(e instanceof DivanError && e.code === "NOT_FOUND")) throw e;
    }
    try {
      await store.put(next(current));
      return;
    } catch (e) {
      if (!(e instanceof DivanError && e.code === "CONFLICT")) throw e;
    }
  }
  throw new DivanError("CONFLICT", `${id} on ${store.name} kept changing; retry the retirement.`, { details: { id } });
}

/** Id of the design document whose `validate_doc_update` refuses writes of retired versions. */
export const RETIRED_GUARD_ID = "_design/divan-retired";

/**
 * The type attribute value of {@link RETIRED_GUARD_ID}: no app has this type, so no `exact` channel
 * replicates the guard to devices (it only matters on the server, where `validate_doc_update` runs).
 */
export const RETIRED_GUARD_TYPE = "divan-retired-guard";

/**
 * Installs (or extends) {@link RETIRED_GUARD_ID}: from now on the server answers `403 forbidden`
 * (`divan-retired: …`) to any write of a retired `type@version` except a deletion, so an old client that
 * pushes after its retirement gets an error for each refused document (PouchDB replication counts them
 * in `doc_write_failures` and keeps them on the device) instead of writes no transformer translates any
 * more. `message` is appended to the reason.
 */
export async function writeRetiredGuard(
  store: DocumentStore,
  versions: Readonly<Record<string, readonly number[]>>,
  message: string,
  options: Pick<RetireOptions, "typeField" | "versionField"> = {},
): Promise<void> {
  const typeField = options.typeField ?? "schema";
  const versionField = options.versionField ?? "version";
  await updateDoc(store, RETIRED_GUARD_ID, (current) => {
    const merged: Record<string, number[]> = {};
    const previous = current?.["retired"];
    if (typeof previous === "object" && previous !== null) {
      for (const [t, vs] of Object.entries(previous as Record<string, unknown>)) if (Array.isArray(vs)) merged[t] = vs.filter((v): v is number => typeof v === "number");
    }
    for (const [t, vs] of Object.entries(versions)) merged[t] = [...new Set([...(merged[t] ?? []), ...vs])].sort((x, y) => x - y);
    // ES5: runs in CouchDB's JavaScript engine as well as the embedded server.
    const fn = [
      "function (newDoc) {",
      "  if (newDoc._deleted === true) return;",
      `  var retired = ${JSON.stringify(merged)};`,
      `  var type = newDoc[${JSON.stringify(typeField)}], version = newDoc[${JSON.stringify(versionField)}];`,
      "  var versions = typeof type === 'string' && Object.prototype.hasOwnProperty.call(retired, type) ? retired[type] : [];",
      "  for (var i = 0; i < versions.length; i++) {",
      `    if (versions[i] === version) throw({ forbidden: 'divan-retired: ' + type + '@' + version + ' belongs to a retired app version. ' + ${JSON.stringify(message)} });`,
      "  }",
      "}",
    ].join("\n");
    // Typed (RETIRED_GUARD_TYPE), so the `exact` channels' clause for untyped notices does not carry this
    // server-only document (about 1 kB) to every device.
    return { ...(current ?? { _id: RETIRED_GUARD_ID }), [typeField]: RETIRED_GUARD_TYPE, retired: merged, validate_doc_update: fn };
  });
}
