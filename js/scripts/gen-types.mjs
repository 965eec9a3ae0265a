// Generate js/src/generated/views.ts, the TypeScript types of the view data, from the view
// schemas in src/lmscope/views/schemas (the one written contract).
//
//   node scripts/gen-types.mjs          write the file
//   (build.mjs calls generateTypes(); `node build.mjs --check` fails if the file is stale)
//
// Each schema with a "title" becomes an interface (allOf: [{$ref}] becomes "extends"); a
// property that is not "required" is optional; "type" lists, "enum" and "const" become unions
// and literals; descriptions become doc comments. The output is deterministic.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const SCHEMAS = join(here, "..", "..", "src", "lmscope", "views", "schemas");
export const OUT = join(here, "..", "src", "generated", "views.ts");
const ROOT = "view.schema.json";

const files = Object.fromEntries(
  readdirSync(SCHEMAS)
    .filter((f) => f.endsWith(".schema.json"))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(SCHEMAS, f), "utf8"))]),
);

function resolve(ref, base) {
  const [file, frag = ""] = ref.split("#");
  const name = file || base;
  let node = files[name];
  if (node === undefined) throw new Error(`$ref ${ref} in ${base}: no schema file ${name}`);
  for (const part of frag.split("/").filter(Boolean)) {
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    if (node === undefined) throw new Error(`$ref ${ref} in ${base} points at nothing`);
  }
  return [node, name];
}

function comment(text, indent) {
  if (!text) return "";
  return `${indent}/** ${String(text).replace(/\*\//g, "* /")} */\n`;
}

export function generateTypes() {
  const named = new Map(); // title -> [schema, base]
  const order = [];

  function nameOf(schema, base) {
    const title = schema.title;
    if (!named.has(title)) {
      named.set(title, [schema, base]);
      order.push(title);
    } else if (named.get(title)[0] !== schema) {
      throw new Error(`two view schemas are titled ${title}`);
    }
    return title;
  }

  function typeOf(schema, base, indent) {
    if (schema.$ref && !("type" in schema || "const" in schema || "enum" in schema)) {
      const [target, tbase] = resolve(schema.$ref, base);
      return target.title ? nameOf(target, tbase) : typeOf(target, tbase, indent);
    }
    if ("const" in schema) return JSON.stringify(schema.const);
    if ("enum" in schema) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    const types = schema.type === undefined ? [] : [].concat(schema.type);
    if (!types.length) return "unknown";
    return types
      .map((t) => {
        switch (t) {
          case "integer":
          case "number":
            return "number";
          case "string":
          case "boolean":
          case "null":
            return t;
          case "array": {
            const item = schema.items ? typeOf(schema.items, base, indent) : "unknown";
            return /[ |]/.test(item) && !item.startsWith("{") ? `(${item})[]` : `${item}[]`;
          }
          case "object":
            return schema.properties ? body(schema, base, indent) : "Record<string, unknown>";
          default:
            throw new Error(`unknown type ${t}`);
        }
      })
      .join(" | ");
  }

  function describeProp(schema, base) {
    if (schema.description) return schema.description;
    if (schema.$ref) {
      const [target, tbase] = resolve(schema.$ref, base);
      return target.title ? "" : describeProp(target, tbase);
    }
    return "";
  }

  function body(schema, base, indent) {
    const required = new Set(schema.required || []);
    const inner = indent + "  ";
    let out = "{\n";
    for (const [key, prop] of Object.entries(schema.properties || {})) {
      out += comment(describeProp(prop, base), inner);
      out += `${inner}${key}${required.has(key) ? "" : "?"}: ${typeOf(prop, base, inner)};\n`;
    }
    return out + indent + "}";
  }

  function iface(title) {
    const [schema, base] = named.get(title);
    const parents = (schema.allOf || []).map((s) => {
      if (!s.$ref) throw new Error(`${title}: allOf entries must be $refs to titled schemas`);
      const [target, tbase] = resolve(s.$ref, base);
      if (!target.title) throw new Error(`${title}: allOf target ${s.$ref} needs a title`);
      return nameOf(target, tbase);
    });
    const ext = parents.length ? ` extends ${parents.join(", ")}` : "";
    return comment(schema.description, "") + `export interface ${title}${ext} ${body(schema, base, "")}\n`;
  }

  const root = files[ROOT];
  const kinds = root.properties.kind.enum;
  const views = root.allOf.map((branch) => nameOf(...resolve(branch.then.$ref, ROOT)));
  const blocks = [];
  for (let i = 0; i < order.length; i++) blocks.push(iface(order[i])); // order grows while emitting
  return [
    "// Generated from src/lmscope/views/schemas/*.schema.json by js/scripts/gen-types.mjs; do not edit.",
    "// Rebuild with `npm --prefix js run build` (make js); `make js-check` fails when this file is stale.",
    "",
    blocks.join("\n"),
    comment(root.description, "") + `export type ViewData = ${views.join(" | ")};`,
    "",
    "/** The view kinds, in the order of view.schema.json. */",
    `export const KINDS = [${kinds.map((k) => JSON.stringify(k)).join(", ")}] as const;`,
    "",
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OUT, generateTypes());
  console.log(`wrote ${OUT}`);
}
