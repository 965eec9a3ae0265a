// Validate view data with the committed browser bundle's validator (window.lmscope.validate),
// the one the explorables run, so Python tests can compare it with lmscope.views.validate_view.
//
//   node scripts/validate-views.mjs < cases.json
//
// stdin: a JSON object {name: viewData}; stdout: a JSON object {name: [problem, ...]}.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const here = dirname(fileURLToPath(import.meta.url));
const bundle = readFileSync(join(here, "..", "..", "src", "lmscope", "views", "static", "lmscope.js"), "utf8");
const sandbox = {};
sandbox.window = sandbox;
vm.createContext(sandbox);
vm.runInContext(bundle, sandbox, { filename: "lmscope.js" });
// Run the data through the sandbox's own JSON so arrays and objects belong to its realm.
const cases = vm.runInContext("JSON.parse", sandbox)(readFileSync(0, "utf8"));
const out = {};
for (const name of Object.keys(cases)) out[name] = Array.from(sandbox.lmscope.validate(cases[name]));
process.stdout.write(JSON.stringify(out));
