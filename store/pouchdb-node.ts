/**
 * The PouchDB constructor divan uses in Node: pouchdb-core with the memory and HTTP adapters, replication,
 * map/reduce and Mango (`find`), plus LevelDB when the optional `pouchdb-adapter-leveldb` is installed.
 */
import PouchDB from "pouchdb-core";
import memory from "pouchdb-adapter-memory";
import http from "pouchdb-adapter-http";
import replication from "pouchdb-replication";
import mapreduce from "pouchdb-mapreduce";
import find from "pouchdb-find";
import { DivanError } from "../core/errors.js";
import { requirePeer } from "../core/peer.js";

PouchDB.plugin(memory).plugin(http).plugin(replication).plugin(mapreduce).plugin(find);
// The native LevelDB adapter is an optional peer: only on-disk databases (`divan serve --data DIR`) need it.
const leveldb = requirePeer("pouchdb-adapter-leveldb", import.meta.url) as PouchDB.Plugin | undefined;
if (leveldb !== undefined) PouchDB.plugin(leveldb);

/** PouchDB for Node with every adapter divan needs registered (`leveldb` when `pouchdb-adapter-leveldb` is installed). */
export const NodePouchDB: PouchDB.Static = PouchDB;

/**
 * A PouchDB constructor whose local databases use `adapter` by default
 * (`memory`, or `leveldb` with names taken relative to `prefix`, e.g. a data directory ending in `/`).
 *
 * @throws DivanError `DEPENDENCY_MISSING` for `leveldb` when `pouchdb-adapter-leveldb` is not installed.
 */
export function pouchDefaults(options: { adapter: "memory" | "leveldb"; prefix?: string }): PouchDB.Static {
  if (options.adapter === "leveldb" && leveldb === undefined) {
    throw new DivanError("DEPENDENCY_MISSING", "databases on disk need the package pouchdb-adapter-leveldb, which is not installed: npm install pouchdb-adapter-leveldb", {
      details: { package: "pouchdb-adapter-leveldb" },
    });
  }
  return NodePouchDB.defaults(options as PouchDB.Configuration.DatabaseConfiguration) as PouchDB.Static;
}
