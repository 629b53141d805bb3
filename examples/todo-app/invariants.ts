/**
 * The invariant checker, run at quiescence after every scenario (DESIGN §7): every replica
 * converged; no document and no field lost (compared with the model of what users did); every app
 * version reads every todo correctly; server writes bounded (nothing keeps writing after quiescence);
 * conflicts only where the strategy's caveat predicts them. Violations are returned, never thrown away:
 * one that matches a declared caveat is marked `expected`.
 */
import type { Doc, DocumentStore } from "../../store/port.js";
import { isDivanError } from "../../core/errors.js";
import type { InvariantName, Strategy } from "../../strategies/types.js";
import { SUPPORT_NOTICE_ID } from "./app.js";
import type { ModelTodo } from "./model.js";
import { allDocsOf, type World } from "./world.js";

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

/** Checks every invariant on a world at quiescence (call after the final settle and check). */
export async function checkInvariants(world: World, scenario: string): Promise<InvariantReport> {
  const raw: { name: InvariantName; violations: string[]; ok: string }[] = [];
  const server = await world.serverDocs();
  const serverAll = [...server.values()].flat().filter(isUserDoc);

  raw.push({ name: "converged", violations: await convergence(world), ok: `${world.devices.size} devices match the server databases they replicate with` });

  const lost = lostDocuments(world.model.all(), serverAll);
  raw.push({ name: "no-lost-documents", violations: lost.violations, ok: `all ${world.model.live().length} todos users kept are on the server, none deleted came back` });

  const fields = lostFields(world.model.live(), serverAll);
  raw.push({ name: "no-lost-fields", violations: fields, ok: "every value users set is on the server" });

  raw.push({ name: "apps-read-their-data", violations: readProblems(world), ok: `${world.checks.length} reads by every app version showed every todo correctly` });

  const bounded = await boundedWrites(world, server);
  raw.push({ name: "bounded-writes", violations: bounded.violations, ok: bounded.ok });

  const conflicts = await conflictsOf(world);
  raw.push({ name: "expected-conflicts-only", violations: conflicts, ok: "no replica holds conflicting revisions" });

  const results = raw.map(({ name, violations, ok }) => toResult(world.strategy, scenario, name, violations, ok));
  return {
    results,
    counts: { lostDocs: lost.lost, lostFields: fields.length, conflicts: conflicts.length, serverRevisions: bounded.revisions },
  };
}

/** The caveat of `strategy` that predicts a violation of `name` in `scenario`, if any. */
export function caveatFor(strategy: Strategy, scenario: string, name: InvariantName): string | undefined {
  return strategy.caveats.find((c) => c.invariant === name && (c.scenarios === undefined || c.scenarios.includes(scenario)))?.reason;
}

function toResult(strategy: Strategy, scenario: string, name: InvariantName, violations: string[], okDetail: string): InvariantResult {
  if (violations.length === 0) return { name, ok: true, expected: false, detail: okDetail, violations: [] };
  const caveat = caveatFor(strategy, scenario, name);
  const shown = violations.slice(0, MAX_LINES).join("; ");
  const more = violations.length > MAX_LINES ? `; and ${violations.length - MAX_LINES} more` : "";
  const why = caveat ? ` (expected: ${caveat})` : "";
  return { name, ok: false, expected: caveat !== undefined, detail: `${violations.length} violation(s): ${shown}${more}${why}`, violations };
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
    const docs = docsOfEntity(server, m.id);
    if (!m.deleted && docs.length === 0) {
      lost += 1;
      violations.push(`"${m.label}" (${m.id}) has no document on the server`);
    }
    if (m.deleted && docs.length > 0) violations.push(`"${m.label}" (${m.id}) was deleted but ${docs.map((d) => d._id).join(", ")} came back`);
  }
  return { lost, violations };
}

function lostFields(model: readonly ModelTodo[], server: readonly Doc[]): string[] {
  const out: string[] = [];
  for (const m of model) {
    const docs = docsOfEntity(server, m.id);
    if (docs.length === 0) continue; // counted as a lost document
    const has = (test: (d: Doc) => boolean): boolean => docs.some(test);
    if (!has((d) => d["title"] === m.title)) out.push(`"${m.label}": title ${JSON.stringify(m.title)} is on no server document`);
    const done = m.status === "done";
    const binary = m.status === "active" || m.status === "done";
    const statusKept = has((d) => d["status"] === m.status || (binary && d["status"] === undefined && d["isDone"] === done));
    if (!statusKept) out.push(`"${m.label}": status ${m.status} is on no server document`);
    if (m.isImportant !== undefined && !has((d) => d["isImportant"] === m.isImportant)) {
      out.push(`"${m.label}": isImportant ${String(m.isImportant)} is on no server document`);
    }
    if (m.group !== undefined && !has((d) => d["group"] === m.group)) out.push(`"${m.label}": group ${JSON.stringify(m.group)} is on no server document`);
  }
  return out;
}

function readProblems(world: World): string[] {
  const out: string[] = [];
  for (const c of world.checks) {
    for (const p of c.problems) out.push(`${c.device} (app ${c.app}) at ${c.at}: ${p}`);
  }
  for (const r of world.refused) out.push(`${r.device} could not ${r.action}: ${r.error}`);
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

async function conflictsOf(world: World): Promise<string[]> {
  const out: string[] = [];
  const replicas: [string, DocumentStore][] = [];
  for (const [suffix, store] of world.serverStores) replicas.push([suffix === "" ? "server" : `server ${suffix}`, store]);
  for (const d of world.devices.values()) for (const [suffix, store] of d.locals) replicas.push([`${d.name}${suffix}`, store]);
  for (const [where, store] of replicas) {
    for (const doc of await allDocsOf(store)) {
      let full: Doc;
      try {
        full = await store.get(doc._id, { conflicts: true });
      } catch (e) {
        if (isDivanError(e, "NOT_FOUND")) continue;
        throw e;
      }
      if (full._conflicts && full._conflicts.length > 0) out.push(`${where}: ${doc._id} has ${full._conflicts.length} conflicting revision(s)`);
    }
  }
  return out;
}
