/**
 * Validation of view data against the contracts in types.ts.
 *
 * validate() returns a list of readable messages (empty when the data is fine);
 * each names the field and what was expected. It stops after MAX_ERRORS, and is
 * linear in the size of the data.
 */

import { KINDS } from "./types";

const MAX_ERRORS = 12;

type Obj = Record<string, unknown>;

class Errors {
  list: string[] = [];
  add(msg: string): void {
    if (this.list.length < MAX_ERRORS) this.list.push(msg);
  }
  get full(): boolean {
    return this.list.length >= MAX_ERRORS;
  }
}

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && isFinite(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array of length " + v.length;
  if (typeof v === "string") return "the string " + JSON.stringify(v.length > 40 ? v.slice(0, 40) + "\u2026" : v);
  if (typeof v === "number") return String(v);
  return "a value of type " + typeof v;
}

function checkOptionalString(d: Obj, key: string, e: Errors): void {
  if (key in d && d[key] !== undefined && d[key] !== null && typeof d[key] !== "string") {
    e.add(key + " must be a string, got " + describe(d[key]));
  }
}

/** An array of integers, each in [lo, hi). Returns it, or null after reporting. */
function intArray(d: Obj, key: string, lo: number, hi: number, e: Errors, length?: number): number[] | null {
  const v = d[key];
  if (!Array.isArray(v)) {
    e.add(key + " must be an array of integers, got " + describe(v));
    return null;
  }
  if (length !== undefined && v.length !== length) {
    e.add(key + " has " + v.length + " entries; expected " + length);
    return null;
  }
  for (let i = 0; i < v.length && !e.full; i++) {
    const x = v[i];
    if (!isInt(x) || x < lo || x >= hi) {
      e.add(key + "[" + i + "] must be an integer in [" + lo + ", " + (hi - 1) + "], got " + describe(x));
    }
  }
  return v as number[];
}

function stringArray(d: Obj, key: string, e: Errors, length?: number): void {
  const v = d[key];
  if (!Array.isArray(v)) {
    e.add(key + " must be an array of strings, got " + describe(v));
    return;
  }
  if (length !== undefined && v.length !== length) e.add(key + " has " + v.length + " entries; expected " + length);
  for (let i = 0; i < v.length && !e.full; i++) {
    if (typeof v[i] !== "string") e.add(key + "[" + i + "] must be a string, got " + describe(v[i]));
  }
}

/**
 * A rows x cols matrix of numbers. `check` may tighten the element test
 * (returns an error fragment or null).
 */
function matrix(
  d: Obj,
  key: string,
  rows: number | null,
  cols: number | null,
  what: string,
  e: Errors,
  check?: (x: number) => string | null,
): number[][] | null {
  const m = d[key];
  if (!Array.isArray(m)) {
    e.add(key + " must be an array of rows (" + what + "), got " + describe(m));
    return null;
  }
  if (rows !== null && m.length !== rows) {
    e.add(key + " has " + m.length + " rows; expected " + rows + " (" + what + ")");
    return null;
  }
  for (let r = 0; r < m.length && !e.full; r++) {
    const row = m[r];
    if (!Array.isArray(row)) {
      e.add(key + "[" + r + "] must be an array, got " + describe(row));
      continue;
    }
    if (cols !== null && row.length !== cols) {
      e.add(key + "[" + r + "] has " + row.length + " entries; expected " + cols + " (" + what + ")");
      continue;
    }
    for (let c = 0; c < row.length; c++) {
      const x = row[c];
      if (!isNum(x)) {
        e.add(key + "[" + r + "][" + c + "] must be a finite number, got " + describe(x));
        break;
      }
      const msg = check ? check(x) : null;
      if (msg) {
        e.add(key + "[" + r + "][" + c + "] " + msg);
        break;
      }
    }
  }
  return m as number[][];
}

function validateTokens(d: Obj, e: Errors): number {
  const tokens = d.tokens;
  if (!Array.isArray(tokens)) {
    e.add("tokens must be an array of {token, token_id, type, position}, got " + describe(tokens));
    return -1;
  }
  if (tokens.length === 0) {
    e.add("tokens is empty; a view needs at least one token");
    return -1;
  }
  for (let i = 0; i < tokens.length && !e.full; i++) {
    const t = tokens[i];
    if (!isObject(t)) {
      e.add("tokens[" + i + "] must be an object, got " + describe(t));
      continue;
    }
    if (typeof t.token !== "string") e.add("tokens[" + i + "].token must be a string, got " + describe(t.token));
    if (!isInt(t.token_id)) e.add("tokens[" + i + "].token_id must be an integer, got " + describe(t.token_id));
    if (t.type !== "input" && t.type !== "output") {
      e.add('tokens[' + i + '].type must be "input" or "output", got ' + describe(t.type));
    }
    if (t.position !== i) e.add("tokens[" + i + "].position must be " + i + " (its index), got " + describe(t.position));
  }
  return tokens.length;
}

function validateSaliency(d: Obj, n: number, e: Errors): void {
  const targets = intArray(d, "targets", 0, n, e);
  if (targets) matrix(d, "attributions", targets.length, n, "one row per target, one entry per token", e);
  if (d.variant !== undefined && d.variant !== "minimal" && d.variant !== "detailed") {
    e.add('variant must be "minimal" or "detailed", got ' + describe(d.variant));
  }
  checkOptionalString(d, "method", e);
}

function validateFactors(d: Obj, n: number, e: Errors): void {
  const f = matrix(d, "factors", null, n, "one row per factor, one entry per token", e);
  const k = f ? f.length : 0;
  if (f && k === 0) e.add("factors is empty; expected at least one factor");
  intArray(d, "dominant", -1, Math.max(k, 0), e, n);
  intArray(d, "excluded", 0, n, e);
  if (d.labels !== undefined && d.labels !== null) stringArray(d, "labels", e, k);
}

function validateLens(d: Obj, n: number, e: Errors): void {
  const targets = intArray(d, "targets", 0, n, e);
  stringArray(d, "layers", e);
  const layers = Array.isArray(d.layers) ? d.layers.length : 0;
  if (Array.isArray(d.layers) && layers === 0) e.add("layers is empty; expected at least one layer");
  if (!targets || e.full) return;
  const t = targets.length;
  matrix(d, "ranks", layers, t, "layers x targets", e, (x) =>
    Number.isInteger(x) && x >= 1 ? null : "must be an integer rank >= 1, got " + x,
  );
  matrix(d, "probs", layers, t, "layers x targets", e, (x) =>
    x >= 0 && x <= 1 ? null : "must be a probability in [0, 1], got " + x,
  );
  const top = d.top;
  if (!Array.isArray(top) || top.length !== layers) {
    e.add("top must be an array with one entry per layer (" + layers + "), got " + describe(top));
    return;
  }
  for (let l = 0; l < layers && !e.full; l++) {
    const row = top[l];
    if (!Array.isArray(row) || row.length !== t) {
      e.add("top[" + l + "] must have one list of predictions per target (" + t + "), got " + describe(row));
      continue;
    }
    for (let j = 0; j < t && !e.full; j++) {
      const preds = row[j];
      if (!Array.isArray(preds)) {
        e.add("top[" + l + "][" + j + "] must be an array of {token, prob}, got " + describe(preds));
        continue;
      }
      for (let p = 0; p < preds.length; p++) {
        const x = preds[p];
        if (!isObject(x) || typeof x.token !== "string" || !isNum(x.prob)) {
          e.add("top[" + l + "][" + j + "][" + p + "] must be {token: string, prob: number}, got " + describe(x));
          break;
        }
      }
    }
  }
}

function validateActivations(d: Obj, n: number, e: Errors): void {
  const v = matrix(d, "values", null, n, "one row per neuron, one entry per token", e);
  const rows = v ? v.length : 0;
  stringArray(d, "row_labels", e, rows);
  if (d.clusters === undefined || d.clusters === null) return;
  const c = intArray(d, "clusters", -Infinity, Infinity, e, rows);
  if (!c) return;
  const seen = new Set<number>();
  for (let i = 0; i < c.length; i++) {
    if (i > 0 && c[i] === c[i - 1]) continue;
    if (seen.has(c[i])) {
      e.add("clusters: rows of cluster " + c[i] + " are not contiguous (row " + i + "); sort rows by cluster");
      return;
    }
    seen.add(c[i]);
  }
}

function validateCandidate(x: unknown, where: string, e: Errors): void {
  if (!isObject(x) || typeof x.token !== "string" || !isInt(x.token_id) || !isNum(x.prob)) {
    e.add(where + " must be {token: string, token_id: integer, prob: number}, got " + describe(x));
  }
}

function validateCandidates(d: Obj, n: number, e: Errors): void {
  const steps = d.steps;
  if (!Array.isArray(steps)) {
    e.add("steps must be an array of {position, chosen, top}, got " + describe(steps));
    return;
  }
  for (let i = 0; i < steps.length && !e.full; i++) {
    const s = steps[i];
    if (!isObject(s)) {
      e.add("steps[" + i + "] must be an object, got " + describe(s));
      continue;
    }
    if (!isInt(s.position) || s.position < 0 || s.position >= n) {
      e.add("steps[" + i + "].position must be an integer in [0, " + (n - 1) + "], got " + describe(s.position));
    }
    validateCandidate(s.chosen, "steps[" + i + "].chosen", e);
    if (!Array.isArray(s.top)) {
      e.add("steps[" + i + "].top must be an array, got " + describe(s.top));
      continue;
    }
    for (let j = 0; j < s.top.length && !e.full; j++) validateCandidate(s.top[j], "steps[" + i + "].top[" + j + "]", e);
  }
}

/** Problems with `data` as readable messages; an empty list means it can be rendered. */
export function validate(data: unknown): string[] {
  const e = new Errors();
  if (!isObject(data)) {
    e.add("view data must be an object, got " + describe(data));
    return e.list;
  }
  const kind = data.kind;
  if (typeof kind !== "string" || (KINDS as readonly string[]).indexOf(kind) < 0) {
    e.add("kind must be one of " + KINDS.join(", ") + "; got " + describe(kind));
    return e.list;
  }
  checkOptionalString(data, "title", e);
  checkOptionalString(data, "caption", e);
  const n = validateTokens(data, e);
  if (n < 0 || e.full) return e.list;
  switch (kind) {
    case "saliency":
      validateSaliency(data, n, e);
      break;
    case "factors":
      validateFactors(data, n, e);
      break;
    case "lens":
      validateLens(data, n, e);
      break;
    case "activations":
      validateActivations(data, n, e);
      break;
    case "candidates":
      validateCandidates(data, n, e);
      break;
    case "combined":
      validateSaliency(data, n, e);
      if (!e.full) validateFactors(data, n, e);
      break;
  }
  return e.list;
}
