/**
 * The transformer service's periodic scan that ends stale translations, as the per-version strategies do when they
 * settle: one scan when transforming starts, then one every `everyMs` (0: only the first), one at a time.
 */
import { messageOf } from "../../core/errors.js";
import { redact } from "../../core/redact.js";
import { endStaleTranslations } from "../../strategies/transformer/stale.js";
import type { Transformer } from "../../strategies/transformer/transformer.js";

/** What the scans did so far, for `GET /_divan/status`. */
export interface StaleScanStatus {
  readonly scans: number;
  readonly ended: number;
  readonly lastScanAt: number | null;
  readonly lastError: string | null;
}

/** The scans of one service: started while it transforms, stopped (after the running scan) before it stops. */
export interface StaleScans {
  readonly start: () => void;
  readonly stop: () => Promise<void>;
  readonly status: () => StaleScanStatus;
}

/** Scans `transformer`'s databases for stale translations while started; a failed scan is logged and retried later. */
export function staleScans(transformer: Transformer, everyMs: number, log?: (line: string) => void): StaleScans {
  let status: StaleScanStatus = { scans: 0, ended: 0, lastScanAt: null, lastError: null };
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();
  const scan = async (): Promise<void> => {
    timer = undefined;
    if (!running) return;
    try {
      await transformer.idle();
      const ended = await endStaleTranslations(transformer);
      status = { scans: status.scans + 1, ended: status.ended + ended.length, lastScanAt: Date.now(), lastError: null };
      if (ended.length > 0) log?.(`ended stale translations of ${ended.length} document(s): ${ended.slice(0, 5).join(", ")}${ended.length > 5 ? ", …" : ""}`);
    } catch (e) {
      status = { ...status, lastError: redact(messageOf(e)) };
      log?.(`stale translation scan: ${status.lastError}`);
    }
    if (running && everyMs > 0) timer = setTimeout(() => (chain = chain.then(scan)), everyMs);
  };
  return {
    start: () => {
      running = true;
      chain = chain.then(scan);
    },
    stop: async () => {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    status: () => status,
  };
}
