/**
 * `divan validate --db URL [--schemas DIR]` and `divan validate FILE... [--schemas DIR]` (both `[--config FILE]`;
 * `--db`, `--schemas` and the field names default to the config's): validates every
 * document of a database (or JSON files) against the versioned schemas, prints a summary per
 * type@version and every invalid document with its reasons, and exits 1 if any document is invalid.
 *
 * Design and `_local` documents are skipped; documents of unknown types are counted, not failed
 * (whitelist: divan ignores what it does not know).
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { DivanError, messageOf } from "../../core/errors.js";
import { stripCredentials } from "../../core/redact.js";
import { loadRegistry } from "../../schemas/load.js";
import type { Registry, ValidationIssue } from "../../schemas/registry.js";
import { openStore } from "../../store/open.js";
import { NodePouchDB } from "../../store/pouchdb-node.js";
import { commandConfig, configOption } from "../config.js";

/** One invalid document and why. */
export interface InvalidDocument {
  id: string;
  rev?: string;
  type: string;
  version: number;
  errors: ValidationIssue[];
}

/** What {@link validateDocuments} found. */
export interface ValidationSummary {
  /** Documents looked at (design and `_local` documents excluded). */
  total: number;
  /** Per `type@version`: valid and invalid counts. */
  byType: Record<string, { valid: number; invalid: number }>;
  /** Documents whose type (or type@version) has no schema, or that carry no type at all. */
  unknown: number;
  /** Every invalid document, in the order seen. */
  invalid: InvalidDocument[];
}

/** Validates a stream of documents; never throws for a bad document. */
export async function validateDocuments(registry: Registry, docs: AsyncIterable<unknown> | Iterable<unknown>): Promise<ValidationSummary> {
  const summary: ValidationSummary = { total: 0, byType: {}, unknown: 0, invalid: [] };
  for await (const doc of docs) {
    const id = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>)["_id"] : undefined;
    if (typeof id === "string" && (id.startsWith("_design/") || id.startsWith("_local/"))) continue;
    summary.total++;
    const r = registry.validate(doc);
    if (r.ok) {
      (summary.byType[`${r.type}@${r.version}`] ??= { valid: 0, invalid: 0 }).valid++;
    } else if (r.code === "UNKNOWN_TYPE" || r.type === undefined || r.version === undefined) {
      summary.unknown++;
    } else {
      (summary.byType[`${r.type}@${r.version}`] ??= { valid: 0, invalid: 0 }).invalid++;
      const rev = (doc as Record<string, unknown>)["_rev"];
      summary.invalid.push({
        id: typeof id === "string" ? id : "(no _id)",
        ...(typeof rev === "string" ? { rev } : {}),
        type: r.type,
        version: r.version,
        errors: r.errors,
      });
    }
  }
  return summary;
}

/** The summary as terminal text. */
export function formatSummary(summary: ValidationSummary, source: string): string {
  const lines: string[] = [`${source}: ${summary.total} document(s)`];
  for (const key of Object.keys(summary.byType).sort()) {
    const c = summary.byType[key]!;
    lines.push(`  ${key}: ${c.valid} valid, ${c.invalid} invalid`);
  }
  if (summary.unknown) lines.push(`  unknown type: ${summary.unknown} (not validated)`);
  for (const d of summary.invalid) {
    lines.push(`invalid ${d.id}${d.rev ? ` (rev ${d.rev})` : ""} ${d.type}@${d.version}:`);
    for (const e of d.errors) lines.push(`  ${e.pointer || "/"} ${e.message} [${e.keyword}]`);
  }
  lines.push(summary.invalid.length ? `${summary.invalid.length} invalid document(s)` : "all documents valid");
  return lines.join("\n") + "\n";
}

/** Every document of the database at `urlOrName` (http URL or local PouchDB name), paged through `_all_docs`. */
export async function* databaseDocuments(urlOrName: string, pageSize = 500): AsyncGenerator<unknown> {
  const store = await openStore(urlOrName, { PouchDB: NodePouchDB, create: false });
  try {
    let startkey: string | undefined;
    for (;;) {
      const page = await store.allDocs({ includeDocs: true, limit: pageSize, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
      for (const row of page.rows) if (row.doc) yield row.doc;
      const last = page.rows[page.rows.length - 1];
      if (page.rows.length < pageSize || last === undefined) break;
      startkey = last.id;
    }
  } finally {
    await store.close();
  }
}

/** Documents of JSON files: a file holds one document, an array of them, or `{ "docs": [...] }`. */
export async function* fileDocuments(files: readonly string[]): AsyncGenerator<unknown> {
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8")) as unknown;
    } catch (e) {
      throw new DivanError("BAD_REQUEST", `${file}: cannot read a JSON document: ${messageOf(e)}`, { cause: e, details: { file } });
    }
    if (Array.isArray(json)) yield* json;
    else if (typeof json === "object" && json !== null && Array.isArray((json as Record<string, unknown>)["docs"])) yield* (json as { docs: unknown[] }).docs;
    else yield json;
  }
}

/** Registers `divan validate`. */
export function register(program: Command): void {
  configOption(
    program
      .command("validate")
      .description("Validate every document of a database (--db) or of JSON files against the versioned schemas")
      .argument("[files...]", "JSON files: a document, an array of documents, or { docs: [...] }")
      .option("--db <url>", "database URL (http://user:pass@host:5984/db) or local PouchDB name (default: db of the config, without files)")
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
    const registry = await loadRegistry(config.schemas, { typeField: config.typeField, versionField: config.versionField, infer: [...config.infer] });
    const summary = db !== undefined ? await validateDocuments(registry, databaseDocuments(db)) : await validateDocuments(registry, fileDocuments(files));
    process.stdout.write(formatSummary(summary, db !== undefined ? stripCredentials(db) : files.join(", ")));
    if (summary.invalid.length) process.exitCode = 1;
  });
}
