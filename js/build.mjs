// Build the lmscope views bundle: src/index.ts -> ../src/lmscope/views/static/lmscope.js
// and src/styles.css -> ../src/lmscope/views/static/lmscope.css, after generating the view
// types src/generated/views.ts from the view schemas (scripts/gen-types.mjs). The bundle
// carries the schemas themselves (src/validate.ts imports them as JSON).
//
//   node build.mjs          write the generated types and both files
//   node build.mjs --check  regenerate and rebuild in memory, exit 1 if a committed file differs
//
// The output is deterministic (pinned esbuild, no timestamps, no absolute paths),
// so CI can rebuild and compare. It must be safe to inline in an HTML <script>
// or <style> element, so the build fails if it contains "</script", "</style",
// "<!--" or any non-ASCII character.
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OUT as typesPath, generateTypes } from "./scripts/gen-types.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "src", "lmscope", "views", "static");
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const banner = `/* lmscope views ${pkg.version}: generated from js/src by \`npm run build\`; do not edit. */`;

const common = {
  absWorkingDir: here,
  bundle: true,
  write: false,
  charset: "ascii",
  legalComments: "none",
  logLevel: "warning",
  banner: { js: banner, css: banner },
};

// The view schemas go into the bundle as JSON without their "$schema" URL: the bundle names
// no network address (tests/views check it), and the validator does not need it.
const schemasWithoutUrl = {
  name: "view-schemas",
  setup(b) {
    b.onLoad({ filter: /\.schema\.json$/ }, (args) => {
      const { $schema, ...schema } = JSON.parse(readFileSync(args.path, "utf8"));
      return { contents: JSON.stringify(schema), loader: "json" };
    });
  },
};

async function bundle() {
  const js = await build({
    ...common,
    entryPoints: ["src/index.ts"],
    plugins: [schemasWithoutUrl],
    format: "iife",
    target: ["es2019"],
    platform: "browser",
    outfile: "lmscope.js",
  });
  const css = await build({ ...common, entryPoints: ["src/styles.css"], outfile: "lmscope.css" });
  return { "lmscope.js": js.outputFiles[0].text, "lmscope.css": css.outputFiles[0].text };
}

function checkInlineSafe(name, text) {
  if (/[^\x00-\x7f]/.test(text)) throw new Error(`${name} contains non-ASCII characters; escape them in the sources`);
  for (const bad of ["</script", "</style", "<!--"]) {
    if (text.toLowerCase().includes(bad)) throw new Error(`${name} contains "${bad}" and cannot be inlined in HTML`);
  }
}

const check = process.argv.includes("--check");
let stale = false;
const types = generateTypes();
if (check) {
  let old = null;
  try {
    old = readFileSync(typesPath, "utf8");
  } catch {
    // missing counts as stale
  }
  if (old !== types) {
    console.error(`stale: ${typesPath} differs from the view schemas; run \`npm --prefix js run build\` and commit it`);
    stale = true;
  } else {
    console.log("ok: src/generated/views.ts matches the view schemas");
  }
} else {
  writeFileSync(typesPath, types);
  console.log(`wrote ${typesPath}`);
}
const outputs = await bundle();
for (const [name, text] of Object.entries(outputs)) {
  checkInlineSafe(name, text);
  const path = join(outDir, name);
  if (check) {
    let old = null;
    try {
      old = readFileSync(path, "utf8");
    } catch {
      // missing counts as stale
    }
    if (old !== text) {
      console.error(`stale: ${path} differs from a fresh build of js/src; run \`npm --prefix js run build\` and commit it`);
      stale = true;
    } else {
      console.log(`ok: ${name} (${Buffer.byteLength(text)} bytes) matches the sources`);
    }
  } else {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${path} (${Buffer.byteLength(text)} bytes)`);
  }
}
process.exit(stale ? 1 : 0);
