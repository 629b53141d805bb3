/**
 * The in-process server of the fast simulation world: PouchDB memory databases enforcing `validate_doc_update`.
 *
 * The in-process server of the fast simulation world: PouchDB memory databases that enforce design
 * documents' `validate_doc_update` on every write, replicated ones included, exactly as the embedded
 * server does over HTTP (the same {@link Validator}). Devices replicate with these databases through the
 * same PouchDB replicator as over HTTP, without sockets, so thousands of scripts run in minutes.
 */
import { Validator } from "../../../server/embedded/validation.js";
import { HttpError } from "../../../server/embedded/http.js";
import { pouchStore } from "../../../store/pouch.js";
import { pouchDefaults } from "../../../store/pouchdb-node.js";
import type { DocumentStore } from "../../../store/port.js";

const MemoryPouch = pouchDefaults({ adapter: "memory" });

type Callback = (error: unknown, result?: unknown) => void;
type RawDoc = Record<string, unknown> & { _id?: unknown };

/** PouchDB's `bulkDocs` as PouchDB calls it internally (`put` goes through it with a callback). */
type BulkDocs = (req: unknown, opts?: unknown, callback?: Callback) => Promise<unknown[]>;

/**
 * Makes `db` refuse, per document, what its design documents' `validate_doc_update` refuses: a refused
 * document answers `{ error: "forbidden", status: 403 }` (the replicator counts it as a write failure and
 * keeps going, as with CouchDB), the others are written.
 */
function validating(db: PouchDB.Database, validator: Validator): PouchDB.Database {
  const original = (db.bulkDocs as unknown as BulkDocs).bind(db);
  const bulkDocs = async (req: unknown, opts?: unknown, callback?: Callback): Promise<unknown[]> => {
    if (typeof opts === "function") {
      callback = opts as Callback;
      opts = {};
    }
    const run = async (): Promise<unknown[]> => {
      const request = (Array.isArray(req) ? { docs: req } : req) as { docs?: RawDoc[]; new_edits?: boolean };
      const options = (opts ?? {}) as { new_edits?: boolean };
      const docs = request.docs ?? [];
      const newEdits = options.new_edits ?? request.new_edits ?? true;
      const refused = new Map<number, Record<string, unknown>>();
      for (const [i, doc] of docs.entries()) {
        try {
          await validator.check(db.name, db, doc, newEdits);
        } catch (e) {
          if (!(e instanceof HttpError)) throw e;
          refused.set(i, { id: doc._id, error: e.error, name: e.error, status: e.status, reason: e.message, message: e.message });
        }
      }
      if (refused.size === 0) return original(req, opts ?? {});
      const kept = docs.filter((_d, i) => !refused.has(i));
      const written = kept.length === 0 ? [] : await original({ ...request, docs: kept }, { ...options, new_edits: newEdits });
      if (!newEdits) return [...refused.values(), ...written];
      let next = 0;
      return docs.map((_d, i) => refused.get(i) ?? written[next++]);
    };
    const result = run();
    if (callback !== undefined) result.then((r) => callback!(null, r), (e: unknown) => callback!(e));
    return result;
  };
  (db as unknown as { bulkDocs: BulkDocs }).bulkDocs = bulkDocs;
  return db;
}

/** A set of in-process server databases. */
export interface MemoryServer {
  /** Opens (and creates) server database `name`. */
  open(name: string): Promise<DocumentStore>;
}

/** A fresh in-process server: databases are PouchDB memory databases that enforce `validate_doc_update`. */
export function memoryServer(): MemoryServer {
  const validator = new Validator();
  return {
    async open(name) {
      const open = (): PouchDB.Database => validating(new MemoryPouch(name), validator);
      const store = pouchStore(open(), { reopen: open });
      await store.create();
      return store;
    },
  };
}
