/**
 * The databases of one embedded server: names, open PouchDB instances and the `_db_updates` log.
 *
 * Each server owns its registry; nothing here is process-global. In memory every server uses its
 * own name prefix, so two servers in one process never see each other's databases.
 */
import { EventEmitter } from "node:events";
import { mkdir, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { HttpError } from "./http.js";

/** One `_db_updates` event. */
export interface DbUpdate {
  /** Database name. */
  db_name: string;
  /** What happened. */
  type: "created" | "updated" | "deleted";
  /** Opaque sequence of this event. */
  seq: string;
}

/** CouchDB's database-name rule. */
const DB_NAME = /^[a-z][a-z0-9_$()+/-]*$/;

/** Names reserved for PouchDB's secondary databases (views, Mango indexes). */
function isInternal(name: string): boolean {
  return name.includes("-mrview-");
}

/** The databases of one server. */
export class DbRegistry {
  private readonly dbs = new Map<string, PouchDB.Database>();
  private readonly names = new Set<string>();
  /** Latest update per database, in `_db_updates` order. */
  private readonly updates = new Map<string, DbUpdate>();
  private updateSeq = 0;
  /** Emits `update` with a {@link DbUpdate}. */
  readonly events = new EventEmitter();

  constructor(
    private readonly Pouch: PouchDB.Static,
    private readonly dataDir: string | undefined,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Loads existing LevelDB databases from the data directory. */
  async load(): Promise<void> {
    if (this.dataDir === undefined) return;
    await mkdir(this.dataDir, { recursive: true });
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      if (entries.some((e) => e.isFile() && e.name === "CURRENT") && dir !== this.dataDir) {
        const name = relative(this.dataDir ?? "", dir).split(sep).join("/");
        if (DB_NAME.test(name) && !isInternal(name)) this.names.add(name);
        return;
      }
      if (depth > 4) return;
      for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), depth + 1);
    };
    await walk(this.dataDir, 0);
  }

  /** All database names, sorted. */
  all(): string[] {
    return [...this.names].sort();
  }

  /** True when `name` exists. */
  exists(name: string): boolean {
    return this.names.has(name);
  }

  /** The open database `name`, or a 404. */
  get(name: string): PouchDB.Database {
    if (!this.names.has(name)) throw new HttpError(404, "not_found", "Database does not exist.");
    let db = this.dbs.get(name);
    if (db === undefined) {
      db = this.open(name);
      this.dbs.set(name, db);
    }
    return db;
  }

  /** Creates database `name`; 400 for an illegal name, 412 when it exists. */
  async create(name: string): Promise<void> {
    if (!DB_NAME.test(name) || isInternal(name)) {
      throw new HttpError(
        400,
        "illegal_database_name",
        `Name: '${name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.`,
      );
    }
    if (this.names.has(name)) throw new HttpError(412, "file_exists", "The database could not be created, the file already exists.");
    if (this.dataDir !== undefined && name.includes("/")) {
      const parent = name.slice(0, name.lastIndexOf("/"));
      await mkdir(join(this.dataDir, ...parent.split("/")), { recursive: true });
    }
    this.names.add(name);
    const db = this.open(name);
    this.dbs.set(name, db);
    try {
      await db.info();
    } catch (e) {
      this.names.delete(name);
      this.dbs.delete(name);
      throw e;
    }
    this.record(name, "created");
  }

  /** Deletes database `name` and its files; 404 when it does not exist. */
  async destroy(name: string): Promise<void> {
    const db = this.get(name);
    this.names.delete(name);
    this.dbs.delete(name);
    await db.destroy();
    this.record(name, "deleted");
  }

  /** Records a write to `name` for `_db_updates`. */
  touched(name: string): void {
    if (this.names.has(name)) this.record(name, "updated");
  }

  /** `_db_updates` events after `since` (an opaque seq from an earlier answer, `0`, or `now`). */
  updatesSince(since: string): { results: DbUpdate[]; last_seq: string } {
    const from = since === "now" ? this.updateSeq : Number(since);
    const results = [...this.updates.values()].filter((u) => Number(u.seq) > from);
    return { results, last_seq: String(this.updateSeq) };
  }

  /** The current `_db_updates` sequence. */
  currentUpdateSeq(): string {
    return String(this.updateSeq);
  }

  /** Closes every database; in memory (no data directory) their contents are destroyed. */
  async closeAll(): Promise<void> {
    const names = [...this.names];
    const tasks = names.map(async (name) => {
      const db = this.dataDir === undefined ? (this.dbs.get(name) ?? new this.Pouch(name)) : this.dbs.get(name);
      if (db === undefined) return;
      try {
        if (this.dataDir === undefined) await db.destroy();
        else await db.close();
      } catch {
        // Closing is best effort: a database that fails to close has nothing left to lose here.
      }
    });
    await Promise.all(tasks);
    this.dbs.clear();
    this.names.clear();
    this.events.removeAllListeners();
  }

  /** Opens `name`; every open feed adds a listener to the instance, so many feeds are expected. */
  private open(name: string): PouchDB.Database {
    const db = new this.Pouch(name);
    (db as unknown as EventEmitter).setMaxListeners(0);
    return db;
  }

  private record(name: string, type: DbUpdate["type"]): void {
    this.updateSeq += 1;
    const update: DbUpdate = { db_name: name, type, seq: String(this.updateSeq) };
    this.updates.delete(name);
    this.updates.set(name, update);
    this.events.emit("update", update);
  }
}
