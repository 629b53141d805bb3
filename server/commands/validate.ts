/**
 * `divan validate`: every document of a database (or JSON files) against the versioned schemas.
 *
 * `divan validate --db URL [--schemas DIR]` and `divan validate FILE... [--schemas DIR]` (both `[--config FILE]`;
 * `--db`, `--schemas` and the field names default to the config's): validates every
 * document of a database (or JSON files) against the versioned schemas, prints a summary per
 * type@version and every invalid document with its reasons, and exits 1 if any document is invalid, 2 when it
 * cannot run (a database that does not exist is `NOT_FOUND`).
 *
 * Every leaf of a document in conflict is validated: the winning revision and each losing one (a losing leaf that
 * is invalid keeps a migration from translating its document).
 *
 * Design and `_local` documents are skipped; documents of unknown types (and without a type) are counted and
 * named, not failed (whitelist: divan ignores what it does not know). A document of a known type at a version no
 * schema has (`task` at 9, or `"1"`) is invalid.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { DivanError, messageOf } from "../../core/errors.js";
import { stripCredentials } from "../../core/redact.js";
import type { Registry, ValidationIssue } from "../../schemas/registry.js";
import { commandConfig, configOption, loadConfiguredRegistry } from "../config.js";
import { openDb } from "./migrate.js";

/** One invalid document and why. */
export interface InvalidDocument {
  id: string;
  rev?: string;
  type: string;
  /** Its version field as stored (a number, or whatever it holds when that is no major the schemas know). */
  version: unknown;
  errors: ValidationIssue[];
}

/** What {@link validateDocuments} found. */
export interface ValidationSummary {
  /** Documents looked at (design and `_local` documents excluded). */
  total: number;
  /** Losing leaf revisions of documents in conflict, validated besides their documents (counted in `byType` too). */
  conflictLeaves: number;
  /** Per `type@version`: valid and invalid counts. */
  byType: Record<string, { valid: number; invalid: number }>;
  /** Ids of documents of a type no schema knows, per type (not validated: divan ignores what it does not know). */
  unknownTypes: Record<string, string[]>;
  /** Ids of documents that carry no type. */
  noType: string[];
  /** Every invalid document, in the order seen: invalid against its schema, or of a known type at a version that has none. */
  invalid: InvalidDocument[];
}

/** `type@version` for messages: the version as JSON when it is no number (`task@"1"`). */
function typeAt(type: string, version: unknown): string {
  return `${type}@${typeof version === "number" ? String(version) : version === undefined ? "(no version)" : JSON.stringify(version)}`;
}

/**
 * One item to validate: a document (of a database in conflict, its winning revision), or a losing leaf revision of
 * a document in conflict (counted in {@link ValidationSummary.conflictLeaves}, not in its `total`).
 */
export interface DocumentToValidate {
  doc: unknown;
  leaf: "winner" | "losing";
}

/** Validates a stream of documents; never throws for a bad document. */
export async function validateDocuments(registry: Registry, items: AsyncIterable<DocumentToValidate> | Iterable<DocumentToValidate>): Promise<ValidationSummary> {
  const summary: ValidationSummary = { total: 0, conflictLeaves: 0, byType: {}, unknownTypes: {}, noType: [], invalid: [] };
  for await (const { doc, leaf } of items) {
    const record = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : {};
    const rawId = record["_id"];
    if (typeof rawId === "string" && (rawId.startsWith("_design/") || rawId.startsWith("_local/"))) continue;
    const id = typeof rawId === "string" ? rawId : "(no _id)";
    if (leaf === "losing") summary.conflictLeaves++;
    else summary.total++;
    const r = registry.validate(doc);
    const rev = typeof record["_rev"] === "string" ? { rev: record["_rev"] } : {};
    if (r.ok) {
      (summary.byType[typeAt(r.type, r.version)] ??= { valid: 0, invalid: 0 }).valid++;
      continue;
    }
    if (r.code === "SCHEMA_INVALID" && r.type !== undefined) {
      (summary.byType[typeAt(r.type, r.version)] ??= { valid: 0, invalid: 0 }).invalid++;
      summary.invalid.push({ id, ...rev, type: r.type, version: r.version, errors: r.errors });
      continue;
    }
    // No schema for it: a known type at a version the schemas do not have is invalid; an unknown type is ignored.
    const type = r.type ?? record[registry.typeField];
    const version = r.type !== undefined ? r.version : record[registry.versionField];
    if (typeof type !== "string") {
      summary.noType.push(id);
    } else if (registry.majors(type).length === 0) {
      (summary.unknownTypes[type] ??= []).push(id);
    } else {
      (summary.byType[typeAt(type, version)] ??= { valid: 0, invalid: 0 }).invalid++;
      summary.invalid.push({
        id,
        ...rev,
        type,
        version,
        errors: [
          {
            pointer: `/${registry.versionField}`,
            message: `${type} has no schema for version ${typeAt(type, version).slice(type.length + 1)} (its majors: ${registry.majors(type).join(", ")})`,
            keyword: "version",
          },
        ],
      });
    }
  }
  return summary;
}

/** Ids for a summary line: the first few, then how many more. */
function someIds(ids: readonly string[], shown = 10): string {
  return ids.slice(0, shown).join(", ") + (ids.length > shown ? `, … (${ids.length - shown} more)` : "");
}

/** The summary as terminal text. */
export function formatSummary(summary: ValidationSummary, source: string): string {
  const lines: string[] = [`${source}: ${summary.total} document(s)${summary.conflictLeaves > 0 ? `, ${summary.conflictLeaves} losing leaf revision(s) of documents in conflict` : ""}`];
  for (const key of Object.keys(summary.byType).sort()) {
    const c = summary.byType[key]!;
    lines.push(`  ${key}: ${c.valid} valid, ${c.invalid} invalid`);
  }
  for (const type of Object.keys(summary.unknownTypes).sort()) {
    const ids = summary.unknownTypes[type]!;
    lines.push(`  unknown type ${type}: ${ids.length} (not validated): ${someIds(ids)}`);
  }
  if (summary.noType.length > 0) lines.push(`  no type: ${summary.noType.length} (not validated): ${someIds(summary.noType)}`);
  for (const d of summary.invalid) {
    lines.push(`invalid ${d.id}${d.rev ? ` (rev ${d.rev})` : ""} ${typeAt(d.type, d.version)}:`);
    for (const e of d.errors) lines.push(`  ${e.pointer || "/"} ${e.message} [${e.keyword}]`);
  }
  lines.push(summary.invalid.length ? `${summary.invalid.length} invalid document(s)` : "all documents valid");
  return lines.join("\n") + "\n";
}

/**
 * Every document of the database at `urlOrName` (http URL or local PouchDB name), paged through `_all_docs`; a
 * document in conflict is followed by each of its losing leaf revisions.
 */
export async function* databaseDocuments(urlOrName: string, pageSize = 500): AsyncGenerator<DocumentToValidate> {
  const store = await openDb(urlOrName);
  try {
    let startkey: string | undefined;
    for (;;) {
      const page = await store.allDocs({ includeDocs: true, conflicts: true, limit: pageSize, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
      const losing = page.rows.flatMap((row) => (row.doc?._conflicts ?? []).map((rev) => ({ id: row.id, rev })));
      const leaves = losing.length === 0 ? [] : await store.bulkGet(losing);
      for (const row of page.rows) {
        if (!row.doc) continue;
        const { _conflicts, ...doc } = row.doc;
        yield { doc: _conflicts === undefined ? row.doc : doc, leaf: "winner" };
        for (const leaf of leaves) {
          if (leaf.id === row.id && "ok" in leaf) yield { doc: leaf.ok, leaf: "losing" };
        }
      }
      const last = page.rows[page.rows.length - 1];
      if (page.rows.length < pageSize || last === undefined) break;
      startkey = last.id;
    }
  } finally {
    await store.close();
  }
}

/** Documents of JSON files: a file holds one document, an array of them, or `{ "docs": [...] }`. */
export async function* fileDocuments(files: readonly string[]): AsyncGenerator<DocumentToValidate> {
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8")) as unknown;
    } catch (e) {
      throw new DivanError("BAD_REQUEST", `${file}: cannot read a JSON document: ${messageOf(e)}`, { cause: e, details: { file } });
    }
    const docs: unknown[] = Array.isArray(json)
      ? json
      : typeof json === "object" && json !== null && Array.isArray((json as Record<string, unknown>)["docs"])
        ? (json as { docs: unknown[] }).docs
        : [json];
    for (const doc of docs) yield { doc, leaf: "winner" };
  }
}

/** Registers `divan validate`. */
export function register(program: Command): void {
  configOption(
    program
      .command("validate")
      .description("Validate every document of a database (--db) or of JSON files against the versioned schemas")
      .argument("[files...]", "JSON files: a document, an array of documents, or { docs: [...] }")
      .option("--db <url>", "database URL (http://host:5984/db, credentials as user:password@host; never printed) or local PouchDB name (default: db of the config, without files)")
      .option("--schemas <dir>", "folder of <type>/<major>.<minor>.json schema files", "schemas")
      .option("--type-field <name>", "field holding the document type", "schema")
      .option("--version-field <name>", "field holding the major version", "version"),
  ).action(async (files: string[], opts: { db?: string }, cmd: Command) => {
    if (opts.db !== undefined && files.length > 0) throw new DivanError("CONFIG_INVALID", "Give either --db URL or one or more JSON files.");
    const config = await commandConfig(cmd);
    const db = files.length === 0 ? config.db : undefined;
    if (db === undefined && files.length === 0) {
      throw new DivanError("CONFIG_INVALID", "Give either --db URL (or \"db\" in divan.config) or one or more JSON files.");
    }
    const registry = await loadConfiguredRegistry(config);
    const summary = db !== undefined ? await validateDocuments(registry, databaseDocuments(db)) : await validateDocuments(registry, fileDocuments(files));
    process.stdout.write(formatSummary(summary, db !== undefined ? stripCredentials(db) : files.join(", ")));
    if (summary.invalid.length) process.exitCode = 1;
  });
}
