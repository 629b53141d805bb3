/**
 * The device side of per-version documents: the channel a device replicates through, and its upgrade, which reads
 * old documents through a transformer of its own until the server's translations arrive and then compacts.
 */
import type { StepDefinition } from "../../adapters/steps.js";
import { multiVersionIds } from "../../adapters/ids.js";
import { isDivanError } from "../../core/errors.js";
import { hasFault, type Fault } from "../../core/faults.js";
import { replicate } from "../../store/replicate.js";
import { getIfExists, type DocumentStore } from "../../store/port.js";
import { scanVersions, versionView } from "../../store/versions.js";
import { channelSelector, compactThrough, RETIRED_DOC_ID, retirementOf, type ChannelForm } from "../channels.js";
import { lazyAccess } from "../transformer/lazy-access.js";
import { createTransformer } from "../transformer/transformer.js";
import type { AppVersion, DeviceBinding, DeviceContext, Strategy, VersionShape } from "../types.js";
import { retiredVersions } from "../retire.js";

/** What the device side reads of the strategy's options. */
export interface DeviceSideOptions {
  readonly channel?: ChannelForm | "none";
  readonly steps?: readonly StepDefinition[];
  readonly faults?: readonly Fault[];
}

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
    const filter = channel === "none" ? {} : { pullSelector: selector, pushSelector: selector };
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
    const both = channel === "none" ? {} : { pullSelector: { $or: [selectorOf(from.shape), selector] }, pushSelector: { $or: [selectorOf(from.shape), selector] } };
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

  /**
   * An old app's binding: after a sync that brought the `divan-retired` signal retiring its version (and the
   * tombstones that end its documents), the device also pulls the documents of the oldest supported version, so the
   * new app, installed offline from then on, reads its todos (the `newer` channel holds them from the start).
   */
  const open = async (device: DeviceContext): Promise<DeviceBinding> => {
    const { local, app } = device;
    const binding = bind(local, app);
    if (channel !== "exact") return binding;
    const synced = async (): Promise<DeviceBinding | undefined> => {
      const notice = await getIfExists(local, RETIRED_DOC_ID);
      if (notice === undefined) return undefined;
      const entry = retirementOf(notice, app.version);
      const next = entry === undefined ? undefined : device.apps.find((a) => a.version === entry.minimumVersion);
      const remote = next === undefined ? undefined : await reach(device);
      if (next === undefined || remote === undefined) return undefined;
      await replicate(remote, local, { selector: selectorOf(next.shape) });
      const both = { $or: [selectorOf(app.shape), selectorOf(next.shape)] };
      return { ...binding, sync: [{ local, database: "", pullSelector: both, pushSelector: selectorOf(app.shape) }] };
    };
    return { ...binding, synced };
  };

  return { openDevice: open, upgradeDevice };
}
