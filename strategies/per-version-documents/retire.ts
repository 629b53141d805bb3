/**
 * The retirement signal and guard of per-version documents: the {@link RETIRED_DOC_ID} notice old apps read and the
 * `validate_doc_update` that refuses their late writes. Removing the retired documents is `strategies/retire.ts`.
 */
import { isDivanError } from "../../core/errors.js";
import { retryOnConflict } from "../../core/retry.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { RETIRED_DOC_ID, type RetiredApp } from "../channels.js";
import type { RetireOptions } from "../retire.js";

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
  await retryOnConflict(`${id} on ${store.name}`, async () => {
    let current: Doc | undefined;
    try {
      current = await store.get(id);
    } catch (e) {
      if (!isDivanError(e, "NOT_FOUND")) throw e;
    }
    await store.put(next(current));
  }, { details: { id } });
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
