/**
 * The invariant checker run after every scenario: converged, nothing lost, every app version reads correctly.
 *
 * The invariant checker, run at quiescence after every scenario: every replica
 * converged; no document and no field lost (compared with the model of what users did); every app
 * version reads every todo correctly; server writes bounded (nothing keeps writing after quiescence);
 * conflicts only where the strategy's caveat predicts them. Violations are returned, never thrown away:
 * one that matches a declared caveat is marked `expected`.
 */
import type { Doc, DocumentStore } from "../../store/port.js";
import type { Caveat, InvariantName, Strategy } from "../../strategies/types.js";
import { SUPPORT_NOTICE_ID } from "./app.js";
import type { ModelTodo } from "./model.js";
import type { Domain } from "./domain.js";
import { allDocsOf, type RunFacts, type World } from "./world.js";

/** The verdict of one invariant. */
export interface InvariantResult {
  name: InvariantName;
  ok: boolean;
  /** A violation that one of the strategy's caveats predicts. */
  expected: boolean;
  /** What was checked, or what went wrong (with the caveat's reason when expected). */
  detail: string;
  /** Every violation, one line each (empty when ok). */
  violations: string[];
}

/** Counts the metrics reuse. */
export interface InvariantCounts {
  lostDocs: number;
  lostFields: number;
  /** Documents with conflicting revisions, counted once per replica that holds them. */
  conflicts: number;
  /** Sum of the generations of every server document's winning revision. */
  serverRevisions: number;
}

/** The result of {@link checkInvariants}. */
export interface InvariantReport {
  results: InvariantResult[];
  counts: InvariantCounts;
}

const MAX_LINES = 5;

/** One violation: a line for the report, and whether it concerns a device running the old app after the release. */
interface Violation {
  line: string;
  legacy?: boolean;
}

const plain = (lines: readonly string[]): Violation[] => lines.map((line) => ({ line }));

/**
 * Checks every invariant on a world at quiescence (call after the final settle and check). Caveats are
 * judged on what happened in the world (its {@link World.facts}), whatever the script; `scenario` only
 * names the run.
 */
export async function checkInvariants(world: World, _scenario?: string): Promise<InvariantReport> {
  const raw: { name: InvariantName; violations: Violation[]; ok: string }[] = [];
  const refusedKept = new Set<string>();
  for (const r of (await world.strategy.refusedWrites?.(world.server)) ?? []) {
    for (const rev of r.history) refusedKept.add(`${r.id}@${rev}`);
    refusedKept.add(r.id);
    const entity = todoOf(r.id);
    if (entity !== undefined) refusedKept.add(entity);
  }
  const facts: RunFacts = { ...world.facts, refusedKept };
  const server = await world.serverDocs();
  const serverAll = [...server.values()].flat().filter(isUserDoc);
  const active = [...world.devices.values()].filter((d) => !d.gone);

  raw.push({ name: "converged", violations: plain(await convergence(world)), ok: `${active.length} devices match the server databases they replicate with` });

  const lost = lostDocuments(world.model.all(), serverAll);
  raw.push({ name: "no-lost-documents", violations: plain(lost.violations), ok: `all ${world.model.live().length} todos users kept are on the server, none deleted came back` });

  const fields = lostFields(world.domain, world.model.all(), serverAll, await serverLeaves(world, world.model.all().filter((m) => m.concurrent)));
  raw.push({ name: "no-lost-fields", violations: plain(fields), ok: "every value users set is on the server" });

  raw.push({ name: "apps-read-their-data", violations: readProblems(world), ok: `${world.checks.length} reads by every app version showed every todo correctly` });

  const bounded = await boundedWrites(world, server);
  raw.push({ name: "bounded-writes", violations: plain(bounded.violations), ok: bounded.ok });

  const conflicts = await conflictsOf(world);
  raw.push({ name: "expected-conflicts-only", violations: plain(conflicts), ok: "no replica holds conflicting revisions but those users made" });

  const results = raw.map(({ name, violations, ok }) => toResult(world, facts, name, violations, ok));
  return {
    results,
    counts: { lostDocs: lost.lost, lostFields: fields.length, conflicts: conflicts.length, serverRevisions: bounded.revisions },
  };
}

/** The entity id a violation line names (32 hex digits in a document id or message), if any. */
function todoOf(line: string): string | undefined {
  return /\b([0-9a-f]{32})\b/.exec(line)?.[1];
}

/**
 * The caveat of `strategy` that predicts `violation` of `name` in a run with `facts`, if any (see
 * {@link CaveatCondition}): `old-app-after-release` holds when an old-app device was used after the release,
 * and on `apps-read-their-data` covers only what such devices read and did; `old-app-wrote-after-release`
 * covers violations about todos whose old-app writes reached the server after the release; `retired` holds
 * once the old app was retired; `refused-write-kept` covers a violation about a todo (or a device's revision
 * of a document) only when the strategy reports that write as refused and kept; `untranslated-old-delete` covers
 * violations about todos in {@link RunFacts.untranslatedDeletes}.
 */
export function caveatFor(
  strategy: Strategy,
  facts: RunFacts,
  name: InvariantName,
  violation: { line?: string; legacy?: boolean } = {},
): Caveat | undefined {
  const todo = violation.line === undefined ? undefined : todoOf(violation.line);
  const holds = (c: Caveat): boolean => {
    switch (c.when) {
      case undefined:
        return true;
      case "old-app-after-release":
        return facts.oldAppAfterRelease && (name !== "apps-read-their-data" || violation.legacy === true);
      case "old-app-wrote-after-release":
        return todo === undefined ? facts.oldWrites.size > 0 : facts.oldWrites.has(todo);
      case "retired":
        return facts.retired;
      case "untranslated-old-delete":
        return todo !== undefined && facts.untranslatedDeletes.has(todo);
      case "refused-write-kept": {
        const kept = facts.refusedKept;
        if (kept === undefined || todo === undefined) return false;
        const line = violation.line ?? "";
        const onDevice = /(\S+) is (\S+) on the device/.exec(line) ?? /(\S+) is \S+ on .* but (\S+) on the device/.exec(line);
        if (onDevice === null) return kept.has(todo);
        // A deletion: the device has no revision to name, the document must be among those kept.
        return onDevice[2] === "missing" ? kept.has(onDevice[1]!) : kept.has(`${onDevice[1]}@${onDevice[2]}`);
      }
    }
  };
  return strategy.caveats.find((c) => c.invariant === name && holds(c));
}

function toResult(world: World, facts: RunFacts, name: InvariantName, violations: Violation[], okDetail: string): InvariantResult {
  if (violations.length === 0) return { name, ok: true, expected: false, detail: okDetail, violations: [] };
  const caveats = violations.map((v) => caveatFor(world.strategy, facts, name, v));
  const expected = caveats.every((c) => c !== undefined);
  const lines = violations.map((v) => v.line);
  const shown = lines.slice(0, MAX_LINES).join("; ");
  const more = lines.length > MAX_LINES ? `; and ${lines.length - MAX_LINES} more` : "";
  const reasons = [...new Set(caveats.flatMap((c) => (c === undefined ? [] : [c.reason])))];
  const why = expected ? ` (expected: ${reasons.join("; ")})` : "";
  return { name, ok: false, expected, detail: `${violations.length} violation(s): ${shown}${more}${why}`, violations: lines };
}

/** Documents users and strategies own (not design documents, not the support notice). */
function isUserDoc(doc: Doc): boolean {
  return !doc._id.startsWith("_design/") && doc._id !== SUPPORT_NOTICE_ID;
}

function docsOfEntity(docs: readonly Doc[], id: string): Doc[] {
  return docs.filter((d) => d._id.includes(id));
}

async function selected(store: DocumentStore, selector: Record<string, unknown> | undefined): Promise<Doc[]> {
  if (selector === undefined) return allDocsOf(store);
  const found = await store.find({ selector, limit: 1_000_000 });
  return found.docs;
}

async function convergence(world: World): Promise<string[]> {
  const out: string[] = [];
  for (const d of world.devices.values()) {
    if (d.gone) continue;
    for (const channel of d.binding.sync) {
      const remote = await world.remoteOf(channel);
      const local = new Map((await selected(channel.local, channel.pushSelector)).filter(isUserDoc).map((doc) => [doc._id, doc._rev]));
      const localAll = new Map((await allDocsOf(channel.local)).map((doc) => [doc._id, doc._rev]));
      const remoteAll = new Map((await allDocsOf(remote)).map((doc) => [doc._id, doc._rev]));
      const pulled = (await selected(remote, channel.pullSelector)).filter(isUserDoc);
      const db = channel.remoteUrl !== undefined ? `the proxy ${channel.remoteUrl}` : channel.database === "" ? "the server" : `server database ${channel.database}`;
      for (const [id, rev] of local) {
        const there = remoteAll.get(id);
        if (there !== rev) out.push(`${d.name}: ${id} is ${rev} on the device but ${there ?? "missing"} on ${db}`);
      }
      for (const doc of pulled) {
        const here = localAll.get(doc._id);
        if (here !== doc._rev) out.push(`${d.name}: ${doc._id} is ${doc._rev} on ${db} but ${here ?? "missing"} on the device`);
      }
    }
  }
  return out;
}

function lostDocuments(model: readonly ModelTodo[], server: readonly Doc[]): { lost: number; violations: string[] } {
  const violations: string[] = [];
  let lost = 0;
  for (const m of model) {
    if (m.contested) continue; // deleted on one device, edited on another: either outcome is right
    const docs = docsOfEntity(server, m.id);
    if (!m.deleted && docs.length === 0) {
      lost += 1;
      violations.push(`"${m.label}" (${m.id}) has no document on the server`);
    }
    if (m.deleted && docs.length > 0) violations.push(`"${m.label}" (${m.id}) was deleted but ${docs.map((d) => d._id).join(", ")} came back`);
  }
  return { lost, violations };
}

/**
 * Every leaf revision (winners and conflicting ones) of the server documents of the given todos: a value
 * users set concurrently may be kept on a conflicting revision only.
 */
async function serverLeaves(world: World, todos: readonly ModelTodo[]): Promise<Doc[]> {
  if (todos.length === 0) return [];
  const out: Doc[] = [];
  for (const store of world.serverStores.values()) {
    const page = await store.allDocs({ includeDocs: true, conflicts: true });
    for (const row of page.rows) {
      const doc = row.doc;
      if (!doc || !todos.some((m) => doc._id.includes(m.id))) continue;
      out.push(doc);
      const losers = await store.bulkGet((doc._conflicts ?? []).map((rev) => ({ id: doc._id, rev })));
      for (const l of losers) if ("ok" in l && l.ok._deleted !== true) out.push(l.ok);
    }
  }
  return out;
}

function lostFields(domain: Domain, model: readonly ModelTodo[], server: readonly Doc[], leaves: readonly Doc[]): string[] {
  const out: string[] = [];
  for (const m of model) {
    // Deleted, or deleted and edited concurrently: the values on a deleted branch are gone on purpose.
    if (m.deleted) continue;
    const docs = docsOfEntity(m.concurrent ? leaves : server, m.id);
    if (docs.length === 0) continue; // counted as a lost document (or deleted: a contested todo)
    const where = m.concurrent ? "on no server revision" : "on no server document";
    out.push(...domain.lostFields(m, (test) => docs.some(test), where));
  }
  return out;
}

function readProblems(world: World): Violation[] {
  const out: Violation[] = [];
  for (const c of world.checks) {
    for (const p of c.problems) out.push({ line: `${c.device} (app ${c.app}) at ${c.at}: ${p}`, legacy: c.legacy });
  }
  for (const r of world.refused) out.push({ line: `${r.device} could not ${r.action}: ${r.error}`, legacy: r.legacy });
  return out;
}

function generation(rev: string | undefined): number {
  const n = Number.parseInt((rev ?? "0-").split("-")[0] ?? "0", 10);
  return Number.isFinite(n) ? n : 0;
}

async function boundedWrites(world: World, server: Map<string, Doc[]>): Promise<{ violations: string[]; ok: string; revisions: number }> {
  const violations: string[] = [];
  const marks = new Map<string, string>();
  for (const [suffix, store] of world.serverStores) marks.set(suffix, (await store.changes({ since: "now" })).lastSeq);
  await world.settle();
  for (const [suffix, store] of world.serverStores) {
    const since = marks.get(suffix);
    const later = since === undefined ? [] : (await store.changes({ since })).results;
    if (later.length > 0) {
      violations.push(
        `${later.length} write(s) on ${suffix === "" ? "the server" : suffix} after quiescence (${later.slice(0, 3).map((c) => c.id).join(", ")}): something keeps writing`,
      );
    }
  }
  let revisions = 0;
  for (const docs of server.values()) for (const d of docs) if (isUserDoc(d)) revisions += generation(d._rev);
  const bound = 4 * Math.max(1, world.userWrites);
  if (revisions > bound) {
    violations.push(`the server holds ${revisions} revisions for ${world.userWrites} user writes (bound ${bound})`);
  }
  return { violations, ok: `nothing wrote after quiescence; ${revisions} server revisions for ${world.userWrites} user writes`, revisions };
}

/** Conflicting revisions on every replica, but those of todos users edited concurrently (their conflicts are the users'). */
async function conflictsOf(world: World): Promise<string[]> {
  const out: string[] = [];
  const replicas: [string, DocumentStore][] = [];
  const users = world.model.all().filter((m) => m.concurrent).map((m) => m.id);
  for (const [suffix, store] of world.serverStores) replicas.push([suffix === "" ? "server" : `server ${suffix}`, store]);
  for (const d of world.devices.values()) if (!d.gone) for (const [suffix, store] of d.locals) replicas.push([`${d.name}${suffix}`, store]);
  for (const [where, store] of replicas) {
    const page = await store.allDocs({ includeDocs: true, conflicts: true });
    for (const row of page.rows) {
      const doc = row.doc;
      if (!doc || !doc._conflicts || doc._conflicts.length === 0) continue;
      if (users.some((id) => doc._id.includes(id))) continue;
      out.push(`${where}: ${doc._id} has ${doc._conflicts.length} conflicting revision(s)`);
    }
  }
  return out;
}
