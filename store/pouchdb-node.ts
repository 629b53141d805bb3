/**
 * The PouchDB constructor divan uses in Node: pouchdb-core with the memory, LevelDB and HTTP
 * adapters, replication, map/reduce and Mango (`find`). Browser code brings its own PouchDB.
 */
import PouchDB from "pouchdb-core";
import memory from "pouchdb-adapter-memory";
import leveldb from "pouchdb-adapter-leveldb";
import http from "pouchdb-adapter-http";
import replication from "pouchdb-replication";
import mapreduce from "pouchdb-mapreduce";
import find from "pouchdb-find";

PouchDB.plugin(memory).plugin(leveldb).plugin(http).plugin(replication).plugin(mapreduce).plugin(find);

/** PouchDB for Node with every adapter divan needs registered. */
export const NodePouchDB: PouchDB.Static = PouchDB;

/**
 * A PouchDB constructor whose local databases use `adapter` by default
 * (`memory`, or `leveldb` with names taken relative to `prefix`, e.g. a data directory ending in `/`).
 */
export function pouchDefaults(options: { adapter: "memory" | "leveldb"; prefix?: string }): PouchDB.Static {
  return NodePouchDB.defaults(options as PouchDB.Configuration.DatabaseConfiguration) as PouchDB.Static;
}
