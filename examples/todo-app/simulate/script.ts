/**
 * Scripts of world events as data, and the one place that says which event may come next.
 *
 * Scripts of world events as data, and the one place that says which event may come next
 * ({@link ScriptState}): the generator draws only legal events, minimizing keeps only legal scripts, and
 * the world learns from the same state which user actions were concurrent (made on a device that had not
 * yet received another device's edit of the same todo), so the model accepts what CouchDB does with them.
 *
 * What a device "has received" is judged from the script alone, conservatively: a todo (and each edit or
 * deletion of it) reaches the server when the device that made it syncs or settles online, and reaches
 * other devices only through a `settle` while they are online (the strategy has then caught up). A deletion a
 * device may have received (pushed by another device, or by an online upgrade, which may push and pull) ends
 * its edits and deletions of that todo.
 * Nothing here reads a clock or `Math.random`: the generator is a function of its seed.
 */
import { DivanError } from "../../../core/errors.js";
import type { Random } from "../seed.js";
import { seededRandom } from "../seed.js";
import { STATUSES } from "../app.js";
import type { ScenarioEvent } from "../events.js";

/** A replayable script: plain JSON. */
export interface Script {
  /** The seed the world uses for ids, timestamps and sync order (and the generator used, when generated). */
  readonly seed: number;
  readonly events: readonly ScenarioEvent[];
}

interface DeviceState {
  app: "old" | "new";
  online: boolean;
  /** Wrote since it last synced online. */
  dirty: boolean;
  /** Todos it wrote since it last synced online. */
  unpushed: Set<string>;
  /** Never syncs again. */
  gone: boolean;
  /** Todo label → the edits of it this device has received (its creation is edit 0, then one per edit). */
  seen: Map<string, Set<number>>;
  /** Todos whose deletion this device has received. */
  deletes: Set<string>;
  /**
   * Todos whose deletion it may have received: another device had pushed it when this one synced (whether
   * the server passed it on yet depends on the strategy). Such a todo is edited or deleted no more.
   */
  maybeDeleted: Set<string>;
}

interface TodoState {
  /** Edits so far, its creation included (their numbers are 0 … edits − 1). */
  edits: number;
  deleted: boolean;
  /** Deleted on one device while edited on another that had not received the deletion: either outcome is right. */
  contested: boolean;
}

/** What {@link ScriptState.apply} learned about a user action. */
export interface ActionFacts {
  /** The device had not received every earlier edit or deletion of the todo (a user conflict). */
  readonly concurrent: boolean;
  /** The todo is deleted on one device and edited on another: deleted or kept are both right. */
  readonly contested: boolean;
}

const NONE: ActionFacts = { concurrent: false, contested: false };

/** Why `event` may not come next, or `undefined` when it may. */
export type Verdict = string | undefined;

/** The state of a script after some of its events; see the module comment. */
export class ScriptState {
  released = false;
  retired = false;
  readonly devices = new Map<string, DeviceState>();
  readonly todos = new Map<string, TodoState>();
  #pending = new Map<string, Set<number>>();
  #pendingDeletes = new Set<string>();
  #settled = new Map<string, Set<number>>();
  #settledDeletes = new Set<string>();
  /** Deletions an online upgrade may have pushed (whether it does depends on the strategy). */
  #upgradeDeletes = new Set<string>();
  #last: ScenarioEvent["kind"] | undefined;
  readonly #played: ScenarioEvent[] = [];

  /** A state of its own after the same events. */
  clone(): ScriptState {
    const copy = new ScriptState();
    for (const e of this.#played) copy.apply(e);
    return copy;
  }

  /** Why `event` is not legal here (`undefined`: it is). */
  check(event: ScenarioEvent): Verdict {
    const d = "device" in event ? this.devices.get(event.device) : undefined;
    switch (event.kind) {
      case "device":
        if (this.devices.has(event.device)) return `device ${event.device} exists`;
        if (event.app === "new" && !this.released) return "a new-app device before the release";
        if (event.app === "old" && this.retired) return "an old-app device after the old app was retired";
        return undefined;
      case "release":
        return this.released ? "released twice" : undefined;
      case "retire":
        return !this.released ? "retire before the release" : this.retired ? "retired twice" : undefined;
      case "settle":
        return undefined;
      case "check":
        if (this.#last !== "settle") return "a check only right after a settle";
        return [...this.devices.values()].some((d) => d.dirty && !d.gone) ? "a device holds writes it has not pushed" : undefined;
      default:
        break;
    }
    if (d === undefined) return `device ${event.device} does not exist`;
    if (d.gone) return `device ${event.device} never syncs again`;
    switch (event.kind) {
      case "offline":
        return d.online ? undefined : "already offline";
      case "online":
        return d.online ? "already online" : undefined;
      case "sync":
        return d.online ? undefined : "sync while offline";
      case "upgrade":
        return !this.released ? "upgrade before the release" : d.app === "new" ? "already on the new app" : undefined;
      case "abandon":
        return d.dirty ? "it holds writes it has not pushed" : undefined;
      case "reinstall":
        return !this.released ? "reinstall before the release" : d.dirty ? "it holds writes it has not pushed" : undefined;
      case "create":
        return d.app === "old" && this.retired ? "the old app is retired" : undefined;
      case "push-first-document":
        if (d.app !== "new") return "only a new-app device writes several documents per todo";
        return this.#holds(d, event.todo) ? undefined : `device ${event.device} holds no ${event.todo}`;
      case "set-status":
      case "set-new-field":
        if (d.app !== "new") return "the old app cannot set this field";
        return this.#mayEdit(d, event.todo);
      case "edit-title":
      case "set-done":
      case "delete":
        if (d.app === "old" && this.retired) return "the old app is retired";
        return this.#mayEdit(d, event.todo);
    }
  }

  #holds(d: DeviceState, todo: string): boolean {
    return d.seen.has(todo) && !d.deletes.has(todo) && !d.maybeDeleted.has(todo);
  }

  #mayEdit(d: DeviceState, todo: string): Verdict {
    const t = this.todos.get(todo);
    if (t === undefined) return `todo ${todo} does not exist`;
    if (!this.#holds(d, todo)) return `the device has not received ${todo}`;
    if (t.contested) return `${todo} was deleted and edited concurrently: whether it exists depends on the strategy`;
    return undefined;
  }

  /** Applies `event` (legal or not: the named scenarios are played as written); returns what a user action was. */
  apply(event: ScenarioEvent): ActionFacts {
    this.#played.push(event);
    this.#last = event.kind;
    const d = "device" in event ? this.devices.get(event.device) : undefined;
    switch (event.kind) {
      case "device":
        this.devices.set(event.device, { app: event.app, online: true, dirty: false, unpushed: new Set(), gone: false, seen: new Map(), deletes: new Set(), maybeDeleted: new Set() });
        return NONE;
      case "release":
        this.released = true;
        return NONE;
      case "retire":
        this.retired = true;
        return NONE;
      case "settle": {
        const online = [...this.devices.values()].filter((x) => x.online && !x.gone);
        for (const x of online) this.#push(x);
        for (const [t, v] of this.#pending) merge(this.#settled, t, v);
        for (const t of this.#pendingDeletes) this.#settledDeletes.add(t);
        for (const x of online) this.#pull(x);
        for (const x of online) for (const t of this.#upgradeDeletes) x.maybeDeleted.add(t);
        return NONE;
      }
      case "check":
        return NONE;
      default:
        break;
    }
    if (d === undefined) return NONE;
    switch (event.kind) {
      case "offline":
        d.online = false;
        return NONE;
      case "online":
        d.online = true;
        return NONE;
      case "sync":
        if (d.online) {
          this.#push(d);
          this.#pull(d);
          for (const t of [...this.#pendingDeletes, ...this.#upgradeDeletes]) d.maybeDeleted.add(t);
        }
        return NONE;
      case "upgrade":
        // Online, a strategy may push and pull while it upgrades: the device's deletions may reach the server
        // (so a device that syncs later may never see the todo), and it may receive the deletions pushed so far.
        if (d.online) {
          for (const t of d.deletes) this.#upgradeDeletes.add(t);
          for (const t of [...this.#pendingDeletes, ...this.#settledDeletes, ...this.#upgradeDeletes]) d.maybeDeleted.add(t);
        }
        d.app = "new";
        return NONE;
      case "abandon":
        d.gone = true;
        d.online = false;
        return NONE;
      case "reinstall":
        Object.assign(d, { app: "new", online: true, dirty: false, unpushed: new Set(), seen: new Map(), deletes: new Set(), maybeDeleted: new Set() });
        return NONE;
      case "push-first-document":
        return NONE;
      case "create":
        this.todos.set(event.todo, { edits: 1, deleted: false, contested: false });
        d.seen.set(event.todo, new Set([0]));
        d.dirty = true;
        d.unpushed.add(event.todo);
        return NONE;
      case "edit-title":
      case "set-done":
      case "set-status":
      case "set-new-field":
      case "delete": {
        const t = this.todos.get(event.todo);
        if (t === undefined) return NONE;
        const seen = d.seen.get(event.todo) ?? new Set<number>();
        const concurrent = seen.size < t.edits || (t.deleted && !d.deletes.has(event.todo));
        if (event.kind === "delete") {
          if (concurrent) t.contested = true;
          t.deleted = true;
          d.deletes.add(event.todo);
        } else if (t.deleted) t.contested = true;
        seen.add(t.edits);
        d.seen.set(event.todo, seen);
        t.edits += 1;
        d.dirty = true;
        d.unpushed.add(event.todo);
        return { concurrent, contested: t.contested };
      }
    }
  }

  #push(d: DeviceState): void {
    for (const [t, v] of d.seen) merge(this.#pending, t, v);
    for (const t of d.deletes) this.#pendingDeletes.add(t);
    d.dirty = false;
    d.unpushed.clear();
  }

  #pull(d: DeviceState): void {
    for (const [t, v] of this.#settled) merge(d.seen, t, v);
    for (const t of this.#settledDeletes) d.deletes.add(t);
  }
}

/** Adds the edits `v` of todo `t` to `into`. */
function merge(into: Map<string, Set<number>>, t: string, v: ReadonlySet<number>): void {
  const s = into.get(t) ?? new Set<number>();
  for (const n of v) s.add(n);
  into.set(t, s);
}

/** The first illegal event of `events` (index and reason), or `undefined` when the script is legal. */
export function firstIllegal(events: readonly ScenarioEvent[]): { index: number; reason: string } | undefined {
  const state = new ScriptState();
  for (const [index, e] of events.entries()) {
    const reason = state.check(e);
    if (reason !== undefined) return { index, reason };
    state.apply(e);
  }
  return undefined;
}

/** Throws `CONFIG_INVALID` naming the first illegal event of `script`. */
export function assertLegal(script: Script): void {
  const bad = firstIllegal(script.events);
  if (bad !== undefined) {
    throw new DivanError("CONFIG_INVALID", `Event ${bad.index + 1} of the script (${JSON.stringify(script.events[bad.index])}) is not legal: ${bad.reason}.`, {
      details: { index: bad.index },
    });
  }
}

/** Options of {@link generateScript}. */
export interface GenerateOptions {
  /** Events to draw (default: 8 to 30, drawn from the seed). */
  readonly length?: number;
  /** Devices at most (default 4). */
  readonly maxDevices?: number;
}

const DEVICE_NAMES = ["d1", "d2", "d3", "d4", "d5", "d6"];

/**
 * A random legal script from `seed`: devices on the old app create and edit todos, go offline and online,
 * the new version ships, devices upgrade (online or offline), join late on the new app, are wiped and
 * re-installed, never sync again, edit the same todo concurrently, delete what another edits, and the old
 * version is retired while devices are offline.
 */
export function generateScript(seed: number, options: GenerateOptions = {}): Script {
  const random = seededRandom(seed);
  const length = options.length ?? 8 + random.int(23);
  const maxDevices = options.maxDevices ?? 4;
  const state = new ScriptState();
  const events: ScenarioEvent[] = [];
  let todos = 0;
  let titles = 0;
  const push = (e: ScenarioEvent): void => {
    events.push(e);
    state.apply(e);
  };
  push({ kind: "device", device: "d1", app: "old" });
  const releaseAt = 2 + random.int(Math.max(1, Math.floor(length * 0.6)));
  for (let i = 0; i < length; i++) {
    if (!state.released && i >= releaseAt) {
      push({ kind: "release" });
      continue;
    }
    if (random.next() < 0.08) {
      const story = legacyStory(state, random, () => `title ${++titles}`);
      if (story !== undefined) {
        for (const e of story) push(e);
        i += story.length - 1;
        continue;
      }
    }
    const candidates = candidatesOf(state, random, { maxDevices, nextTodo: `t${todos + 1}`, title: () => `title ${++titles}` });
    const legal = candidates.filter((c) => state.check(c.event) === undefined);
    const pick = weighted(random, legal);
    if (pick === undefined) continue;
    if (pick.kind === "create") todos += 1;
    push(pick);
  }
  if (!state.released) push({ kind: "release" });
  return { seed, events };
}

/**
 * "Legacy forever": a new-app device sets a field only the new app knows, everyone online settles, then an
 * old-app device edits the same todo (what the old app cannot represent must survive its edit). Drawn as
 * one story because single random events rarely line up this way. `undefined` when no pair of devices fits.
 */
function legacyStory(state: ScriptState, random: Random, title: () => string): ScenarioEvent[] | undefined {
  const online = [...state.devices.entries()].filter(([, d]) => d.online && !d.gone);
  const news = online.filter(([, d]) => d.app === "new").map(([n]) => n);
  const olds = online.filter(([, d]) => d.app === "old").map(([n]) => n);
  const todos = [...state.todos.keys()];
  if (news.length === 0 || olds.length === 0 || todos.length === 0) return undefined;
  const story: ScenarioEvent[] = [
    { kind: "set-new-field", device: news[random.int(news.length)]!, todo: todos[random.int(todos.length)]!, value: `group ${random.int(3)}` },
    { kind: "settle" },
  ];
  story.push({ kind: "edit-title", device: olds[random.int(olds.length)]!, todo: (story[0] as { todo: string }).todo, title: title() });
  return firstIllegalAfter(state, story) === undefined ? story : undefined;
}

/** Whether `events` could follow the script that led to `state` (checked on a copy of the events so far). */
function firstIllegalAfter(state: ScriptState, events: readonly ScenarioEvent[]): string | undefined {
  const copy = state.clone();
  for (const e of events) {
    const why = copy.check(e);
    if (why !== undefined) return why;
    copy.apply(e);
  }
  return undefined;
}

interface Candidate {
  readonly event: ScenarioEvent;
  readonly weight: number;
}

function weighted(random: Random, list: readonly Candidate[]): ScenarioEvent | undefined {
  const total = list.reduce((s, c) => s + c.weight, 0);
  if (total <= 0) return undefined;
  let x = random.next() * total;
  for (const c of list) {
    x -= c.weight;
    if (x < 0) return c.event;
  }
  return list[list.length - 1]?.event;
}

/** Every kind of event, once per device/todo it could name, with how likely it is drawn. */
function candidatesOf(state: ScriptState, random: Random, o: { maxDevices: number; nextTodo: string; title: () => string }): Candidate[] {
  const out: Candidate[] = [];
  const live = [...state.devices.entries()].filter(([, d]) => !d.gone).map(([name]) => name);
  const free = DEVICE_NAMES.slice(0, o.maxDevices).find((n) => !state.devices.has(n));
  if (free !== undefined && live.length < o.maxDevices) {
    out.push({ event: { kind: "device", device: free, app: "old" }, weight: state.released ? 2 : 4 });
    out.push({ event: { kind: "device", device: free, app: "new" }, weight: 3 });
  }
  const todos = [...state.todos.keys()];
  const pickTodo = (): string | undefined => todos[random.int(todos.length)];
  for (const device of live) {
    out.push({ event: { kind: "create", device, todo: o.nextTodo, title: o.title() }, weight: todos.length < 2 ? 6 : 2 });
    const t = pickTodo();
    if (t !== undefined) {
      out.push({ event: { kind: "edit-title", device, todo: t, title: o.title() }, weight: 3 });
      out.push({ event: { kind: "set-done", device, todo: t, done: random.int(2) === 0 }, weight: 3 });
      out.push({ event: { kind: "set-status", device, todo: t, status: STATUSES[random.int(STATUSES.length)]! }, weight: 2 });
      out.push({ event: { kind: "set-new-field", device, todo: t, value: `group ${random.int(3)}` }, weight: 2.5 });
      out.push({ event: { kind: "delete", device, todo: t }, weight: 1 });
      out.push({ event: { kind: "push-first-document", device, todo: t }, weight: 0.3 });
    }
    out.push({ event: { kind: "offline", device }, weight: 2 });
    out.push({ event: { kind: "online", device }, weight: 2.5 });
    out.push({ event: { kind: "sync", device }, weight: 3 });
    out.push({ event: { kind: "upgrade", device }, weight: 2.5 });
    out.push({ event: { kind: "abandon", device }, weight: 0.3 });
    out.push({ event: { kind: "reinstall", device }, weight: 0.4 });
  }
  out.push({ event: { kind: "settle" }, weight: 2.5 });
  out.push({ event: { kind: "check", label: "check" }, weight: 1.5 });
  out.push({ event: { kind: "retire" }, weight: 0.4 });
  return out;
}
