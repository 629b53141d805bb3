/**
 * Drop legacy: remove the documents only a retired app version needed, as tombstones that travel through its
 * channel alone (`delete`, every store) or by CouchDB's `_purge` (HTTP stores; no tombstone, devices keep copies).
 *
 * A tombstone keeps the type and version attributes and says it ends a retired version's document
 * (`divan: { ended: "retired" }`), not the entity: a transformer reading it from a retired side deletes nothing.
 * A server without `_purge` fails with `BAD_REQUEST` before anything is removed.
 */
import { DivanError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import type { Doc, DocumentStore } from "../store/port.js";
import { scanVersions, type VersionedRef } from "../store/versions.js";
import { ending } from "./transformer/provenance.js";

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
