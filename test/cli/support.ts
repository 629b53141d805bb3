/**
 * Helpers of the CLI tests: run the real `divan` CLI in a child process (`node --import tsx server/cli.ts`)
 * from the todo app's folder (so `schemas/`, `manifests/` and `steps/index.ts` are found by their defaults,
 * as in an app's repository), seed and read databases of the test server (`COUCHDB_URL` or embedded) over plain HTTP.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import { redact } from "../../core/redact.js";
import { uniqueDbName } from "../support/backends.js";
import { couchFetch, externalServerUrl, startTestServer, type TestServer } from "../support/server.js";

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, "../..");
/** The todo app, laid out as an app team lays out its repository. */
export const TODO_APP = path.join(ROOT, "examples/todo-app");
/** tsx's loader by URL, so the CLI runs from any working directory (a bare `tsx` resolves from the working directory). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * The user every `--db` URL of the CLI tests carries (see {@link withCredentials}): on `COUCHDB_URL` a server
 * admin each test file creates before its tests and removes after them; the embedded server accepts anyone.
 */
export const CLI_USER = `divan-cli-${process.pid}-${randomBytes(3).toString("hex")}`;
/** {@link CLI_USER}'s password: random, so it appears in no output unless a password leaked. */
export const PASSWORD = `pw-${randomBytes(12).toString("hex")}`;

const external = externalServerUrl();
if (external !== undefined) {
  const admin = `${external}/_node/_local/_config/admins/${encodeURIComponent(CLI_USER)}`;
  /** The admin's stored value (the password's hash once CouchDB hashed it), or `undefined` when there is none. */
  const stored = async (): Promise<string | undefined> => {
    const res = await couchFetch(admin);
    const body = (await res.json()) as unknown;
    return res.status === 200 && typeof body === "string" ? body : undefined;
  };
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
  beforeAll(async () => {
    const res = await couchFetch(admin, { method: "PUT", body: JSON.stringify(PASSWORD) });
    await res.arrayBuffer();
    expect(res.status, `creating the CLI tests' admin ${CLI_USER} on COUCHDB_URL`).toBe(200);
    // CouchDB hashes a new admin's password later and writes the config again; a delete before that
    // write would be undone by it. Wait for the hash (the hook's budget bounds the wait).
    while (!(await stored())?.startsWith("-")) await pause();
  });
  afterAll(async () => {
    while ((await stored()) !== undefined) {
      await (await couchFetch(admin, { method: "DELETE" })).arrayBuffer();
      await pause();
    }
  });
}

/** A URL's password left in clear (`scheme://user:password@`, not `user:***@`). */
const CLEAR_USERINFO = /\b[a-z][a-z0-9+.-]*:\/\/[^/@\s:]+:(?!\*\*\*@)[^/@\s]*@/i;

/** Why `output` shows a password, or `undefined`: {@link PASSWORD} anywhere, or any URL with its password in clear. */
export function passwordShown(output: string): string | undefined {
  if (output.includes(PASSWORD)) return "the CLI user's password";
  const clear = CLEAR_USERINFO.exec(output);
  return clear === null ? undefined : `a URL with its password in clear (${clear[0].replace(/:[^:]*@$/, ":…@")})`;
}

/** What a CLI run printed. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `divan <args>` (from TypeScript sources, through tsx) with `cwd` (default: the todo app). Rejects
 * when stdout or stderr shows a password ({@link passwordShown}).
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
        const shown = passwordShown(`${stdout}\n${stderr}`);
        if (shown !== undefined) {
          const hide = (text: string): string => redact(text.split(PASSWORD).join("***"));
          reject(new Error(`divan ${hide(args.join(" "))} printed ${shown}:\n${hide(stdout)}\n${hide(stderr)}`));
        } else resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The URL of database `db` on the server at `base`, with the credentials of {@link CLI_USER}. */
export function withCredentials(base: string, db: string): string {
  const u = new URL(`${base}/${db}`);
  u.username = CLI_USER;
  u.password = PASSWORD;
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

/** What a CLI test file shares (see {@link cliFixture}); `url` and `cli` are there once the file's `beforeAll` ran. */
export interface CliFixture {
  /** The test server's base URL (`COUCHDB_URL` or the embedded server's). */
  readonly url: string;
  /** The CLI bundled for plain Node. */
  readonly cli: BundledCli;
  /** A fresh database name starting with `prefix`, dropped after the file's tests with its `$divan` state database. */
  database(prefix: string): string;
}

/**
 * The set-up of a CLI test file that runs the bundled CLI against the test server: bundles the CLI and starts the
 * server before the file's tests, and afterwards removes the bundle, drops every database named by `database` and
 * closes the server. Call it once, at the top level of the file (it registers the `beforeAll` and `afterAll`).
 */
export function cliFixture(): CliFixture {
  let cli: BundledCli | undefined;
  let server: TestServer | undefined;
  const created: string[] = [];
  beforeAll(async () => {
    cli = await bundleCli();
    server = await startTestServer();
  });
  afterAll(async () => {
    await cli?.remove();
    if (server !== undefined) for (const db of created) await drop(server.url, db);
    await server?.close();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`cliFixture: the ${what} is there once the file's beforeAll ran`);
    return value;
  };
  return {
    get url() {
      return ready(server, "test server").url;
    },
    get cli() {
      return ready(cli, "bundled CLI");
    },
    database: (prefix) => {
      const db = uniqueDbName(prefix);
      created.push(db, `${db}%24divan`);
      return db;
    },
  };
}

/** A long-running `divan` child process (see {@link startCli}). */
export interface RunningCli {
  /** Resolves with the first match of `pattern` in stdout (rejects when the process exits first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code and the whole output. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Sends SIGKILL unless the process has ended (for a test's `finally`). */
  kill(): void;
}

/** Starts `divan <args>` from the bundle `cli` as a child process (cwd: the todo app unless given), as a supervisor runs it. */
export function startCli(cli: BundledCli, args: readonly string[], options: { cwd?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [cli.file, ...args], { cwd: options.cwd ?? TODO_APP, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout.on("data", (b: Buffer) => {
    stdout += b.toString();
    for (const l of listeners) l();
  });
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (err) => {
      stderr += `${String(err)}\n`;
      resolve(null);
    });
  });
  return {
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(stdout);
          if (m !== null) {
            listeners.delete(check);
            resolve(m);
          }
        };
        listeners.add(check);
        check();
        void exited.then((code) => reject(new Error(`divan ${args[0] ?? ""} exited with ${String(code)} before printing ${String(pattern)}:\n${stdout}\n${stderr}`)));
      }),
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      const code = await exited;
      return { code, stdout, stderr };
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
