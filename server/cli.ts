#!/usr/bin/env node
/**
 * The `divan` command line. Each command lives in its own module under `server/commands/`
 * and registers itself on the commander program; this file only wires them together.
 */
import { Command, CommanderError } from "commander";
import { redact } from "../core/redact.js";
import { isDivanError } from "../core/errors.js";
import { commands } from "./commands/index.js";

const program = new Command()
  .name("divan")
  .description("Change the shape of CouchDB/PouchDB documents while old and new app versions keep working.")
  .showHelpAfterError()
  // A usage error (unknown command or option, a missing required option, a surplus argument) is a command that
  // could not run: exit 2 with a stable code, as every other such error. Set before the commands are registered,
  // which inherit both.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`divan: ${redact(text.replace(/^error: /, "").trimEnd())} [CONFIG_INVALID]\n`) });

for (const register of commands) register(program);

program.addHelpText(
  "afterAll",
  [
    "",
    "Exit codes:",
    "  0  everything migrated and valid (for check and types --check: nothing to report)",
    "  1  a document is quarantined (by this run, or still where it was after an earlier one) or invalid",
    "  2  the command could not run: a bad option or config, a database that does not exist (NOT_FOUND),",
    "     a lease another run holds (LEASE_HELD), a --target that is no copy of --db (NOT_A_COPY), …",
    "  130 (143) migrate or rollback stopped by Ctrl-C (SIGTERM) between pages: run the same command again to resume",
  ].join("\n"),
);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Help and version end with exit code 0; commander has printed the error of anything else already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    return;
  }
  const code = isDivanError(e) ? ` [${e.code}]` : "";
  process.stderr.write(`divan: ${redact(e instanceof Error ? e.message : String(e))}${code}\n`);
  process.exitCode = 2;
});
