/**
 * `divan serve`: the embedded CouchDB-compatible server, and optionally the replication transformers.
 *
 * `divan serve [--port N] [--data DIR] [--transform CONFIG [--status-port N] [--lease-owner NAME]] [--config FILE]`: runs the embedded
 * CouchDB-compatible server until SIGINT/SIGTERM, then closes it cleanly and exits 0. With
 * `--transform`, also runs the replication transformers of the config (`server/transformer/config.ts`)
 * against it — or, when `COUCHDB_URL` is set, the transformers alone against that server — and serves
 * `GET /_divan/status` on 127.0.0.1 (`--status-port`, default a free port; the URL is printed).
 *
 * `divan serve --lazy [--db URL] [--port N]` serves instead the translating proxy of `server-lazy`
 * (`server/lazy/proxy.ts`, the one the comparison runs) in front of the database: one CouchDB-compatible
 * database per manifest (`app-<version>`), until SIGINT/SIGTERM.
 */
import type { Command } from "commander";
import { DivanError } from "../../core/errors.js";
import { importPeer } from "../../core/peer.js";
import type { EmbeddedServer } from "../embedded.js";
import { loadTransformConfig } from "../transformer/config.js";
import { startTransformerService, type TransformerService } from "../transformer/service.js";
import { redact } from "../../core/redact.js";
import { commandConfig, configOption, loadConfiguredRegistry, loadStepDefinitions, type ResolvedConfig } from "../config.js";
import { loadManifests } from "../../schemas/load.js";
import { resolveManifest, sortManifests } from "../../schemas/manifest.js";
import { stripCredentials } from "../../core/redact.js";
import type { TranslatingProxy } from "../../strategies/proxy.js";
import { viewName } from "../../strategies/server-lazy/index.js";
import { openDb, requireDb, showShape } from "./migrate.js";

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) {
    throw new DivanError("CONFIG_INVALID", `--port must be an integer between 0 and 65535, got "${value}".`);
  }
  return n;
}

/** Resolves on SIGINT or SIGTERM (listening from the call on). */
function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * `divan serve --lazy`: the translating proxy `server-lazy` runs (`startLazyProxy`), in front of the configured
 * database, one view per manifest (oldest first: writes through any view store the newest shape), until
 * SIGINT/SIGTERM.
 */
async function serveLazy(config: ResolvedConfig, port: number): Promise<void> {
  const db = requireDb(config);
  const registry = await loadConfiguredRegistry(config);
  const steps = await loadStepDefinitions(config.steps);
  const manifests = sortManifests(await loadManifests(config.manifests));
  if (manifests.length === 0) throw new DivanError("CONFIG_INVALID", `--lazy serves one database per app version: there is no manifest in ${config.manifests}`, { details: { field: "manifests" } });
  const views = manifests.map((m) => ({ name: viewName(m.version), shape: resolveManifest(m, registry) }));
  // The proxy is an express app (an optional peer): loaded only when it runs.
  const { startLazyProxy } = await importPeer("express", "the translating proxy (divan serve --lazy)", () => import("../lazy/proxy.js"));
  const stopped = untilStopped();
  const store = await openDb(db);
  let proxy: TranslatingProxy;
  try {
    proxy = await startLazyProxy({ store, registry, steps, views, port });
  } catch (e) {
    await store.close();
    throw e;
  }
  process.stdout.write(`divan lazy proxy listening on ${proxy.url} in front of ${stripCredentials(db)}\n`);
  for (const v of views) process.stdout.write(`  ${proxy.urlOf(v.name)}  ${showShape(v.shape)}\n`);
  await stopped;
  await proxy.close();
  await store.close();
  process.stdout.write("divan lazy proxy stopped\n");
  process.exitCode = 0;
}

/** Registers `divan serve`. */
export function register(program: Command): void {
  const cmd = program
    .command("serve")
    .description("Run the embedded CouchDB-compatible server (in memory, or LevelDB files with --data) until Ctrl-C; with --lazy, the translating proxy of server-lazy in front of --db instead.")
    .option("-p, --port <port>", "TCP port on 127.0.0.1 (0 picks a free port)", parsePort, 5984)
    .option("-d, --data <dir>", "keep databases as LevelDB files in this directory")
    .option("--verbose", "log every request to stderr")
    .option("--transform <config>", "also run the replication transformers of this JSON config (alone against COUCHDB_URL when it is set; default: transform of the divan config)")
    .option("--status-port <port>", "port of the transformers' GET /_divan/status listener (0 picks a free port)", parsePort, 0)
    .option(
      "--lazy",
      "instead: the translating proxy of the server-lazy strategy in front of --db (or db of the config), one database per app version of the manifests (app-<version>, e.g. app-1-0-0), on --port (default: a free port); apps replicate with their version's database, reads translate, writes store the newest version",
    )
    .option("--db <url>", "with --lazy: the server database (credentials as user:password@host; never printed)")
    .option("--lease-owner <name>", "who holds the transformers' lease (default: one name per process); a process killed while holding it is taken over at once by one with the same owner");
  configOption(cmd).action(async (flags: { port: number; data?: string; verbose?: boolean; transform?: string; statusPort: number; lazy?: boolean; db?: string; leaseOwner?: string }, command: Command) => {
      const config = await commandConfig(command);
      if (flags.lazy === true) {
        if (flags.transform !== undefined || flags.data !== undefined) {
          throw new DivanError("CONFIG_INVALID", `--lazy serves a translating proxy in front of --db: it cannot be combined with ${flags.transform !== undefined ? "--transform" : "--data"}`, { details: { option: "lazy" } });
        }
        await serveLazy(config, command.getOptionValueSource("port") === "default" ? 0 : flags.port);
        return;
      }
      const opts = { ...flags, ...(config.transform === undefined ? {} : { transform: config.transform }) };
      const couchUrl = opts.transform === undefined ? undefined : process.env["COUCHDB_URL"];
      // Listening before anything is announced: a supervisor may send SIGTERM as soon as it reads a line.
      const stopped = untilStopped();
      let server: EmbeddedServer | undefined;
      if (couchUrl === undefined || couchUrl === "") {
        // The embedded server runs on express, an optional peer: loaded only when it is started.
        const { startEmbeddedServer } = await importPeer("express", "the embedded server (divan serve)", () => import("../embedded.js"));
        server = await startEmbeddedServer({
          port: opts.port,
          ...(opts.data === undefined ? {} : { dataDir: opts.data }),
          ...(opts.verbose === true ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
        });
        process.stdout.write(`divan embedded server listening on ${server.url}${opts.data === undefined ? " (in memory)" : ` (data in ${opts.data})`}\n`);
      }
      let transformers: TransformerService | undefined;
      if (opts.transform !== undefined) {
        try {
          transformers = await startTransformerService({
            config: await loadTransformConfig(opts.transform),
            serverUrl: server?.url ?? couchUrl ?? "",
            statusPort: opts.statusPort,
            ...(opts.leaseOwner === undefined ? {} : { lease: { owner: opts.leaseOwner } }),
            log: (line) => process.stderr.write(`${redact(line)}\n`),
          });
        } catch (e) {
          await server?.close();
          throw e;
        }
        const lease = (await transformers.status()).lease;
        const waiting = lease !== null && !lease.held ? ` (waiting for the lease held by ${lease.owner ?? "another process"})` : "";
        process.stdout.write(`divan transformers running for ${transformers.transformer.sides.map((s) => s.name).join(", ")}${waiting}; status at ${transformers.statusUrl ?? "(none)"}\n`);
      }
      await stopped;
      if (transformers !== undefined) {
        await transformers.close();
        process.stdout.write("divan transformers stopped\n");
      }
      if (server !== undefined) {
        await server.close();
        process.stdout.write("divan embedded server stopped\n");
      }
      process.exitCode = 0;
    });
}
