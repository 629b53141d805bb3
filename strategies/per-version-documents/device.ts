/**
 * The device side of per-version documents: the channel a device replicates through, and its upgrade, which reads
 * old documents through a transformer of its own until the server's translations arrive and then compacts.
 */
import type { StepDefinition } from "../../adapters/steps.js";
import { multiVersionIds } from "../../adapters/ids.js";
import { isDivanError } from "../../core/errors.js";
import { hasFault, type Fault } from "../../core/faults.js";
import { replicate } from "../../store/replicate.js";
import type { DocumentStore, Selector } from "../../store/port.js";
import { scanVersions, versionView } from "../../store/versions.js";
import { channelSelector, compactThrough, type ChannelForm } from "../channels.js";
import { lazyAccess } from "../transformer/lazy-access.js";
import { PROVENANCE_FIELD } from "../transformer/provenance.js";
import { createTransformer } from "../transformer/transformer.js";
import type { AppVersion, DeviceBinding, DeviceContext, Strategy, VersionShape } from "../types.js";
import { retiredVersions } from "../retire.js";

/** What the device side reads of the strategy's options. */
export interface DeviceSideOptions {
  readonly channel?: ChannelForm | "none";
  readonly steps?: readonly StepDefinition[];
  readonly faults?: readonly Fault[];
}

/**
 * What a device pulls besides its channel's selector: not the tombstones a retirement wrote (`retire.ts`). They end
 * the server's copies of what only the retired app needed; a device keeps its copies (as `purge` leaves them) until
 * its upgrade compacts them away, so an app upgraded offline after the retirement still reads its todos.
 */
const KEEP_RETIRED: Selector = { $not: { [`${PROVENANCE_FIELD}.ended`]: "retired" } };

/** The server as `device` reaches it, or `undefined` while it is offline. */
async function reach(device: DeviceContext): Promise<DocumentStore | undefined> {
  try {
    return await device.server("");
  } catch (e) {
    if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
    return undefined;
  }
}

/** The strategy's `openDevice` and `upgradeDevice`. */
export function deviceSide(options: DeviceSideOptions): Pick<Strategy, "openDevice" | "upgradeDevice"> {
  const channel = options.channel ?? "exact";
  const form: ChannelForm = channel === "none" ? "exact" : channel;
  let compactions = 0;

  const selectorOf = (shape: VersionShape) => channelSelector(shape, { form });
  const bind = (local: DocumentStore, app: AppVersion): DeviceBinding => {
    const selector = selectorOf(app.shape);
    const filter = channel === "none" ? { pullSelector: KEEP_RETIRED } : { pullSelector: { $and: [selector, KEEP_RETIRED] }, pushSelector: selector };
    return { store: versionView(local, app.shape), sync: [{ local, database: "", ...filter }] };
  };

  /**
   * A device that installed the new app version, holding old-version documents the server's translations
   * of which it has not received yet (it upgraded offline, or the server had not translated what it just
   * pushed). It compacts (client compaction: its data copied through the new channel into a fresh database)
   * at the first sync after which it holds every translation, and until then reads its old documents as
   * the server translates them, with a transformer of its own: from the old version to the new one only
   * (the server translates the new app's edits back), with deterministic revisions, as the server writes
   * them, so the translations it stores when its app edits meet the server's without a conflict (what
   * still meets, two translations of one revision on different parents, `settle` ends: `stale.ts`). It
   * replicates both versions meanwhile, so its old documents stay current.
   */
  const upgrading = async (device: DeviceContext, from: AppVersion, local: DocumentStore): Promise<DeviceBinding> => {
    const to = device.app;
    const t = createTransformer({
      sides: [
        { name: from.version, store: local, shape: { ...from.shape } },
        { name: to.version, store: local, shape: { ...to.shape } },
      ],
      steps: options.steps ?? device.steps,
      ids: multiVersionIds,
      deterministicRevs: true,
    });
    await t.retireSide(from.version);
    const selector = selectorOf(to.shape);
    const faulty = hasFault(options.faults, "compact-without-push");
    const compact = async (): Promise<DeviceBinding | undefined> => {
      const remote = await reach(device);
      if (remote === undefined) return undefined;
      const olds = await scanVersions(local, retiredVersions(from.shape, [to.shape]));
      const translated = await t.translated(from.version);
      if (!faulty && olds.some((r) => translated.get(r.id) !== r.rev)) return undefined;
      await t.stop();
      compactions += 1;
      const fresh = await device.openLocal(`-compact-${compactions}`);
      await compactThrough(local, fresh, selector, faulty ? {} : { push: remote });
      await replicate(remote, fresh, channel === "none" ? {} : { selector });
      return bind(fresh, to);
    };
    const now = await compact();
    if (now !== undefined) return now;
    const either = { $or: [selectorOf(from.shape), selector] };
    const both = channel === "none" ? { pullSelector: KEEP_RETIRED } : { pullSelector: { $and: [either, KEEP_RETIRED] }, pushSelector: either };
    return {
      store: versionView(lazyAccess(local, [], to.version, () => t), to.shape),
      sync: [{ local, database: "", ...both }],
      synced: compact,
    };
  };

  const upgradeDevice = async (device: DeviceContext, from: AppVersion, previous: DeviceBinding): Promise<DeviceBinding> => {
    const old = previous.sync[0]?.local ?? device.local;
    // Online: push what the old app wrote, pull the new version's documents. Offline: nothing yet.
    const remote = await reach(device);
    if (remote !== undefined) {
      const pushSelector = previous.sync[0]?.pushSelector;
      if (!hasFault(options.faults, "compact-without-push")) await replicate(old, remote, pushSelector === undefined ? {} : { selector: pushSelector });
      await replicate(remote, old, channel === "none" ? {} : { selector: selectorOf(device.app.shape) });
    }
    return upgrading(device, from, old);
  };

  return { openDevice: async (device) => bind(device.local, device.app), upgradeDevice };
}
