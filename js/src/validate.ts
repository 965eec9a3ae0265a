/**
 * Validation of view data against the view schemas, the one written contract:
 * src/lmscope/views/schemas/*.schema.json (JSON Schema 2020-12), bundled here as JSON.
 *
 * This is the same interpreter as the Python side's lmscope/views/contract.py, keyword for
 * keyword and message for message (tests/views/test_contract_parity.py runs both on
 * tests/views/contract_fixtures): $ref, allOf, if/then, type ("number" is finite,
 * "integer" includes 3.0), const, enum, minimum, maximum, minItems, items, properties (in
 * the schema's order), required, and the cross-field keywords x-length, x-below (a JSON
 * pointer to an array in the view), x-index and x-contiguous. See contract.py for their
 * meaning.
 *
 * validate() returns a list of readable messages (empty when the data is fine), each
 * starting with the path of the field ("attributions[1][3] must be ..."). It stops after
 * MAX_ERRORS, and is linear in the size of the data.
 */

import activations from "../../src/lmscope/views/schemas/activations.schema.json";
import candidates from "../../src/lmscope/views/schemas/candidates.schema.json";
import combined from "../../src/lmscope/views/schemas/combined.schema.json";
import common from "../../src/lmscope/views/schemas/common.schema.json";
import factors from "../../src/lmscope/views/schemas/factors.schema.json";
import lens from "../../src/lmscope/views/schemas/lens.schema.json";
import saliency from "../../src/lmscope/views/schemas/saliency.schema.json";
import view from "../../src/lmscope/views/schemas/view.schema.json";

const MAX_ERRORS = 12;
const ROOT = "view.schema.json";

type Obj = Record<string, unknown>;
type Schema = Record<string, unknown>;

const FILES: Record<string, unknown> = {
  "activations.schema.json": activations,
  "candidates.schema.json": candidates,
  "combined.schema.json": combined,
  "common.schema.json": common,
  "factors.schema.json": factors,
  "lens.schema.json": lens,
  "saliency.schema.json": saliency,
  "view.schema.json": view,
};

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unescape(part: string): string {
  return part.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** The schema at `ref` (file#/json/pointer) read from file `base`, and its file. */
function resolve(ref: string, base: string): [Schema, string] {
  const hash = ref.indexOf("#");
  const name = (hash < 0 ? ref : ref.slice(0, hash)) || base;
  let node = FILES[name];
  if (node === undefined) throw new Error("view schema " + name + " is not bundled");
  for (const part of (hash < 0 ? "" : ref.slice(hash + 1)).split("/")) {
    if (part) node = (node as Obj)[unescape(part)];
  }
  return [node as Schema, name];
}

/** The value at JSON pointer `ptr` in `data`, or undefined. */
function pointer(data: unknown, ptr: string): unknown {
  let node = data;
  for (const raw of ptr.split("/")) {
    if (!raw) continue;
    const part = unescape(raw);
    if (isObject(node) && Object.prototype.hasOwnProperty.call(node, part)) node = node[part];
    else if (Array.isArray(node) && /^[0-9]+$/.test(part) && Number(part) < node.length) node = node[Number(part)];
    else return undefined;
  }
  return node;
}

/** The message path of a JSON pointer: /a/0/b -> a[0].b. */
function pointerPath(ptr: string): string {
  let out = "";
  for (const part of ptr.split("/")) {
    if (!part) continue;
    out += /^[0-9]+$/.test(part) ? "[" + part + "]" : out ? "." + part : part;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "\u2026" : v);
  if (Array.isArray(v)) return "a list of length " + v.length;
  if (isObject(v)) return "an object";
  return "a " + typeof v;
}

function entries(n: number): string {
  return n === 1 ? "1 entry" : n + " entries";
}

function isType(v: unknown, t: string): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    case "number":
      return typeof v === "number" && isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
  }
  throw new Error("the view schemas use a type this interpreter does not know: " + t);
}

function typesOf(s: Schema): string[] {
  const t = s.type;
  return t === undefined ? [] : typeof t === "string" ? [t] : (t as string[]);
}

/** Deep equality for the schema's constants (strings, numbers, null). */
function same(a: unknown, b: unknown): boolean {
  return a === b;
}

class Checker {
  found: [string, string][] = [];
  failed = new Set<string>();
  constructor(readonly root: unknown) {}

  get full(): boolean {
    return this.found.length >= MAX_ERRORS;
  }

  add(path: string, msg: string): void {
    this.failed.add(path);
    if (!this.full) this.found.push([path, (path || "view data") + " " + msg]);
  }

  lengthOf(ptr: string): number | null {
    const target = pointer(this.root, ptr);
    if (!Array.isArray(target) || this.failed.has(pointerPath(ptr))) return null;
    return target.length;
  }

  expected(s: Schema, base: string): string {
    while (typeof s.$ref === "string" && !("type" in s || "const" in s || "enum" in s)) [s, base] = resolve(s.$ref, base);
    if ("const" in s) return JSON.stringify(s.const);
    if ("enum" in s) return "one of " + (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(", ");
    const words: string[] = [];
    for (const t of typesOf(s)) {
      if (t === "integer" || t === "number") words.push((t === "integer" ? "an integer" : "a number") + this.bounds(s));
      else if (t === "array") words.push("a list" + (typeof s.description === "string" ? " (" + s.description + ")" : ""));
      else {
        const names: Record<string, string> = { string: "a string", boolean: "true or false", null: "null", object: "an object" };
        words.push(names[t]);
      }
    }
    return words.join(" or ") || "anything";
  }

  bounds(s: Schema): string {
    const lo = typeof s.minimum === "number" ? s.minimum : null;
    let hi = typeof s.maximum === "number" ? s.maximum : null;
    if (typeof s["x-below"] === "string") {
      const n = this.lengthOf(s["x-below"]);
      if (n !== null) hi = hi === null ? n - 1 : Math.min(hi, n - 1);
    }
    if (lo !== null && hi !== null) return " in [" + lo + ", " + hi + "]";
    if (lo !== null) return " >= " + lo;
    return hi !== null ? " <= " + hi : "";
  }

  check(s: Schema, v: unknown, path: string, base: string, index: number | null): void {
    if (this.full || !this.scalar(s, v, path, base, index)) return;
    if (typeof s.$ref === "string") {
      const [sub, subBase] = resolve(s.$ref, base);
      this.check(sub, v, path, subBase, index);
    }
    for (const sub of (s.allOf as Schema[] | undefined) || []) this.check(sub, v, path, base, index);
    if (Array.isArray(v)) this.array(s, v, path, base);
    else if (isObject(v)) this.object(s, v, path, base, index);
    if (isObject(s.if) && isObject(s.then)) {
      const trial = new Checker(this.root);
      trial.check(s.if, v, path, base, index);
      if (trial.found.length === 0) this.check(s.then, v, path, base, index);
    }
  }

  /** Type, const, enum and bounds; false (after one message) when v breaks one. */
  scalar(s: Schema, v: unknown, path: string, base: string, index: number | null): boolean {
    const types = typesOf(s);
    let ok = types.length === 0 || types.some((t) => isType(v, t));
    if (ok && "const" in s) ok = same(v, s.const);
    if (ok && "enum" in s) ok = (s.enum as unknown[]).some((e) => same(v, e));
    if (ok && isType(v, "number")) {
      const x = v as number;
      const below = typeof s["x-below"] === "string" ? this.lengthOf(s["x-below"]) : null;
      ok =
        (typeof s.minimum !== "number" || x >= s.minimum) &&
        (typeof s.maximum !== "number" || x <= s.maximum) &&
        (below === null || x < below);
    }
    if (!ok) {
      this.add(path, "must be " + this.expected(s, base) + ", got " + describe(v));
      return false;
    }
    if (s["x-index"] === true && index !== null && v !== index) {
      this.add(path, "must be " + index + " (its index), got " + describe(v));
      return false;
    }
    return true;
  }

  array(s: Schema, v: unknown[], path: string, base: string): void {
    const n = v.length;
    const least = typeof s.minItems === "number" ? s.minItems : 0;
    if (n < least) this.add(path, (n === 0 ? "is empty" : "has " + entries(n)) + "; expected at least " + entries(least));
    if (typeof s["x-length"] === "string") {
      const want = this.lengthOf(s["x-length"]);
      if (want !== null && n !== want) {
        this.add(path, "has " + entries(n) + "; expected " + want + ", one per entry of " + pointerPath(s["x-length"]));
        return;
      }
    }
    if (isObject(s.items)) {
      for (let i = 0; i < n; i++) {
        if (this.full) return;
        this.check(s.items, v[i], path + "[" + i + "]", base, i);
      }
    }
    if (s["x-contiguous"] === true) {
      const seen = new Set<unknown>();
      for (let i = 0; i < n; i++) {
        if (i > 0 && v[i] === v[i - 1]) continue;
        if (seen.has(v[i])) {
          this.add(
            path + "[" + i + "]",
            "is " + describe(v[i]) + " again after other values; equal entries must be contiguous (sort by them)",
          );
          return;
        }
        seen.add(v[i]);
      }
    }
  }

  object(s: Schema, v: Obj, path: string, base: string, index: number | null): void {
    const props = (s.properties as Record<string, Schema> | undefined) || {};
    const required = (s.required as string[] | undefined) || [];
    for (const key of Object.keys(props)) {
      const where = path ? path + "." + key : key;
      if (Object.prototype.hasOwnProperty.call(v, key) && v[key] !== undefined) this.check(props[key], v[key], where, base, index);
      else if (required.indexOf(key) >= 0) this.add(where, "is missing; expected " + this.expected(props[key], base));
    }
    for (const key of required) {
      if (!(key in props) && !Object.prototype.hasOwnProperty.call(v, key)) this.add(path ? path + "." + key : key, "is missing");
    }
  }
}

/** Every problem of `data` against the schema file `schema`, as [path, message] pairs. */
export function check(data: unknown, schema: string = ROOT): [string, string][] {
  const c = new Checker(data);
  c.check(resolve(schema, ROOT)[0], data, "", schema, null);
  return c.found;
}

/** Problems with `data` as readable messages; an empty list means it can be rendered. */
export function validate(data: unknown): string[] {
  return check(data).map((p) => p[1]);
}
