/**
 * Canonical JSON (sorted keys, ASCII-only text) and the one JSON equality divan compares values with. Browser-safe;
 * both run per document, so they serialise and compare directly, without building sorted copies first.
 */

const NON_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_ALL = /[^\x00-\x7f]/g;

/**
 * JSON with object keys sorted at every level and every non-ASCII character escaped (`\uXXXX`), so the
 * same value gives the same text everywhere, whatever the key order, and hashes the same with Node's and
 * the browser's md5 (which treat non-ASCII text differently).
 *
 * The text is `JSON.stringify` of the value with its keys sorted: `undefined`, function and symbol values
 * are left out of objects (and are `null` in arrays), non-finite numbers are `null`.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, undefined) ?? "null";
}

/** A character `JSON.stringify` escapes (a quote, a backslash, a control character) or canonical JSON escapes (non-ASCII). */
const ESCAPED = /["\\\x00-\x1f\u0080-\uffff]/;

/** The canonical JSON text of a string: `JSON.stringify`'s, with every non-ASCII character escaped. */
export function quote(s: string): string {
  if (!ESCAPED.test(s)) return `"${s}"`; // most keys and values: nothing to escape
  const q = JSON.stringify(s);
  return NON_ASCII.test(q) ? q.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : q;
}

/** An array index (`0` … `2^32 - 2` written without leading zeros): such keys come first in a JS object, by number. */
function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false; // fast path: most keys do not start with a digit
  const n = Number(k);
  return n >>> 0 === n && n !== 4294967295 && String(n) === k;
}

/**
 * The key order of canonical JSON, which has always been that of `JSON.stringify` on a copy built by
 * assigning the keys in sorted order: array-index keys first by number (JS objects keep them so), then the
 * other keys sorted by UTF-16 code units.
 */
function canonicalKeys(value: object): string[] {
  const keys = Object.keys(value);
  let indexes: string[] | undefined;
  let names: string[] = keys;
  if (keys.length > 0 && isArrayIndex(keys[0]!)) {
    indexes = [];
    names = [];
    for (const k of keys) (isArrayIndex(k) ? indexes : names).push(k);
    indexes.sort((a, b) => Number(a) - Number(b));
  } else {
    for (const k of keys) {
      if (isArrayIndex(k)) {
        indexes = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
        names = keys.filter((x) => !isArrayIndex(x));
        break;
      }
    }
  }
  sortNames(names);
  return indexes === undefined ? names : [...indexes, ...names];
}

/** Keys up to this many are sorted in place by insertion (`Array.prototype.sort` allocates a work copy per call). */
const INSERTION_SORT = 16;

/** Sorts `names` in place by UTF-16 code units, as `Array.prototype.sort` without a comparator sorts strings. */
function sortNames(names: string[]): void {
  if (names.length > INSERTION_SORT) {
    names.sort();
    return;
  }
  for (let i = 1; i < names.length; i++) {
    const k = names[i]!;
    let j = i - 1;
    while (j >= 0 && names[j]! > k) {
      names[j + 1] = names[j]!;
      j--;
    }
    names[j + 1] = k;
  }
}

/**
 * Canonical text of `value`, or `undefined` where JSON leaves the value out; `skip` names top-level keys to leave out.
 * With `memo`, the text of each object is kept there and reused where the same object comes again (an object shared by
 * documents serialised one after the other); the caller must not change an object while its `memo` is in use.
 */
export function serialize(value: unknown, skip: ReadonlySet<string> | undefined, memo?: Map<object, string>): string | undefined {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let s = "[";
        for (let i = 0; i < value.length; i++) s += (i === 0 ? "" : ",") + (serialize(value[i] as unknown, undefined, memo) ?? "null");
        return `${s}]`;
      }
      // Skipping keys the object does not have leaves its text as it is: then it is the object's text.
      const whole = memo !== undefined && (skip === undefined || !hasAnyKey(value, skip));
      if (whole) {
        const hit = memo.get(value);
        if (hit !== undefined) return hit;
      }
      let s = "{";
      let first = true;
      for (const k of canonicalKeys(value)) {
        // A `__proto__` key cannot be copied into a plain object by assignment: canonical JSON has always left it out.
        if (k === "__proto__" || (skip !== undefined && skip.has(k))) continue;
        const v = serialize((value as Record<string, unknown>)[k], undefined, memo);
        if (v === undefined) continue;
        s += `${first ? "" : ","}${quote(k)}:${v}`;
        first = false;
      }
      s += "}";
      if (whole) memo.set(value, s);
      return s;
    }
    case "bigint":
      return JSON.stringify(value); // throws, as JSON.stringify does
    default:
      return undefined; // undefined, function, symbol
  }
}

/** Whether `value` has one of `keys` as an own key. */
function hasAnyKey(value: object, keys: ReadonlySet<string>): boolean {
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(value, k)) return true;
  return false;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Whether JSON keeps an object member with this value. */
const kept = (v: unknown): boolean => v !== undefined && typeof v !== "function" && typeof v !== "symbol";

/**
 * JSON equality: `a` and `b` have the same canonical JSON (compared structurally, key order aside, without building
 * the text); `skip` names top-level keys to ignore.
 */
export function jsonEqual(a: unknown, b: unknown, skip?: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) {
        const x = a[i] as unknown;
        const y = b[i] as unknown;
        if (!jsonEqual(kept(x) ? x : null, kept(y) ? y : null, undefined)) return false;
      }
      return true;
    }
    if (!isPlainObject(a) || !isPlainObject(b)) return serialize(a, skip) === serialize(b, skip);
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    let na = 0;
    for (const k of Object.keys(ra)) {
      if (k === "__proto__" || (skip !== undefined && skip.has(k))) continue;
      const x = ra[k];
      if (!kept(x)) continue;
      na++;
      if (!Object.prototype.hasOwnProperty.call(rb, k)) return false;
      const y = rb[k];
      if (!kept(y) || !jsonEqual(x, y, undefined)) return false;
    }
    let nb = 0;
    for (const k of Object.keys(rb)) {
      if (k === "__proto__" || (skip !== undefined && skip.has(k))) continue;
      if (kept(rb[k])) nb++;
    }
    return na === nb;
  }
  if (typeof a === "number" && typeof b === "number") return a === b || (!Number.isFinite(a) && !Number.isFinite(b));
  if (a === null || b === null) {
    const other = a === null ? b : a;
    return typeof other === "number" && !Number.isFinite(other); // JSON writes NaN and ±Infinity as null
  }
  return a === b;
}
