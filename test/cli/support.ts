/**
 * Helpers of the CLI tests: run the real `divan` CLI in a child process (`node --import tsx server/cli.ts`)
 * from the todo app's folder (so `schemas/`, `manifests/` and `steps/index.ts` are found by their defaults,
 * as in an app's repository), seed and read databases of the test server (`COUCHDB_URL` or embedded) over plain HTTP.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "vitest";
import { couchFetch, externalServerUrl, passwordOf } from "../support/server.js";

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, "../..");
/** The todo app, laid out as an app team lays out its repository. */
export const TODO_APP = path.join(ROOT, "examples/todo-app");
/** tsx's loader by URL, so the CLI runs from any working directory (a bare `tsx` resolves from the working directory). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** The password put in every `--db` URL of the embedded server (which ignores it); it must never be printed. */
export const PASSWORD = "s3cr3t-Pa55";

const external = externalServerUrl();
const externalPassword = external === undefined ? undefined : passwordOf(external);
/** Every password no CLI output may show: {@link PASSWORD} and the one of `COUCHDB_URL`, if any. */
const SECRETS: readonly string[] = externalPassword === undefined ? [PASSWORD] : [PASSWORD, externalPassword];

/** What a CLI run printed. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `divan <args>` (from TypeScript sources, through tsx) with `cwd` (default: the todo app). Rejects
 * when stdout or stderr contains {@link PASSWORD} or the password of `COUCHDB_URL`.
 */
export function divan(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return run(process.execPath, ["--import", TSX, path.join(ROOT, "server/cli.ts"), ...args], options);
}

/** Runs a command to its end and resolves with its exit code and output; rejects when it printed a password. */
export function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd ?? TODO_APP, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
        const printed = SECRETS.find((secret) => `${stdout}${stderr}`.includes(secret));
        if (printed !== undefined) {
          const hide = (text: string): string => text.split(printed).join("***");
          reject(new Error(`divan ${hide(args.join(" "))} printed the password:\n${hide(stdout)}\n${hide(stderr)}`));
        } else resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The URL of database `db` on the server at `base`, always with credentials: those of `base` when it has
 * them (a real CouchDB from `COUCHDB_URL`), else `admin:<PASSWORD>` (the embedded server accepts any).
 */
export function withCredentials(base: string, db: string): string {
  const u = new URL(`${base}/${db}`);
  if (u.username === "" && u.password === "") {
    u.username = "admin";
    u.password = PASSWORD;
  }
  return u.toString();
}

/** How the CLI shows the credentials of {@link withCredentials} URLs of `base` once redacted: `user:***@`. */
export function redactedUserInfo(base: string): string {
  const u = new URL(withCredentials(base, "x"));
  return `${u.username}:***@`;
}

/** Deletes database `db` if it exists (tests clean up what they created on a shared server). */
export async function drop(base: string, db: string): Promise<void> {
  const res = await couchFetch(`${base}/${db}`, { method: "DELETE" });
  await res.arrayBuffer();
  expect([200, 202, 404]).toContain(res.status);
}

/** A JSON document as the server returns it. */
export type Json = Record<string, unknown> & { _id: string; _rev?: string };

/** Creates the database and writes the documents; fails the test unless every write succeeded. */
export async function seed(base: string, db: string, docs: readonly Json[]): Promise<void> {
  expect((await couchFetch(`${base}/${db}`, { method: "PUT" })).status).toBe(201);
  const res = await couchFetch(`${base}/${db}/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs }) });
  const results = (await res.json()) as { ok?: boolean; id: string }[];
  expect(results.filter((r) => r.ok !== true)).toEqual([]);
}

/** Every document of the database (design documents included), keyed by id. */
export async function allDocs(base: string, db: string): Promise<Map<string, Json>> {
  const res = await couchFetch(`${base}/${db}/_all_docs?include_docs=true`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { rows: { id: string; doc: Json }[] };
  return new Map(body.rows.map((r) => [r.id, r.doc]));
}

/** `id → _rev` of every document. */
export async function revs(base: string, db: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [id, doc] of await allDocs(base, db)) out[id] = String(doc._rev);
  return out;
}

/** The HTTP status of `GET <base>/<db>/<id>` (ids such as `_local/x` are passed as they are). */
export async function statusOf(base: string, db: string, id = ""): Promise<number> {
  const res = await couchFetch(`${base}/${db}${id === "" ? "" : `/${id}`}`);
  await res.arrayBuffer();
  return res.status;
}

/** A valid todo-item@1 (`t00`, `t01`, …); even numbers are done. */
export function todoV1(n: number, extra: Record<string, unknown> = {}): Json {
  return {
    _id: `todo-item:t${String(n).padStart(2, "0")}`,
    schema: "todo-item",
    version: 1,
    title: `todo ${n}`,
    isDone: n % 2 === 0,
    createdAt: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
    ...extra,
  };
}

/**
 * Five todo-item@1 (the first with an attribute no schema knows), one malformed todo-item@1 (its `isDone`
 * is no boolean, so no step can translate it), one document of a type divan does not know, a design
 * document and the settings singleton.
 */
export function mixedDocs(): Json[] {
  return [
    todoV1(0, { note: "kept by every step" }),
    ...[1, 2, 3, 4].map((n) => todoV1(n)),
    { _id: "todo-item:bad", schema: "todo-item", version: 1, title: 42, isDone: "nope" },
    { _id: "widget:w1", schema: "widget", version: 7, size: 3 },
    { _id: "_design/app", views: { all: { map: "function (doc) { emit(doc._id); }" } } },
    { _id: "settings", schema: "settings", version: 1, color: "#ff8800" },
  ];
}

/**
 * Writes documents as replication does (`new_edits: false`: each keeps the `_rev` it carries), so a test can build
 * conflicts (two documents with the same `_id` and different revisions) and revisions it knows in advance. The
 * database must exist.
 */
export async function seedRevisions(base: string, db: string, docs: readonly Json[]): Promise<void> {
  const res = await couchFetch(`${base}/${db}/_bulk_docs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs, new_edits: false }) });
  expect(res.status).toBe(201);
  expect(((await res.json()) as unknown[]).filter((r) => (r as { error?: unknown }).error !== undefined)).toEqual([]);
}

/** Every leaf revision of document `id` (the winner and its conflicts), by revision. */
export async function leaves(base: string, db: string, id: string): Promise<Map<string, Json>> {
  const res = await couchFetch(`${base}/${db}/${encodeURIComponent(id)}?open_revs=all`, { headers: { accept: "application/json" } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as ({ ok: Json } | { missing: string })[];
  const out = new Map<string, Json>();
  for (const r of body) if ("ok" in r) out.set(String(r.ok._rev), r.ok);
  return out;
}

/** The CLI bundled for plain Node (see {@link bundleCli}). */
export interface BundledCli {
  /** The bundle: `node <file> <args>` runs the CLI without a TypeScript loader, as the built `dist/` does. */
  readonly file: string;
  /** Runs `divan <args>` from the bundle (cwd: the todo app unless given); rejects when it printed a password. */
  run(args: readonly string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Removes the bundle's folder. */
  remove(): Promise<void>;
}

/**
 * Bundles `server/cli.ts` with esbuild into a temporary folder (its packages left as imports, resolved through a
 * `node_modules` link to this repository's): the CLI as the built package runs it, on plain Node, and it starts
 * in a fraction of the time tsx needs (tests that start it many times use it).
 */
export async function bundleCli(): Promise<BundledCli> {
  const { build } = await import("esbuild");
  const { mkdtemp, rm, symlink } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(path.join(tmpdir(), "divan-cli-"));
  const file = path.join(dir, "cli.mjs");
  await build({ entryPoints: [path.join(ROOT, "server/cli.ts")], bundle: true, platform: "node", format: "esm", packages: "external", outfile: file, logLevel: "warning" });
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return {
    file,
    run: (args, options = {}) => run(process.execPath, [file, ...args], options),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
