/**
 * Ctrl-C (SIGINT) and SIGTERM during `divan migrate` and `divan rollback`: the run stops between pages and resumes.
 */
import type { MigrationReport } from "../../strategies/runner/types.js";

/**
 * SIGINT (Ctrl-C) and SIGTERM during a run: the first stops it between pages (the runner saves its checkpoint and
 * releases its lease, so the same command resumes at once), a second one ends the process. `signal` goes into the
 * migration's options; `exitCode` is 130 (SIGINT) or 143 (SIGTERM) once one came; `dispose` removes the handlers.
 */
export function interruptions(): { signal: AbortSignal; readonly exitCode: number | undefined; dispose(): void } {
  const stop = new AbortController();
  let received: NodeJS.Signals | undefined;
  const on = (sig: NodeJS.Signals): void => {
    if (received !== undefined) process.exit(sig === "SIGINT" ? 130 : 143);
    received = sig;
    process.stderr.write(`${sig}: stopping after the pages in flight (the checkpoint is saved and the lease released; again to quit at once)\n`);
    stop.abort();
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return {
    signal: stop.signal,
    get exitCode() {
      return received === undefined ? undefined : received === "SIGINT" ? 130 : 143;
    },
    dispose() {
      process.removeListener("SIGINT", on);
      process.removeListener("SIGTERM", on);
    },
  };
}

/**
 * When a signal stopped the run (see {@link interruptions}): prints its report (as `format` shows it) and how to
 * resume, sets the exit code and returns true; otherwise false, and prints nothing.
 */
export function reportStopped(report: MigrationReport, interrupted: { readonly exitCode: number | undefined } | undefined, format: (r: MigrationReport) => string): boolean {
  if (report.completed || interrupted?.exitCode === undefined) return false;
  process.stdout.write(`${format(report)}stopped before the end: run the same command again to resume from the checkpoint\n`);
  process.exitCode = interrupted.exitCode;
  return true;
}
