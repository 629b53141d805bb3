/**
 * The world a scenario runs in: one server and devices running todo app versions, replicating for real.
 *
 * The world a scenario runs in: one server (the embedded one or `COUCHDB_URL`) and devices, each a
 * PouchDB memory database running a todo app version through the domain API, replicating with the
 * server for real (PouchDB replication through a counting proxy) and going offline and online.
 *
 * A scenario is a script of {@link ScenarioEvent}s; the world plays it against one strategy, keeps a
 * model of what users did, and records everything the invariants and metrics need. Deterministic: the
 * seed fixes entity ids, timestamps and the order in which devices sync.
 */
import { DivanError, isDivanError, messageOf } from "../../core/errors.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { openStore } from "../../store/open.js";
import { replicate } from "../../store/replicate.js";
import type { Registry } from "../../schemas/registry.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { todoSteps } from "./steps/index.js";
import type {
  AppVersion,
  Clock,
  DeviceBinding,
  DeviceContext,
  ReleaseResult,
  RetireResult,
  ServerContext,
  Strategy,
  SyncChannel,
} from "../../strategies/types.js";
import { SUPPORT_NOTICE_ID, type TodoPatch } from "./app.js";
import { TODO_DOMAIN, type Domain, type DomainApp } from "./domain.js";
import { compareWithModel, UserModel, type ReadCheck } from "./model.js";
import type { CountingProxy } from "./proxy.js";
import { seededClock, seededRandom, type Random } from "./seed.js";
import { memoryServer, type MemoryServer } from "./simulate/memory.js";
import { MemoryPouch, requireHttp, ServerConnections } from "./simulate/connections.js";
import { ScriptState, type ActionFacts } from "./simulate/script.js";
import type { AppRole, ScenarioEvent } from "./events.js";
import { FactsRecorder, type RunFacts } from "./facts.js";

export type { AppRole, ScenarioEvent } from "./events.js";
export type { ReadCheck } from "./model.js";
export type { RunFacts } from "./facts.js";

/** A user action that the app refused or that failed. */
export interface RefusedAction {
  step: number;
  device: string;
  action: string;
  error: string;
  /**
   * The device ran the old app version after the new one shipped; or it runs the new app, synced on the old one
   * after the release and not on the new one since ({@link Device.oldSideOnly}), and the action failed because it
   * holds no document of the todo: it never received it.
   */
  legacy: boolean;
}

/** A device in the world. */
export interface Device {
  readonly name: string;
  app: AppVersion;
  online: boolean;
  /** Told by the server that its app version is retired. */
  retired: boolean;
  /** Never used again ({@link ScenarioEvent} `abandon`): offline for good and left out of every check. */
  gone: boolean;
  /** See {@link FactsDevice.oldSideOnly}. */
  oldSideOnly: boolean;
  binding: DeviceBinding;
  todoApp: DomainApp;
  /** What the strategy sees of the device (replaced on upgrade). */
  context: DeviceContext;
  /** Every local database of the device (main first). */
  readonly locals: Map<string, DocumentStore>;
}

/** What the world needs. */
export interface WorldOptions {
  strategy: Strategy;
  scenario: string;
  seed: number;
  /**
   * `http` (default): the server at {@link serverUrl}, devices replicating through {@link proxy} (the truth).
   * `memory`: an in-process server of PouchDB memory databases that enforce `validate_doc_update`, the same
   * replicator without sockets (the fast simulation world); a translating proxy still listens on 127.0.0.1 (the invariants read it
   * there), while devices replicate with it in process through its `fetch` (the same proxy code, no socket).
   */
  transport?: "http" | "memory";
  /** The server's URL (may carry credentials), e.g. `http://127.0.0.1:5984`; required for `http`. */
  serverUrl?: string;
  /** The counting proxy in front of that server; required for `http`. */
  proxy?: CountingProxy;
  registry: Registry;
  /** The app's steps (default: the todo example's). */
  steps?: readonly StepDefinition[];
  /** The app's entities as scenarios use them (default: the todo example's, with its hand-written app). */
  domain?: Domain;
  /** Every app version the example knows, oldest first. */
  apps: readonly AppVersion[];
}

let worldCounter = 0;

/** A running world. Create with {@link World.create}, play events, then {@link World.close}. */
export class World {
  readonly options: WorldOptions;
  readonly strategy: Strategy;
  readonly model: UserModel;
  readonly domain: Domain;
  /** What the script did so far, as the generator judges it (which user actions were concurrent). */
  readonly script = new ScriptState();
  readonly clock: Clock;
  readonly random: Random;
  readonly devices = new Map<string, Device>();
  readonly checks: ReadCheck[] = [];
  readonly refused: RefusedAction[] = [];
  /** Databases on the server: suffix (`""` for main) → direct store. */
  readonly serverStores: Map<string, DocumentStore>;
  readonly oldApp: AppVersion;
  readonly newApp: AppVersion;
  released = false;
  releaseResult: ReleaseResult | undefined;
  retireResult: RetireResult | undefined;
  /** Document writes users made through their apps. */
  userWrites = 0;
  /** What happened in the run that a strategy's caveats may name (see {@link RunFacts}). */
  readonly facts: RunFacts;
  step = 0;
  readonly server: ServerContext;
  readonly #database: string;
  readonly #connections: ServerConnections;
  #reinstalls = 0;
  readonly #recorder: FactsRecorder;

  private constructor(options: WorldOptions, database: string, main: DocumentStore, memory: MemoryServer | undefined) {
    this.options = options;
    this.strategy = options.strategy;
    this.domain = options.domain ?? TODO_DOMAIN;
    this.model = new UserModel(this.domain.newDefault);
    this.#database = database;
    this.clock = seededClock();
    this.random = seededRandom(options.seed);
    const find = (version: string): AppVersion => {
      const app = options.apps.find((a) => a.version === version);
      if (!app) {
        throw new DivanError("CONFIG_INVALID", `Strategy ${options.strategy.name} names app ${version}, which has no manifest.`, {
          details: { version },
        });
      }
      return app;
    };
    this.oldApp = find(options.strategy.change.from);
    this.newApp = find(options.strategy.change.to);
    const idOf = (label: string): string | undefined => this.model.idOf(label);
    const unpushed = (device: string): Iterable<string> => this.script.devices.get(device)?.unpushed ?? [];
    this.#recorder = new FactsRecorder({ released: () => this.released, devices: this.devices, idOf, unpushed }, this.oldApp);
    this.facts = this.#recorder.facts;
    this.#connections = new ServerConnections(options, database, main, memory);
    this.serverStores = this.#connections.stores;
    this.server = {
      database,
      main,
      open: async (suffix) => this.#connections.serverStore(suffix),
      apps: options.apps,
      clock: this.clock,
      steps: options.steps ?? todoSteps,
      registry: options.registry,
      translatingProxy: this.#connections.translatingProxy,
    };
  }

  /** Creates the main server database and prepares the server with the strategy. */
  static async create(options: WorldOptions): Promise<World> {
    worldCounter += 1;
    const database = `divan-cmp-${process.pid}-${worldCounter}`;
    const memory = options.transport === "memory" ? memoryServer() : undefined;
    const main = memory !== undefined ? await memory.open(database) : await openStore(`${requireHttp(options).serverUrl.replace(/\/$/, "")}/${database}`);
    const world = new World(options, database, main, memory);
    try {
      await options.strategy.prepareServer(world.server);
    } catch (e) {
      await world.close().catch(() => undefined);
      throw e;
    }
    return world;
  }

  /** The app version a role stands for. */
  appOf(role: AppRole): AppVersion {
    return role === "old" ? this.oldApp : this.newApp;
  }

  /** Plays a whole script. Failed user actions are recorded, never thrown; world failures throw. */
  async play(events: readonly ScenarioEvent[]): Promise<void> {
    for (const event of events) await this.apply(event);
  }

  /** Plays one event. */
  async apply(event: ScenarioEvent): Promise<void> {
    this.step += 1;
    const facts = this.script.apply(event);
    await this.#play(event, facts);
    this.#recorder.played(event);
  }

  async #play(event: ScenarioEvent, facts: ActionFacts): Promise<void> {
    switch (event.kind) {
      case "device":
        await this.#addDevice(event.device, this.appOf(event.app));
        return;
      case "create":
        await this.#act(event.device, `create "${event.todo}"`, async (d) => {
          const { id, createdAt } = await d.todoApp.create(event.title);
          this.model.created(event.todo, { id, title: event.title, createdAt, done: false });
          return id;
        });
        return;
      case "edit-title":
        await this.#update(event.device, event.todo, { title: event.title }, facts);
        return;
      case "set-done":
        await this.#update(event.device, event.todo, { done: event.done }, facts);
        return;
      case "set-status": {
        // An app without statuses (1.1 in the non-breaking change) marks the todo done or not done instead.
        const patch: TodoPatch = this.device(event.device).todoApp.features.status ? { status: event.status } : { done: event.status === "done" };
        await this.#update(event.device, event.todo, patch, facts);
        return;
      }
      case "set-new-field": {
        const d = this.device(event.device);
        const patch: TodoPatch = d.todoApp.features.group ? { group: this.domain.newValue(event.value) as string } : { isImportant: true };
        await this.#update(event.device, event.todo, patch, facts);
        return;
      }
      case "delete":
        await this.#act(event.device, `delete "${event.todo}"`, async (d) => {
          const id = this.#idOf(event.todo);
          await d.todoApp.remove(id);
          this.model.deleted(id, facts);
          this.#recorder.deleted(d, id);
          return id;
        }, event.todo);
        return;
      case "offline":
        this.device(event.device).online = false;
        return;
      case "online":
        this.device(event.device).online = true;
        return;
      case "sync":
        await this.sync(this.device(event.device));
        return;
      case "push-first-document":
        // The script judges that the device holds the todo; a strategy may still never have given it to it
        // (`transactional` refuses an old app's late create). Then there is nothing to push: recorded as an
        // action the device could not do (naming the todo, so caveats are judged on it), like an edit of it.
        await this.#act(event.device, `push the first document of "${event.todo}"`, async (d) => {
          const id = this.#idOf(event.todo);
          await this.#pushFirstDocument(d, id);
          return id;
        }, event.todo);
        await this.strategy.settle(this.server);
        return;
      case "settle":
        await this.settle();
        return;
      case "release":
        this.releaseResult = await this.strategy.release(this.server, this.oldApp, this.newApp);
        this.released = true;
        return;
      case "upgrade": {
        const d = this.device(event.device);
        const from = d.app;
        d.app = this.newApp;
        d.context = { ...d.context, app: this.newApp };
        d.binding = await this.strategy.upgradeDevice(d.context, from, d.binding);
        d.todoApp = this.#newTodoApp(d);
        d.retired = false;
        this.#recorder.upgraded(d);
        return;
      }
      case "retire":
        this.retireResult = await this.strategy.retire(this.server, this.oldApp);
        for (const store of this.serverStores.values()) await this.#writeNotice(store);
        return;
      case "check":
        await this.check(event.label, event.devices);
        return;
      case "abandon": {
        const d = this.device(event.device);
        d.gone = true;
        d.online = false;
        return;
      }
      case "reinstall":
        await this.#reinstall(this.device(event.device));
        return;
    }
  }

  /**
   * Pushes the first document of entity `id` under either id scheme (`<root>:<id>`, or `<root>:<id>:v:<n>` in
   * multi-version storage), from the first channel whose database holds one (a device may hold an entity in
   * its old version's database only); `NOT_FOUND` when the device holds none.
   */
  async #pushFirstDocument(d: Device, id: string): Promise<void> {
    const root = this.domain.root;
    for (const channel of d.binding.sync) {
      const first = (await channel.local.allDocs({ startkey: `${root}:${id}`, endkey: `${root}:${id}:\uffff` })).rows.filter(
        (r) => r.id === `${root}:${id}` || r.id.startsWith(`${root}:${id}:v:`),
      );
      if (first.length === 0) continue;
      await replicate(channel.local, await this.#connections.channelRemote(channel), { docIds: first.map((r) => r.id) });
      return;
    }
    throw new DivanError("NOT_FOUND", `Device "${d.name}" holds no ${root}:${id} to push.`, { details: { device: d.name, id } });
  }

  /** The device called `name`. */
  device(name: string): Device {
    const d = this.devices.get(name);
    if (!d) throw new DivanError("CONFIG_INVALID", `The scenario uses device "${name}" before adding it.`, { details: { name } });
    return d;
  }

  /** One push then one pull on every channel of `d`; returns the documents written on both sides. */
  async sync(d: Device): Promise<number> {
    let written = 0;
    for (const channel of d.binding.sync) {
      const remote = await this.#connections.channelRemote(channel);
      const push = await replicate(channel.local, remote, channel.pushSelector ? { selector: channel.pushSelector } : {});
      await this.strategy.caughtUp?.(this.server);
      const pull = await replicate(remote, channel.local, channel.pullSelector ? { selector: channel.pullSelector } : {});
      written += push.docsWritten + pull.docsWritten;
    }
    const next = await d.binding.synced?.();
    if (next !== undefined) {
      d.binding = next;
      d.todoApp = this.#newTodoApp(d);
    }
    this.#recorder.synced(d);
    return written;
  }

  /** Syncs every online device (in a seeded order) and lets the strategy settle, until nothing moves. */
  async settle(): Promise<void> {
    for (let round = 0; round < 8; round++) {
      await this.strategy.settle(this.server);
      let moved = 0;
      const online = [...this.devices.values()].filter((d) => d.online);
      for (const d of this.random.shuffle(online)) moved += await this.sync(d);
      await this.strategy.settle(this.server);
      if (moved === 0) return;
    }
  }

  /**
   * Every online device (or only those named) lists its todos; the lists are compared with the model
   * and recorded. A device told that its app version is retired is marked and not compared.
   */
  async check(label: string, only?: readonly string[]): Promise<ReadCheck[]> {
    const out: ReadCheck[] = [];
    for (const d of this.devices.values()) {
      if (!d.online || d.gone || (only !== undefined && !only.includes(d.name))) continue;
      this.#recorder.listed(d);
      const list = await d.todoApp.list();
      if (list.retired) {
        d.retired = true;
        continue;
      }
      // Legacy: what an old app shows after the release. A new app's list is never legacy, not even on a device that
      // synced on the old app only since the release ({@link Device.oldSideOnly}): a script checks right after a settle,
      // which synced every online device on its app, so the new app had every todo to show.
      out.push(compareWithModel(this.model, { at: label, device: d.name, app: d.app.version, legacy: this.released && d.app.version === this.oldApp.version, features: d.todoApp.features }, list));
    }
    this.checks.push(...out);
    return out;
  }

  /** Every document of every server database (suffix → docs, without `_local`), in id order. */
  async serverDocs(): Promise<Map<string, Doc[]>> {
    const out = new Map<string, Doc[]>();
    for (const [suffix, store] of this.serverStores) out.set(suffix, await allDocsOf(store));
    return out;
  }

  /** The direct (not proxied) store of server database `suffix`. */
  serverStore(suffix: string): Promise<DocumentStore> {
    return this.#connections.serverStore(suffix);
  }

  /**
   * The direct (not proxied) store a channel replicates with: server database `channel.database`, or the
   * database at `channel.remoteUrl` (e.g. a translating proxy) when the channel names one.
   */
  async remoteOf(channel: SyncChannel): Promise<DocumentStore> {
    return this.#connections.remoteOf(channel);
  }

  /** Stops the strategy, destroys every database the run created and closes every store. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    await attempt(() => this.strategy.close());
    for (const d of this.devices.values()) for (const s of d.locals.values()) await attempt(async () => {
      await s.destroy();
      await s.close();
    });
    for (const s of this.#connections.proxiedStores()) await attempt(() => s.close());
    for (const s of this.serverStores.values()) await attempt(async () => {
      await s.destroy();
      await s.close();
    });
    if (errors.length > 0) {
      throw new DivanError("INTERNAL", `Closing the world failed: ${errors.map(messageOf).join("; ")}`, { cause: errors[0] });
    }
  }

  /**
   * The revisions (`<doc id>@<rev>`) device `d` holds, in every local database, of the documents of entity `id` its
   * app's version reads (not another version's, which a transformer on the device derives from them).
   */
  async #revisionsOf(d: Device, id: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const store of d.locals.values()) {
      for (const row of (await store.allDocs({ includeDocs: true })).rows) {
        const doc = row.doc;
        if (!row.id.includes(id) || !doc || (typeof doc["schema"] === "string" && d.app.shape[doc["schema"]] !== doc["version"])) continue;
        out.add(`${row.id}@${doc._rev}`);
      }
    }
    return out;
  }

  async #update(device: string, todo: string, patch: TodoPatch, facts: ActionFacts): Promise<void> {
    await this.#act(device, `update "${todo}" ${JSON.stringify(patch)}`, async (d) => {
      const id = this.#idOf(todo);
      const before = await this.#revisionsOf(d, id);
      const { status, wrote } = await d.todoApp.update(id, patch);
      // What the device wrote, from what it saw: marking done what it shows as done writes nothing.
      if (wrote) {
        const written = [...(await this.#revisionsOf(d, id))].filter((r) => !before.has(r));
        this.model.updated(id, patch.done === undefined ? patch : { ...patch, done: undefined, status }, facts, written);
      }
      return id;
    }, todo);
  }

  /** Runs user action `f` on `device`; a failure is recorded as refused (`todo`: the todo it acts on, if any). */
  async #act(device: string, action: string, f: (d: Device) => Promise<string>, todo?: string): Promise<void> {
    const d = this.device(device);
    const before = d.todoApp.writes;
    try {
      await f(d);
    } catch (e) {
      this.refused.push({
        step: this.step,
        device,
        action,
        error: messageOf(e),
        legacy: (this.released && d.app.version === this.oldApp.version) || (todo !== undefined && (await this.#neverReceived(d, todo, e))),
      });
    } finally {
      this.userWrites += d.todoApp.writes - before;
    }
  }

  /**
   * Whether `failure`, of an action of `d` on `todo`, is that the device never received the todo on the old app's side:
   * it synced only on the old app since the release ({@link Device.oldSideOnly}), found nothing, and holds no
   * document (nor deletion) of the todo in any local database.
   */
  async #neverReceived(d: Device, todo: string, failure: unknown): Promise<boolean> {
    const id = this.model.idOf(todo);
    if (!d.oldSideOnly || id === undefined || !isDivanError(failure, "NOT_FOUND")) return false;
    for (const store of d.locals.values()) if ((await store.changes({})).results.some((c) => c.id.includes(id))) return false;
    return true;
  }

  #idOf(label: string): string {
    const id = this.model.idOf(label);
    if (id === undefined) {
      throw new DivanError("CONFIG_INVALID", `The scenario names todo "${label}" before creating it.`, { details: { label } });
    }
    return id;
  }

  async #addDevice(name: string, app: AppVersion): Promise<void> {
    if (this.devices.has(name)) throw new DivanError("CONFIG_INVALID", `Device "${name}" exists already.`, { details: { name } });
    this.devices.set(name, await this.#openDevice(name, app, name));
  }

  /** Wipes `d` (its local databases are destroyed) and installs the new app version on it, empty and online. */
  async #reinstall(d: Device): Promise<void> {
    for (const s of d.locals.values()) {
      await s.destroy();
      await s.close();
    }
    this.#reinstalls += 1;
    this.devices.set(d.name, await this.#openDevice(d.name, this.newApp, `${d.name}-r${this.#reinstalls}`));
  }

  /** A device called `name` running `app`, its local databases named after `prefix`, opened by the strategy. */
  async #openDevice(name: string, app: AppVersion, prefix: string): Promise<Device> {
    const locals = new Map<string, DocumentStore>();
    const openLocal = async (suffix: string): Promise<DocumentStore> => {
      const existing = locals.get(suffix);
      if (existing) return existing;
      const store = await openStore(`${this.#database}-${prefix}${suffix}`, { PouchDB: MemoryPouch });
      locals.set(suffix, store);
      return store;
    };
    const local = await openLocal("");
    const offline = (): boolean => this.devices.get(name)?.online === false;
    const server = async (suffix: string): Promise<DocumentStore> => {
      if (offline()) throw new DivanError("STORE_UNAVAILABLE", `Device "${name}" is offline.`, { details: { device: name } });
      return this.#connections.proxiedStore(suffix);
    };
    const remote = async (url: string): Promise<DocumentStore> => {
      if (offline()) throw new DivanError("STORE_UNAVAILABLE", `Device "${name}" is offline.`, { details: { device: name } });
      return this.#connections.channelRemote({ local, database: "", remoteUrl: url });
    };
    const context: DeviceContext = {
      device: name,
      app,
      local,
      openLocal,
      server,
      remote,
      apps: this.options.apps,
      clock: this.clock,
      steps: this.server.steps,
      registry: this.server.registry,
    };
    const binding = await this.strategy.openDevice(context);
    const d: Device = { name, app, online: true, retired: false, gone: false, oldSideOnly: false, binding, context, locals, todoApp: undefined as unknown as DomainApp };
    d.todoApp = this.#newTodoApp(d);
    return d;
  }

  #newTodoApp(d: Device): DomainApp {
    return this.domain.createApp({
      store: d.binding.store,
      app: d.app,
      registry: this.options.registry,
      clock: this.clock,
      newId: () => this.random.hexId(),
    });
  }

  async #writeNotice(store: DocumentStore): Promise<void> {
    const notice: Doc = {
      _id: SUPPORT_NOTICE_ID,
      minimumVersion: this.newApp.version,
      message: `App ${this.oldApp.version} is no longer supported: please update to ${this.newApp.version}.`,
    };
    try {
      const current = await store.get(SUPPORT_NOTICE_ID);
      if (current._rev !== undefined) notice._rev = current._rev;
    } catch {
      // absent: create it
    }
    await store.put(notice);
  }
}

/** Every document of a store (deleted ones excluded, `_local` never listed), in id order. */
export async function allDocsOf(store: DocumentStore): Promise<Doc[]> {
  const page = await store.allDocs({ includeDocs: true });
  return page.rows.flatMap((r) => (r.doc ? [r.doc] : []));
}

/** The sync channels of every device, for invariants. */
export function channelsOf(d: Device): readonly SyncChannel[] {
  return d.binding.sync;
}
