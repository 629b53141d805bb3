/**
 * The live adapter: an app reads documents of any stored version at its own versions and writes its own, migrating
 * entity by entity as it touches them (lazy, client-side). How it reads, writes and where it stops: README, "Live adapters".
 */
import { matchesSelector } from "pouchdb-selector-core";
import { DivanError, isDivanError } from "../../core/errors.js";
import { hasFault } from "../../core/faults.js";
import { singleVersionIds } from "../../adapters/ids.js";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import { isDeclarativeStep, type DeclarativeStep, type StepDefinition } from "../../adapters/steps.js";
import { sameShape, shapeKey, type Entity, type Shape } from "../../adapters/types.js";
import { sameContent } from "../runner/canonical.js";
import { resolveManifest } from "../../schemas/manifest.js";
import type { Registry } from "../../schemas/registry.js";
import { liveRows } from "../../store/rows.js";
import type { AllDocsOptions, AllDocsPage, AllDocsRow, Change, ChangesOptions, Doc, DocumentStore, FindRequest, LiveFeed, LiveFeedHandlers, Selector } from "../../store/port.js";
import { branchNextTo, endingWrites, familiesOf, markDeleted, newSteps, pathTo, readsDeleted, storedShape, typeOfId, type Graph, type Ref, type Stored, type View } from "./entities.js";
import { isGraph, PageRows, problemOf, schemaProblem, toLiveResult } from "./results.js";
import { scanFind } from "./query.js";
import { entityPages } from "./pages.js";
import type { EntityPagesOptions, LiveChange, LiveChangesPage, LiveConfig, LiveEntityPage, LiveFindResult, LivePage, LiveRow, LiveWriteResult, RowProblem } from "./types.js";

const hasOwn = Object.prototype.hasOwnProperty;

export type { EntityPagesOptions, LiveChange, LiveChangesPage, LiveConfig, LiveEntityPage, LiveFindResult, LivePage, LiveRow, LiveWriteResult, RowProblem } from "./types.js";

/**
 * A live adapter over one store for one app version. Create it with {@link createLiveAdapter} (or through
 * the PouchDB plugin: `db.divan(config)`).
 */
export class LiveAdapter {
  /** The store documents live in. */
  readonly store: DocumentStore;
  /** The app's shape (type → major). */
  readonly shape: Shape;
  /** The registry. */
  readonly registry: Registry;
  readonly #config: LiveConfig;
  readonly #bundled: readonly StepDefinition[] | StepGraph;
  #graph: Graph;
  #stepsRev: string | undefined;

  constructor(store: DocumentStore, config: LiveConfig) {
    if (config.shape === undefined && config.manifest === undefined) {
      throw new DivanError("CONFIG_INVALID", "divan/client needs the app's manifest or shape: configure({ registry, steps, manifest })", {});
    }
    this.store = store;
    this.registry = config.registry;
    this.shape = config.shape ?? resolveManifest(config.manifest!, config.registry);
    this.#config = config;
    this.#bundled = config.steps;
    this.#graph = this.#build([]);
  }

  #build(extra: readonly DeclarativeStep[]): Graph {
    const fields = { typeField: this.registry.typeField, versionField: this.registry.versionField };
    let graph: StepGraph;
    if (isGraph(this.#bundled)) {
      graph = extra.length === 0 ? this.#bundled : createStepGraph([...this.#bundled.steps, ...newSteps(this.#bundled.steps, extra)], fields);
    } else {
      graph = createStepGraph([...this.#bundled, ...newSteps(this.#bundled, extra)], fields);
    }
    return { graph, families: familiesOf(graph, this.shape), paths: new WeakMap() };
  }

  /** Reloads steps from the steps document when it changed. */
  async #refresh(): Promise<Graph> {
    const id = this.#config.stepsDocId;
    if (id === undefined) return this.#graph;
    let doc: Doc | undefined;
    try {
      doc = await this.store.get(id);
    } catch (e) {
      if (!isDivanError(e, "NOT_FOUND")) throw e;
    }
    const rev = doc?._rev;
    if (rev === this.#stepsRev) return this.#graph;
    const steps = Array.isArray(doc?.["steps"]) ? (doc["steps"] as unknown[]) : [];
    const declarative = steps.filter((s): s is DeclarativeStep => typeof s === "object" && s !== null && isDeclarativeStep(s as StepDefinition));
    this.#graph = this.#build(declarative);
    this.#stepsRev = rev;
    return this.#graph;
  }

  // ------------------------------------------------------------------------------------------ entities

  #ref(g: Graph, id: string, doc?: Doc): Ref | undefined {
    const parsed = singleVersionIds.parse(id);
    if (parsed === undefined) return undefined;
    const ident = doc === undefined ? undefined : this.registry.identify(doc);
    const type = ident?.type ?? parsed.type;
    const family = g.families.get(type);
    if (family === undefined || family.types.indexOf(parsed.type) === -1) return undefined;
    return { family, entityId: parsed.entityId, type: parsed.type, key: `${family.types[0]!}\u0000${parsed.entityId ?? ""}`, id };
  }

  #idOf(ref: Ref, type: string): string {
    return singleVersionIds.format(type, ref.entityId, 0);
  }

  /**
   * Reads every document of the given entities (`known` reused, `null` = known absent, copied when `theirs`; ids `covered`
   * and not known have no live document; `conflicts`: their conflicting revisions too).
   */
  async #load(refs: Iterable<Ref>, known?: Map<string, Doc | null>, covered?: (id: string) => boolean, conflicts = false, theirs = false): Promise<Map<string, Stored>> {
    const out = new Map<string, Stored>();
    const want: string[] = [];
    const ids: { s: Stored; type: string; id: string }[] = [];
    for (const ref of refs) {
      if (out.has(ref.key)) continue;
      const s: Stored = conflicts ? { ref, docs: new Map(), conflicts: new Map<string, string[]>() } : { ref, docs: new Map() };
      out.set(ref.key, s);
      for (const t of ref.family.types) {
        const id = t === ref.type && ref.id !== undefined ? ref.id : this.#idOf(ref, t);
        ids.push({ s, type: t, id });
        // an id inside the key ranges a page scanned, and not in it, has no live document
        if (covered !== undefined && covered(id)) continue;
        if (known !== undefined && known.has(id)) continue;
        want.push(id);
      }
    }
    const found = new Map<string, Doc | null>();
    if (want.length > 0) for (const row of await liveRows(this.store, want, { conflicts })) found.set(row.id, row.doc ?? null);
    for (const { s, type, id } of ids) {
      const mine = known?.get(id);
      const doc = mine ?? found.get(id);
      if (doc === undefined || doc === null || doc._deleted === true) continue;
      if (!hasOwn.call(doc, "_conflicts") && (!theirs || mine === undefined)) {
        s.docs.set(type, doc);
        continue;
      }
      const { _conflicts, ...rest } = doc as Doc & { _conflicts?: string[] };
      s.docs.set(type, rest as Doc);
      if (_conflicts !== undefined && _conflicts.length > 0) s.conflicts?.set(type, _conflicts);
    }
    await markDeleted(this.store, this.registry, out.values(), (ref, t) => this.#idOf(ref, t));
    return out;
  }

  /** The entity at the app's shape; throws `ENTITY_INCOMPLETE`, `NO_PATH` or `STEP_FAILED`. */
  #view(g: Graph, s: Stored): View {
    const app = s.ref.family.app;
    const st = storedShape(this.registry, s);
    if (st === undefined) {
      if (s.docs.size === 0) return { docs: {}, from: undefined, up: false };
      const have = [...s.docs.values()].map((d) => `${d._id}@${String(this.registry.identify(d)?.version)}`).join(", ");
      throw new DivanError("ENTITY_INCOMPLETE", `the documents ${have} form no shape the steps know`, { details: { entity: s.ref.entityId } });
    }
    const input: Entity = {};
    for (const t of Object.keys(st.shape)) {
      const d = s.docs.get(t);
      if (d !== undefined) input[t] = d;
    }
    if (sameShape(st.shape, app) && st.missing.length === 0) return { docs: input, from: st.shape, up: false };
    // deleted on one device while edited on another: the edit kept some documents alive, the deletion won the others
    if (readsDeleted(st, s)) return { docs: {}, from: undefined, up: false };
    if (sameShape(st.shape, app)) return { docs: input, from: st.shape, up: false };
    if (st.missing.length > 0) {
      const have = Object.values(input).map((d) => d._id).join(", ");
      throw new DivanError(
        "ENTITY_INCOMPLETE",
        `${have} needs ${st.missing.map((t) => this.#idOf(s.ref, t)).join(", ")} to be read as ${shapeKey(app)}; it has not replicated yet`,
        { details: { entity: s.ref.entityId, missing: st.missing.map((t) => this.#idOf(s.ref, t)), stored: st.shape, app } },
      );
    }
    const path = pathTo(g, st.shape, app);
    return { docs: path(input), from: st.shape, up: path.direction === "up" };
  }

  // ------------------------------------------------------------------------------------------ reads

  /**
   * Reads one document at the app's version (`conflicts`: only for documents no step translates).
   *
   * @throws DivanError `NOT_FOUND` (also for a type the app's version does not have, e.g. a 4.0 app asking
   * for `task-state:…`), `STEP_FAILED`, `ENTITY_INCOMPLETE`, `NO_PATH`.
   */
  async get(id: string, options: { rev?: string; conflicts?: boolean } = {}): Promise<Doc> {
    if (options.rev !== undefined) return this.store.get(id, { rev: options.rev });
    const g = await this.#refresh();
    const ref = this.#ref(g, id);
    if (ref === undefined) return this.store.get(id, options.conflicts === true ? { conflicts: true } : {});
    const stored = (await this.#load([ref])).get(ref.key)!;
    if (ref.family.app[ref.type] === undefined) {
      throw new DivanError("NOT_FOUND", `${id}: app shape ${shapeKey(this.shape)} has no ${ref.type}; its content is part of ${Object.keys(ref.family.app).map((t) => this.#idOf(ref, t)).join(", ") || "no document this app reads"}`, { details: { id } });
    }
    let view: View;
    try {
      view = this.#view(g, stored);
    } catch (e) {
      const p = problemOf(e, id);
      throw new DivanError(p.code, p.reason, { cause: e, details: p.details });
    }
    const doc = view.docs[ref.type];
    if (doc === undefined) throw new DivanError("NOT_FOUND", `${id} does not exist`, { details: { id } });
    if (view.up && this.#config.writeBack === true) await this.#writeBack(g, [[stored, view]]);
    return doc as Doc;
  }

  /**
   * One page of documents at the app's version. Problems are rows (`error` + `problem`), never throws.
   * With `keys`, one row per key, in key order.
   */
  async allDocs(options: AllDocsOptions = {}): Promise<LivePage> {
    const g = await this.#refresh();
    const includeDocs = options.includeDocs === true;
    if (options.keys !== undefined) return this.#byKeys(g, options.keys, includeDocs);
    const page = await this.store.allDocs({ ...options, includeDocs: true });
    return this.#translatePage(g, page, options, false);
  }

  /**
   * Translates a page of stored `_all_docs` rows (read with `includeDocs`) that the caller read itself:
   * for paging on stored ids (pass the next `startkey` after the page's last stored row).
   * `options` are those the page was read with.
   */
  async translatePage(page: AllDocsPage, options: AllDocsOptions = {}): Promise<LivePage> {
    return this.#translatePage(await this.#refresh(), page, options, true);
  }

  /**
   * Every document at the app's version, paged by entity so that each stored row is read once: a family's page is a range
   * of entity ids read from each of its types' ranges (`item:<a>`…`item:<b>`, `item-state:<a>`…`<b>` for a family of two types),
   * merged by entity id. The rows (problems included) are those `allDocs` gives for the whole database, each page's in id
   * order: each family's (by first type), then the rest by stored id (a family's singletons and entity ids after `\uffff`
   * among them, their other documents read by key). Uses the steps of the iteration's start.
   * @example `for await (const page of adapter.entityPages({ limit: 1000, includeDocs: true })) show(page.rows);`
   * @throws DivanError `BAD_REQUEST` for a `start` that is no page's `next`, or names a family the steps no longer have.
   */
  async *entityPages(options: EntityPagesOptions = {}): AsyncGenerator<LiveEntityPage> {
    const g = await this.#refresh();
    const includeDocs = options.includeDocs === true;
    yield* entityPages(this.store, [...new Set(g.families.values())].map((f) => f.types), options, async (stored, covered, owns) => {
      const rows = new PageRows(undefined, undefined);
      await this.#translateRows(g, stored, rows, includeDocs, covered, false, owns);
      return rows.ordered(false);
    });
  }

  /** `theirs`: the page is the caller's (documents copied, not handed back). */
  async #translatePage(g: Graph, page: AllDocsPage, options: AllDocsOptions, theirs: boolean): Promise<LivePage> {
    const desc = options.descending === true;
    const rows = new PageRows(desc ? options.endkey : options.startkey, desc ? options.startkey : options.endkey);
    const first = page.rows[0]?.id;
    const last = page.rows[page.rows.length - 1]?.id;
    const [lo, hi] = first === undefined || last === undefined ? [undefined, undefined] : first <= last ? [first, last] : [last, first];
    const covered = lo === undefined || hi === undefined || (options.skip ?? 0) > 0 ? undefined : (id: string) => id >= lo && id <= hi;
    await this.#translateRows(g, page.rows, rows, options.includeDocs === true, covered, theirs);
    return { totalRows: page.totalRows, rows: rows.ordered(desc) };
  }

  /** Translates stored rows (with documents) into `rows`; `owns`: which entities reached give their rows (default all). */
  async #translateRows(g: Graph, stored: readonly AllDocsRow[], rows: PageRows, includeDocs: boolean, covered: ((id: string) => boolean) | undefined, theirs: boolean, owns?: (s: Stored) => boolean): Promise<void> {
    const known = new Map<string, Doc | null>();
    const refs: Ref[] = [];
    for (const row of stored) {
      const ref = this.#ref(g, row.id, row.doc ?? undefined);
      if (ref === undefined) {
        rows.pass(includeDocs ? row : { id: row.id, key: row.key, ...(row.value ? { value: row.value } : {}) });
        continue;
      }
      known.set(row.id, row.doc ?? null);
      refs.push(ref);
    }
    const ups: [Stored, View][] = [];
    for (const s of (await this.#load(refs, known, covered, false, theirs)).values()) if (owns === undefined || owns(s)) this.#rowsOf(g, s, includeDocs, ups, rows.add);
    if (ups.length > 0 && this.#config.writeBack === true) await this.#writeBack(g, ups);
  }

  /** The rows of one entity at the app's shape (or its problem), given to `push` with their type. */
  #rowsOf(g: Graph, s: Stored, includeDocs: boolean, ups: [Stored, View][], push: (type: string, row: LiveRow) => void): void {
    const appTypes = Object.keys(s.ref.family.app);
    let view: View;
    try {
      view = this.#view(g, s);
    } catch (e) {
      for (const t of appTypes) {
        const id = this.#idOf(s.ref, t);
        const problem = problemOf(e, id);
        push(t, { id, key: id, error: problem.code, problem });
      }
      return;
    }
    if (view.up) ups.push([s, view]);
    for (const t of appTypes) {
      const doc = view.docs[t];
      if (doc === undefined) continue;
      const id = t === s.ref.type && s.ref.id !== undefined ? s.ref.id : this.#idOf(s.ref, t);
      const row: LiveRow = { id, key: id };
      if (typeof doc._rev === "string") row.value = { rev: doc._rev };
      if (includeDocs) row.doc = doc as Doc;
      push(t, row);
    }
  }

  async #byKeys(g: Graph, keys: readonly string[], includeDocs: boolean): Promise<LivePage> {
    const refs = new Map<string, Ref>();
    const plain: string[] = [];
    for (const k of keys) {
      const ref = this.#ref(g, k);
      if (ref === undefined) plain.push(k);
      else refs.set(k, ref);
    }
    const plainRows = new Map<string, LiveRow>();
    let totalRows = 0;
    if (plain.length > 0) {
      const page = await this.store.allDocs({ keys: plain, includeDocs });
      totalRows = page.totalRows;
      for (const r of page.rows) plainRows.set(r.key, r as LiveRow);
    }
    const stored = await this.#load(refs.values());
    const byId = new Map<string, LiveRow>();
    const ups: [Stored, View][] = [];
    for (const s of stored.values()) this.#rowsOf(g, s, includeDocs, ups, (_t, r) => byId.set(r.id, r));
    if (ups.length > 0 && this.#config.writeBack === true) await this.#writeBack(g, ups);
    const rows = keys.map((k): LiveRow => plainRows.get(k) ?? byId.get(k) ?? { id: k, key: k, error: "not_found" });
    return { totalRows, rows };
  }

  /**
   * One page of `_changes` as the app sees it: a change of any part of an entity is a change of the
   * documents the app reads (a 4.0 app sees `task:<id>` change when `task-state:<id>` does),
   * each id once per page (at its last sequence). A `selector` is matched against the translated documents.
   */
  async changes(options: ChangesOptions = {}): Promise<LiveChangesPage> {
    const g = await this.#refresh();
    const { selector, ...rest } = options;
    const raw = await this.store.changes({ ...rest, includeDocs: options.includeDocs === true || selector !== undefined });
    return { results: await this.#translateChanges(g, raw.results, options.includeDocs === true, selector), lastSeq: raw.lastSeq };
  }

  async #translateChanges(g: Graph, raw: readonly Change[], includeDocs: boolean, selector: Selector | undefined): Promise<LiveChange[]> {
    const refs = new Map<string, Ref>();
    for (const c of raw) {
      const ref = this.#ref(g, c.id);
      if (ref !== undefined) refs.set(c.id, ref);
    }
    const stored = await this.#load(refs.values());
    const views = new Map<string, View | RowProblem>();
    const out = new Map<string, LiveChange>();
    const put = (c: LiveChange): void => {
      if (selector !== undefined && (c.doc === undefined || !matchesSelector(c.doc, selector))) return;
      if (!includeDocs) delete c.doc;
      out.delete(c.id);
      out.set(c.id, c);
    };
    for (const c of raw) {
      const ref = refs.get(c.id);
      if (ref === undefined) {
        put({ ...c });
        continue;
      }
      const s = stored.get(ref.key)!;
      let v = views.get(ref.key);
      if (v === undefined) {
        try {
          v = this.#view(g, s);
        } catch (e) {
          v = problemOf(e, c.id);
        }
        views.set(ref.key, v);
      }
      for (const t of Object.keys(ref.family.app)) {
        const id = this.#idOf(ref, t);
        if ("code" in v) {
          put({ id, seq: c.seq, changes: c.changes, problem: { ...v, details: { ...v.details, id } } });
          continue;
        }
        const doc = v.docs[t];
        if (v.from === undefined) put({ id, seq: c.seq, changes: c.changes, deleted: true });
        else if (doc !== undefined) {
          const change: LiveChange = { id, seq: c.seq, changes: typeof doc._rev === "string" ? [{ rev: doc._rev }] : c.changes, doc: doc as Doc };
          put(change);
        }
      }
    }
    return [...out.values()];
  }

  /** A live feed of {@link changes} (PouchDB's own `_changes` underneath), translated change by change. */
  liveChanges(options: ChangesOptions, handlers: LiveFeedHandlers): LiveFeed {
    const { selector, ...rest } = options;
    let chain: Promise<void> = Promise.resolve();
    return this.store.liveChanges(
      { ...rest, includeDocs: false },
      {
        onChange: (c) => {
          chain = chain.then(async () => {
            const g = await this.#refresh();
            for (const t of await this.#translateChanges(g, [c], options.includeDocs === true, selector)) await handlers.onChange(t);
          });
          return chain;
        },
        ...(handlers.onError ? { onError: handlers.onError } : {}),
      },
    );
  }

  /**
   * A Mango query in the app's version: scans every document, translates it, matches in memory, then
   * sorts, skips, limits and projects. Documents that cannot be translated are listed in `problems`.
   */
  async find(request: FindRequest): Promise<LiveFindResult> {
    const g = await this.#refresh();
    return scanFind(this.store, (page) => this.#translatePage(g, page, { includeDocs: true }, false), request);
  }

  /**
   * Ends the deletions a sync completed (an app calls it after each sync): an entity that reads as deleted (a
   * document of it is a tombstone while another is live: edited concurrently with the deletion, or replicated
   * after it, e.g. a status document its device pushed late) has every live revision of its documents deleted.
   * The tombstones' revisions derive from content and parent, so devices that end the same entity write the
   * same ones. Looks at the entities changed since `since` (an opaque sequence; default: from the beginning);
   * returns their ids and the sequence to pass next time.
   */
  async endDeleted(since?: string): Promise<{ ended: string[]; lastSeq: string }> {
    const g = await this.#refresh();
    const page = await this.store.changes(since === undefined ? {} : { since });
    const refs = new Map<string, Ref>();
    for (const c of page.results) {
      const ref = this.#ref(g, c.id);
      if (ref !== undefined) refs.set(ref.key, ref);
    }
    const { ended, writes } = endingWrites(this.registry, (await this.#load(refs.values(), undefined, undefined, true)).values());
    if (writes.length > 0) await this.store.bulkDocs(writes, { newEdits: false });
    return { ended, lastSeq: page.lastSeq };
  }

  // ------------------------------------------------------------------------------------------ writes

  /** Writes one document at the app's version; throws the write's problem (`CONFLICT`, `SCHEMA_INVALID`, …). */
  async put(doc: Doc): Promise<{ id: string; rev: string }> {
    const [r] = await this.bulkDocs([doc]);
    if (r === undefined) throw new DivanError("INTERNAL", `no write result for ${doc._id}`, {});
    if (!r.ok) throw new DivanError(r.error.code, r.error.reason, { details: r.error.details });
    return { id: r.id, rev: r.rev };
  }

  /**
   * Writes documents at the app's version: one result per input, in input order. Documents of one entity
   * are written together; when the stored entity is newer, they are translated up with it as base.
   */
  async bulkDocs(docs: readonly Doc[]): Promise<LiveWriteResult[]> {
    const g = await this.#refresh();
    const results: (LiveWriteResult | undefined)[] = new Array(docs.length);
    const groups = new Map<string, { ref: Ref; items: { i: number; doc: Doc }[] }>();
    const writes: { doc: Doc; inputs: number[] }[] = [];
    docs.forEach((doc, i) => {
      const ref = typeof doc._id === "string" ? this.#ref(g, doc._id, doc) : undefined;
      if (ref === undefined) {
        const problem = this.#invalid(doc);
        if (problem !== undefined) results[i] = { id: doc._id, ok: false, error: problem };
        else writes.push({ doc, inputs: [i] });
        return;
      }
      const grp = groups.get(ref.key) ?? { ref, items: [] };
      grp.items.push({ i, doc });
      groups.set(ref.key, grp);
    });
    const deleting = docs.some((d) => d._deleted === true);
    const stored = await this.#load([...groups.values()].map((x) => x.ref), undefined, undefined, deleting);
    const lead = new Map<number, number>(); // input index → index in writes whose result it takes when its id is not written
    const branched: { from: number; to: number; branches: Doc[] }[] = []; // written once the entity's writes in writes[from, to) are
    for (const grp of groups.values()) {
      const s = stored.get(grp.ref.key)!;
      let planned: Doc[], unchanged: Map<string, string>, branches: Doc[];
      try {
        ({ writes: planned, unchanged, branches } = this.#plan(g, s, grp.items.map((x) => x.doc)));
      } catch (e) {
        for (const { i, doc } of grp.items) results[i] = { id: doc._id, ok: false, error: problemOf(e, doc._id) };
        continue;
      }
      const first = writes.length;
      for (const d of planned) writes.push({ doc: d, inputs: grp.items.filter((x) => x.doc._id === d._id).map((x) => x.i) });
      if (branches.length > 0) branched.push({ from: first, to: writes.length, branches });
      for (const { i, doc } of grp.items) {
        const rev = unchanged.get(doc._id);
        if (rev !== undefined) results[i] = { id: doc._id, ok: true, rev };
        else if (!planned.some((d) => d._id === doc._id)) lead.set(i, first);
      }
    }
    if (writes.length > 0) {
      const res = await this.store.bulkDocs(writes.map((w) => w.doc));
      res.forEach((r, k) => {
        const w = writes[k]!;
        for (const i of w.inputs) results[i] = toLiveResult(r, docs[i]!._id);
      });
      for (const [i, k] of lead) {
        const r = res[k];
        results[i] = r === undefined ? { id: docs[i]!._id, ok: true, rev: "" } : toLiveResult(r, docs[i]!._id);
      }
      const branches = branched.filter((b) => res.slice(b.from, b.to).every((r) => r.ok)).flatMap((b) => b.branches);
      if (branches.length > 0) await this.store.bulkDocs(branches, { newEdits: false });
    }
    return results.map((r, i) => r ?? { id: docs[i]!._id, ok: true, rev: "" });
  }

  /** The schema problem of a document the app writes, if any (same reason text as `validate_doc_update`). */
  #invalid(doc: Doc, translated?: string): RowProblem | undefined {
    return this.#config.validate === false ? undefined : schemaProblem(this.registry, doc, translated);
  }

  /**
   * The documents to write for one entity's edit, the app's documents that need no write (unchanged after translation:
   * their stored revision answers), and `branches` (conflicting revisions, `new_edits: false`). Throws what refuses the edit.
   */
  #plan(g: Graph, s: Stored, items: readonly Doc[]): { writes: Doc[]; unchanged: Map<string, string>; branches: Doc[] } {
    const ref = s.ref;
    const app = ref.family.app;
    if (items.some((d) => d._deleted === true)) {
      // every leaf: deleting only the winning revisions would let a conflicting one win next, and the entity come back
      const out: Doc[] = [...s.docs].flatMap(([t, d]) => [d._rev!, ...(s.conflicts?.get(t) ?? [])].map((rev) => ({ _id: d._id, _rev: rev, _deleted: true }) as Doc));
      for (const d of items) if (!s.docs.has(typeOfId(d._id)) && typeof d._rev === "string") out.push(d);
      return { writes: out.length > 0 ? out : [...items], unchanged: new Map(), branches: [] };
    }
    for (const d of items) {
      const ident = this.registry.identify(d);
      const t = ident?.type ?? ref.type;
      if (app[t] === undefined || ident?.version !== app[t]) {
        throw new DivanError(
          "SCHEMA_INVALID",
          `invalid ${t}@${String(ident?.version)} document ${d._id}: app shape ${shapeKey(this.shape)} writes ${app[t] === undefined ? `no ${t}` : `${t}@${app[t]}`}`,
          { details: { id: d._id, type: t, version: ident?.version } },
        );
      }
      const problem = this.#invalid(d);
      if (problem !== undefined) throw new DivanError(problem.code, problem.reason, { details: problem.details });
    }
    const view = this.#view(g, s);
    const entity: Entity = { ...view.docs };
    for (const d of items) entity[typeOfId(d._id)] = { ...d };
    let out = entity;
    const st = view.from;
    if (st !== undefined && !sameShape(st, app)) {
      const path = g.graph.path(app, st);
      if (path.direction === "up" || path.direction === "mixed") {
        const base: Entity = {};
        for (const [t, d] of s.docs) if (st[t] !== undefined) base[t] = d;
        out = hasFault(this.#config.faults, "live-write-without-base") ? path(entity) : path(entity, { base });
      }
    }
    const [docs, branches, unchanged, outIds]: [Doc[], Doc[], Map<string, string>, Set<string>] = [[], [], new Map(), new Set()];
    for (const [t, d] of Object.entries(out)) {
      const id = this.#idOf(ref, t);
      const doc = { ...d, _id: id } as Doc;
      outIds.add(id);
      const cur = s.docs.get(t);
      // a document outside the stored shape (of the branch an older leaf won a conflict over) the app did not write: the
      // value read from the older leaf and the stored one may each be a user's; both stay leaves, the read one winning
      if (cur !== undefined && typeof cur._rev === "string" && st !== undefined && st[t] === undefined && !items.some((x) => typeOfId(x._id) === t)) {
        if (!sameContent(cur, doc)) branches.push(branchNextTo(doc, cur._rev));
        continue;
      }
      if (doc._rev === undefined && cur !== undefined && typeof cur._rev === "string") doc._rev = cur._rev;
      if (cur !== undefined && typeof cur._rev === "string" && cur._rev === doc._rev && sameContent(cur, doc)) {
        unchanged.set(id, cur._rev);
        continue;
      }
      if (out !== entity) {
        const problem = this.#invalid(doc, ` (after translating the edit up to ${shapeKey(st!)})`);
        if (problem !== undefined) throw new DivanError(problem.code, problem.reason, { details: problem.details });
      }
      docs.push(doc);
    }
    for (const [t, d] of s.docs) {
      const id = this.#idOf(ref, t);
      // a type the edit's shape drops goes; a document outside the stored shape (next to a conflicting older leaf) stays
      if (!outIds.has(id) && (st === undefined || st[t] !== undefined)) docs.push({ _id: id, _rev: d._rev!, _deleted: true } as Doc);
    }
    return { writes: docs, unchanged, branches };
  }

  /** Stores the translated form of entities read from an older version; returned documents get the new revisions. */
  async #writeBack(g: Graph, ups: readonly [Stored, View][]): Promise<void> {
    const docs: Doc[] = [];
    for (const [s, v] of ups) {
      try {
        docs.push(...this.#plan(g, s, Object.values(v.docs) as Doc[]).writes);
      } catch {
        // a write-back that cannot be planned is skipped: the read already answered
      }
    }
    if (docs.length === 0) return;
    const res = await this.store.bulkDocs(docs);
    const byId = new Map<string, string>();
    for (const r of res) if (r.ok) byId.set(r.id, r.rev);
    for (const [, v] of ups) {
      for (const d of Object.values(v.docs)) {
        const rev = d._id === undefined ? undefined : byId.get(d._id);
        if (rev !== undefined) d._rev = rev;
      }
    }
  }
}

/** Creates a live adapter over `store` for the app described by `config`. */
export function createLiveAdapter(store: DocumentStore, config: LiveConfig): LiveAdapter {
  return new LiveAdapter(store, config);
}
