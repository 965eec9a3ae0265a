/* lmscope views 0.1.0: generated from js/src by `npm run build`; do not edit. */
"use strict";
(() => {
  // src/tokens.ts
  var INVISIBLE = /^[\s\u200b-\u200d\u2060\ufeff]+$/;
  function pictureOf(ch, visibleSpaces) {
    switch (ch) {
      case "\n":
        return "\u21B5";
      // downwards arrow with corner leftwards
      case "	":
        return "\u21E5";
      // rightwards arrow to bar
      case "\r":
        return "\u240D";
      // symbol for carriage return
      case " ":
        return visibleSpaces ? "\u2423" : " ";
      // open box
      case "\xA0":
        return visibleSpaces ? "\u237D" : "\xA0";
      // shouldered open box
      case "\x7F":
        return "\u2421";
    }
    const code = ch.charCodeAt(0);
    if (code < 32) return String.fromCharCode(9216 + code);
    if (visibleSpaces && INVISIBLE.test(ch)) return "\xB7";
    return ch;
  }
  function displayToken(token) {
    if (token.length === 0) return { text: "\u2205", whitespace: false, empty: true, newlines: 0 };
    const whitespace = INVISIBLE.test(token);
    let text = "";
    let newlines = 0;
    for (let i = 0; i < token.length; i++) {
      const ch = token[i];
      if (ch === "\r" && token[i + 1] === "\n") continue;
      if (ch === "\n") newlines++;
      text += pictureOf(ch, whitespace);
    }
    return { text, whitespace, empty: false, newlines: Math.min(newlines, 2) };
  }
  function tokenTitle(t) {
    return JSON.stringify(t.token) + " \xB7 id " + t.token_id + " \xB7 position " + t.position + " \xB7 " + t.type;
  }
  function firstOutputIndex(tokens) {
    for (let i = 0; i < tokens.length; i++) if (tokens[i].type === "output") return i;
    return tokens.length;
  }

  // src/dom.ts
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== void 0) node.textContent = text;
    return node;
  }
  var SVG_NS = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const k in attrs) node.setAttribute(k, String(attrs[k]));
    return node;
  }
  function frame(root, kind, data) {
    root.classList.add("lmscope", "lms-kind-" + kind);
    if (data.title) root.appendChild(el("div", "lms-title", data.title));
    if (data.caption) root.appendChild(el("div", "lms-caption", data.caption));
    const body = el("div", "lms-body");
    root.appendChild(body);
    return body;
  }
  function hint(parent, text) {
    const h = el("div", "lms-hint", text);
    parent.appendChild(h);
    return h;
  }
  function renderTokens(container, tokens, withValues = false) {
    const frag = document.createDocumentFragment();
    const spans = new Array(tokens.length);
    const values = withValues ? new Array(tokens.length) : null;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      const d = displayToken(t.token);
      let cls = "lms-token " + (t.type === "output" ? "lms-output" : "lms-input");
      if (d.whitespace) cls += " lms-ws";
      if (d.empty) cls += " lms-empty";
      const span = el("span", cls);
      span.setAttribute("data-position", String(i));
      span.title = tokenTitle(t);
      if (values) {
        span.appendChild(el("span", "lms-tok-text", d.text));
        const v = el("span", "lms-tok-val");
        span.appendChild(v);
        values[i] = v;
      } else {
        span.textContent = d.text;
      }
      spans[i] = span;
      frag.appendChild(span);
      for (let k = 0; k < d.newlines; k++) frag.appendChild(el("br", "lms-nl"));
    }
    container.appendChild(frag);
    return { spans, values };
  }
  function tokenChip(token, cls = "lms-chip") {
    const d = displayToken(token);
    const span = el("span", cls + (d.whitespace ? " lms-ws" : ""), d.text);
    span.title = JSON.stringify(token);
    return span;
  }
  function closestIn(target, selector, within) {
    if (!(target instanceof Element)) return null;
    const found = target.closest(selector);
    return found instanceof HTMLElement && within.contains(found) ? found : null;
  }
  function createTooltip(root) {
    const node = el("div", "lms-tooltip");
    node.setAttribute("role", "tooltip");
    node.hidden = true;
    root.appendChild(node);
    return {
      node,
      show(anchor, content) {
        node.textContent = "";
        node.appendChild(content);
        node.hidden = false;
        const r = root.getBoundingClientRect();
        const a = anchor.getBoundingClientRect();
        const w = node.offsetWidth;
        let left = a.left - r.left + a.width / 2 - w / 2;
        left = Math.max(0, Math.min(left, r.width - w));
        node.style.left = left + "px";
        node.style.top = a.bottom - r.top + 6 + "px";
      },
      hide() {
        node.hidden = true;
      }
    };
  }
  function renderError(root, messages, kind) {
    root.textContent = "";
    root.classList.add("lmscope");
    const box = el("div", "lms-error");
    box.setAttribute("role", "alert");
    const what = typeof kind === "string" ? " (" + kind + ")" : "";
    box.appendChild(el("strong", "", "lmscope could not render this view" + what));
    const ul = el("ul");
    for (const m of messages) ul.appendChild(el("li", "", m));
    box.appendChild(ul);
    root.appendChild(box);
  }
  function rowOf(node) {
    if (!node) return -1;
    const r = node.getAttribute("data-row");
    return r === null ? -1 : Number(r);
  }

  // ../src/lmscope/views/schemas/activations.schema.json
  var activations_schema_default = { title: "ActivationsData", description: "Neuron activations: rows (neurons) x tokens, optionally grouped into clusters.", type: "object", allOf: [{ $ref: "common.schema.json#/$defs/view" }], properties: { kind: { const: "activations" }, values: { description: "one row per neuron, one entry per token", type: "array", items: { type: "array", "x-length": "/tokens", items: { type: "number" } } }, row_labels: { description: "one label per row", type: "array", "x-length": "/values", items: { type: "string" } }, clusters: { description: "the cluster of each row; rows are sorted so that each cluster's rows are contiguous", type: ["array", "null"], "x-length": "/values", "x-contiguous": true, items: { type: "integer" } } }, required: ["kind", "values", "row_labels"] };

  // ../src/lmscope/views/schemas/candidates.schema.json
  var candidates_schema_default = { title: "CandidatesData", description: "The model's top candidates at each generated (or masked) position.", type: "object", allOf: [{ $ref: "common.schema.json#/$defs/view" }], properties: { kind: { const: "candidates" }, steps: { description: "one {position, chosen, top} per generated or masked token", type: "array", items: { $ref: "#/$defs/step" } } }, required: ["kind", "steps"], $defs: { step: { title: "CandidateStep", description: "one generation step", type: "object", properties: { position: { type: "integer", minimum: 0, "x-below": "/tokens", description: "Position of the chosen token." }, chosen: { $ref: "#/$defs/candidate" }, top: { description: "the top-k candidates, most probable first", type: "array", items: { $ref: "#/$defs/candidate" } } }, required: ["position", "chosen", "top"] }, candidate: { title: "Candidate", description: "a {token, token_id, prob}", type: "object", properties: { token: { type: "string" }, token_id: { type: "integer" }, prob: { type: "number" } }, required: ["token", "token_id", "prob"] } } };

  // ../src/lmscope/views/schemas/combined.schema.json
  var combined_schema_default = { title: "CombinedData", description: "Saliency and factors of one run over the same tokens: the fields of both, side by side.", type: "object", allOf: [{ $ref: "common.schema.json#/$defs/view" }], properties: { kind: { const: "combined" }, targets: { $ref: "saliency.schema.json#/properties/targets" }, attributions: { $ref: "saliency.schema.json#/properties/attributions" }, method: { $ref: "saliency.schema.json#/properties/method" }, factors: { $ref: "factors.schema.json#/properties/factors" }, dominant: { $ref: "factors.schema.json#/properties/dominant" }, excluded: { $ref: "factors.schema.json#/properties/excluded" }, labels: { $ref: "factors.schema.json#/properties/labels" } }, required: ["kind", "targets", "attributions", "factors", "dominant", "excluded"] };

  // ../src/lmscope/views/schemas/common.schema.json
  var common_schema_default = { title: "Common view parts", description: "Parts shared by every view kind: the token list and the optional title and caption.", $defs: { view: { title: "ViewCommon", description: "What every view carries: the tokens it describes, and an optional title and caption.", type: "object", properties: { tokens: { $ref: "#/$defs/tokens" }, title: { type: ["string", "null"], description: "Shown above the view." }, caption: { type: ["string", "null"], description: "Shown under the view." } }, required: ["tokens"] }, tokens: { description: "one {token, token_id, type, position} per token, in order", type: "array", minItems: 1, items: { $ref: "#/$defs/token" } }, token: { title: "Token", description: "one token of the run, as Run.token_table() gives it", type: "object", properties: { token: { type: "string", description: "The token's text as the tokenizer decodes it." }, token_id: { type: "integer", description: "The token's id in the vocabulary." }, type: { enum: ["input", "output"], description: "Input (prompt) or output (generated or predicted) token." }, position: { type: "integer", "x-index": true, description: "The token's index in the list." } }, required: ["token", "token_id", "type", "position"] } } };

  // ../src/lmscope/views/schemas/factors.schema.json
  var factors_schema_default = { title: "FactorsData", description: "Factors of the neuron activations over the tokens (NMF: non-negative; PCA: signed).", type: "object", allOf: [{ $ref: "common.schema.json#/$defs/view" }], properties: { kind: { const: "factors" }, factors: { description: "one row per factor, one entry per token", type: "array", minItems: 1, items: { type: "array", "x-length": "/tokens", items: { type: "number" } } }, dominant: { description: "the dominant factor of each token, -1 where the token is excluded", type: "array", "x-length": "/tokens", items: { type: "integer", minimum: -1, "x-below": "/factors" } }, excluded: { description: "positions left out of the factorisation", type: "array", items: { type: "integer", minimum: 0, "x-below": "/tokens" } }, labels: { description: "one name per factor", type: ["array", "null"], "x-length": "/factors", items: { type: "string" } } }, required: ["kind", "factors", "dominant", "excluded"] };

  // ../src/lmscope/views/schemas/lens.schema.json
  var lens_schema_default = { title: "LensData", description: "Logit lens: how each target token ranks in every layer's prediction.", type: "object", allOf: [{ $ref: "common.schema.json#/$defs/view" }], properties: { kind: { const: "lens" }, targets: { description: "positions of the predicted tokens", type: "array", items: { type: "integer", minimum: 0, "x-below": "/tokens" } }, layers: { description: "row labels, one per layer", type: "array", minItems: 1, items: { type: "string" } }, ranks: { description: "layers x targets, 1 = top", type: "array", "x-length": "/layers", items: { type: "array", "x-length": "/targets", items: { type: "integer", minimum: 1 } } }, probs: { description: "layers x targets, the probability of the target token at that layer", type: "array", "x-length": "/layers", items: { type: "array", "x-length": "/targets", items: { type: "number", minimum: 0, maximum: 1 } } }, top: { description: "[layer][target] -> that layer's top predictions at that position", type: "array", "x-length": "/layers", items: { type: "array", "x-length": "/targets", items: { type: "array", items: { $ref: "#/$defs/prediction" } } } } }, required: ["kind", "targets", "layers", "ranks", "probs", "top"], $defs: { prediction: { title: "Prediction", description: "one predicted token and its probability", type: "object", properties: { token: { type: "string" }, prob: { type: "number" } }, required: ["token", "prob"] } } };

  // ../src/lmscope/views/schemas/saliency.schema.json
  var saliency_schema_default = { title: "SaliencyData", description: "Attribution of each explained (target) token to every token of the text. A causal model's rows are 0 from the target on; a bidirectional model's rows may be nonzero on both sides of the target.", type: "object", allOf: [{ $ref: "common.schema.json#/$defs/view" }], properties: { kind: { const: "saliency" }, targets: { description: "positions of the explained tokens", type: "array", items: { type: "integer", minimum: 0, "x-below": "/tokens" } }, attributions: { description: "one row per target, one entry per token", type: "array", "x-length": "/targets", items: { type: "array", "x-length": "/tokens", items: { type: "number" } } }, variant: { enum: ["minimal", "detailed", null], description: `"detailed" also prints each token's percentage under it.` }, method: { type: ["string", "null"], description: "The attribution method's name, shown in the footer." } }, required: ["kind", "targets", "attributions"] };

  // ../src/lmscope/views/schemas/view.schema.json
  var view_schema_default = { title: "ViewData", description: "Any lmscope view: an object whose kind selects the schema it follows.", type: "object", properties: { kind: { enum: ["saliency", "factors", "lens", "activations", "candidates", "combined"] } }, required: ["kind"], allOf: [{ if: { properties: { kind: { const: "saliency" } }, required: ["kind"] }, then: { $ref: "saliency.schema.json" } }, { if: { properties: { kind: { const: "factors" } }, required: ["kind"] }, then: { $ref: "factors.schema.json" } }, { if: { properties: { kind: { const: "lens" } }, required: ["kind"] }, then: { $ref: "lens.schema.json" } }, { if: { properties: { kind: { const: "activations" } }, required: ["kind"] }, then: { $ref: "activations.schema.json" } }, { if: { properties: { kind: { const: "candidates" } }, required: ["kind"] }, then: { $ref: "candidates.schema.json" } }, { if: { properties: { kind: { const: "combined" } }, required: ["kind"] }, then: { $ref: "combined.schema.json" } }] };

  // src/validate.ts
  var MAX_ERRORS = 12;
  var ROOT = "view.schema.json";
  var FILES = {
    "activations.schema.json": activations_schema_default,
    "candidates.schema.json": candidates_schema_default,
    "combined.schema.json": combined_schema_default,
    "common.schema.json": common_schema_default,
    "factors.schema.json": factors_schema_default,
    "lens.schema.json": lens_schema_default,
    "saliency.schema.json": saliency_schema_default,
    "view.schema.json": view_schema_default
  };
  function isObject(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
  }
  function unescape(part) {
    return part.replace(/~1/g, "/").replace(/~0/g, "~");
  }
  function resolve(ref, base) {
    const hash = ref.indexOf("#");
    const name = (hash < 0 ? ref : ref.slice(0, hash)) || base;
    let node = FILES[name];
    if (node === void 0) throw new Error("view schema " + name + " is not bundled");
    for (const part of (hash < 0 ? "" : ref.slice(hash + 1)).split("/")) {
      if (part) node = node[unescape(part)];
    }
    return [node, name];
  }
  function pointer(data, ptr) {
    let node = data;
    for (const raw of ptr.split("/")) {
      if (!raw) continue;
      const part = unescape(raw);
      if (isObject(node) && Object.prototype.hasOwnProperty.call(node, part)) node = node[part];
      else if (Array.isArray(node) && /^[0-9]+$/.test(part) && Number(part) < node.length) node = node[Number(part)];
      else return void 0;
    }
    return node;
  }
  function pointerPath(ptr) {
    let out = "";
    for (const part of ptr.split("/")) {
      if (!part) continue;
      out += /^[0-9]+$/.test(part) ? "[" + part + "]" : out ? "." + part : part;
    }
    return out;
  }
  function describe(v) {
    if (v === null || v === void 0) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return String(v);
    if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "\u2026" : v);
    if (Array.isArray(v)) return "a list of length " + v.length;
    if (isObject(v)) return "an object";
    return "a " + typeof v;
  }
  function entries(n) {
    return n === 1 ? "1 entry" : n + " entries";
  }
  function isType(v, t) {
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
  function typesOf(s) {
    const t = s.type;
    return t === void 0 ? [] : typeof t === "string" ? [t] : t;
  }
  function same(a, b) {
    return a === b;
  }
  var Checker = class _Checker {
    constructor(root) {
      this.root = root;
      this.found = [];
      this.failed = /* @__PURE__ */ new Set();
    }
    get full() {
      return this.found.length >= MAX_ERRORS;
    }
    add(path, msg) {
      this.failed.add(path);
      if (!this.full) this.found.push([path, (path || "view data") + " " + msg]);
    }
    lengthOf(ptr) {
      const target = pointer(this.root, ptr);
      if (!Array.isArray(target) || this.failed.has(pointerPath(ptr))) return null;
      return target.length;
    }
    expected(s, base) {
      while (typeof s.$ref === "string" && !("type" in s || "const" in s || "enum" in s)) [s, base] = resolve(s.$ref, base);
      if ("const" in s) return JSON.stringify(s.const);
      if ("enum" in s) return "one of " + s.enum.map((v) => JSON.stringify(v)).join(", ");
      const words = [];
      for (const t of typesOf(s)) {
        if (t === "integer" || t === "number") words.push((t === "integer" ? "an integer" : "a number") + this.bounds(s));
        else if (t === "array") words.push("a list" + (typeof s.description === "string" ? " (" + s.description + ")" : ""));
        else {
          const names = { string: "a string", boolean: "true or false", null: "null", object: "an object" };
          words.push(names[t]);
        }
      }
      return words.join(" or ") || "anything";
    }
    bounds(s) {
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
    check(s, v, path, base, index) {
      if (this.full || !this.scalar(s, v, path, base, index)) return;
      if (typeof s.$ref === "string") {
        const [sub, subBase] = resolve(s.$ref, base);
        this.check(sub, v, path, subBase, index);
      }
      for (const sub of s.allOf || []) this.check(sub, v, path, base, index);
      if (Array.isArray(v)) this.array(s, v, path, base);
      else if (isObject(v)) this.object(s, v, path, base, index);
      if (isObject(s.if) && isObject(s.then)) {
        const trial = new _Checker(this.root);
        trial.check(s.if, v, path, base, index);
        if (trial.found.length === 0) this.check(s.then, v, path, base, index);
      }
    }
    /** Type, const, enum and bounds; false (after one message) when v breaks one. */
    scalar(s, v, path, base, index) {
      const types = typesOf(s);
      let ok = types.length === 0 || types.some((t) => isType(v, t));
      if (ok && "const" in s) ok = same(v, s.const);
      if (ok && "enum" in s) ok = s.enum.some((e) => same(v, e));
      if (ok && isType(v, "number")) {
        const x = v;
        const below = typeof s["x-below"] === "string" ? this.lengthOf(s["x-below"]) : null;
        ok = (typeof s.minimum !== "number" || x >= s.minimum) && (typeof s.maximum !== "number" || x <= s.maximum) && (below === null || x < below);
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
    array(s, v, path, base) {
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
        const seen = /* @__PURE__ */ new Set();
        for (let i = 0; i < n; i++) {
          if (i > 0 && v[i] === v[i - 1]) continue;
          if (seen.has(v[i])) {
            this.add(
              path + "[" + i + "]",
              "is " + describe(v[i]) + " again after other values; equal entries must be contiguous (sort by them)"
            );
            return;
          }
          seen.add(v[i]);
        }
      }
    }
    object(s, v, path, base, index) {
      const props = s.properties || {};
      const required = s.required || [];
      for (const key of Object.keys(props)) {
        const where = path ? path + "." + key : key;
        if (Object.prototype.hasOwnProperty.call(v, key) && v[key] !== void 0) this.check(props[key], v[key], where, base, index);
        else if (required.indexOf(key) >= 0) this.add(where, "is missing; expected " + this.expected(props[key], base));
      }
      for (const key of required) {
        if (!(key in props) && !Object.prototype.hasOwnProperty.call(v, key)) this.add(path ? path + "." + key : key, "is missing");
      }
    }
  };
  function check(data, schema = ROOT) {
    const c = new Checker(data);
    c.check(resolve(schema, ROOT)[0], data, "", schema, null);
    return c.found;
  }
  function validate(data) {
    return check(data).map((p) => p[1]);
  }

  // src/colors.ts
  var VIRIDIS_HEX = "44015444025645045745055946075a46085c460a5d460b5e470d60470e6147106347116447136548146748166848176948186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f854240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc8635ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21ad8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725";
  function decodeHexLut(hex) {
    const out = [];
    for (let i = 0; i + 6 <= hex.length; i += 6) {
      out.push([
        parseInt(hex.slice(i, i + 2), 16),
        parseInt(hex.slice(i + 2, i + 4), 16),
        parseInt(hex.slice(i + 4, i + 6), 16)
      ]);
    }
    return out;
  }
  var viridisLut = null;
  function clamp01(t) {
    if (!(t > 0)) return 0;
    return t > 1 ? 1 : t;
  }
  function viridis(t) {
    if (viridisLut === null) viridisLut = decodeHexLut(VIRIDIS_HEX);
    return viridisLut[Math.round(clamp01(t) * 255)];
  }
  function sequential(stops, t) {
    const x = clamp01(t) * (stops.length - 1);
    const i = Math.min(Math.floor(x), stops.length - 2);
    const f = x - i;
    const a = stops[i];
    const b = stops[i + 1];
    return [
      Math.round(a[0] + (b[0] - a[0]) * f),
      Math.round(a[1] + (b[1] - a[1]) * f),
      Math.round(a[2] + (b[2] - a[2]) * f)
    ];
  }
  function hexToRgb(hex) {
    const h = hex.replace("#", "");
    return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
  }
  var PURPLES = [
    "#fcfbfd",
    "#efedf5",
    "#dadaeb",
    "#bcbddc",
    "#9e9ac8",
    "#807dba",
    "#6a51a3",
    "#54278f",
    "#3f007d"
  ].map(hexToRgb);
  var BLUES = [
    "#f7fbff",
    "#deebf7",
    "#c6dbef",
    "#9ecae1",
    "#6baed6",
    "#4292c6",
    "#2171b5",
    "#08519c",
    "#08306b"
  ].map(hexToRgb);
  var CATEGORICAL = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#a0cbe8",
    "#ffbe7d",
    "#ff9d9a",
    "#86bcb6",
    "#8cd17d",
    "#f1ce63",
    "#d4a6c8",
    "#fabfd2",
    "#d7b5a6",
    "#79706e"
  ].map(hexToRgb);
  function categorical(i) {
    const n = CATEGORICAL.length;
    return CATEGORICAL[(i % n + n) % n];
  }
  function rgbString(c) {
    return "rgb(" + c[0] + ", " + c[1] + ", " + c[2] + ")";
  }
  function rgbaString(c, alpha) {
    const a = Math.round(clamp01(alpha) * 1e3) / 1e3;
    if (a === 1) return rgbString(c);
    return "rgba(" + c[0] + ", " + c[1] + ", " + c[2] + ", " + a + ")";
  }
  function relativeLuminance(c) {
    const lin = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  }
  function textColorOn(c) {
    const l = relativeLuminance(c);
    return 1.05 / (l + 0.05) > (l + 0.05) / 0.0556 ? "#fff" : "#111";
  }
  function positivePercentile(rows, q) {
    let count = 0;
    for (const row of rows) for (const v of row) if (v > 0) count++;
    if (count === 0) return 1;
    const sorted = new Float64Array(count);
    let i = 0;
    for (const row of rows) for (const v of row) if (v > 0) sorted[i++] = v;
    sorted.sort();
    const at = Math.min(Math.max(q, 0), 100) / 100 * (count - 1);
    const lo = Math.floor(at);
    const hi = Math.min(lo + 1, count - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
  }
  function logRankScale(rank, maxRank) {
    const m = Math.max(maxRank, 2);
    if (!(rank > 1)) return 1;
    return clamp01(1 - Math.log(rank) / Math.log(m));
  }

  // src/format.ts
  var MINUS = "\u2212";
  function formatPercent(v) {
    if (!isFinite(v)) return "\u2013";
    if (v === 0) return "0%";
    const a = Math.abs(v) * 100;
    const sign = v < 0 ? MINUS : "";
    let s;
    if (a < 0.1) s = "<0.1";
    else if (a < 9.95) s = a.toFixed(1);
    else s = String(Math.round(a));
    return sign + s + "%";
  }
  function formatProb(p) {
    return formatPercent(p);
  }
  function formatRank(r) {
    if (!isFinite(r)) return "\u2013";
    const n = Math.round(r);
    if (n < 1e4) return String(n);
    if (n < 1e6) return Math.round(n / 1e3) + "k";
    return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
  }
  function formatNumber(v, digits = 3) {
    if (!isFinite(v)) return "\u2013";
    if (v === 0) return "0";
    const a = Math.abs(v);
    let s;
    if (a >= 1e5 || a < 1e-3) {
      s = v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e");
    } else {
      s = v.toPrecision(digits);
      if (s.indexOf(".") >= 0) s = s.replace(/\.?0+$/, "");
    }
    return s.replace(/^-/, MINUS);
  }

  // src/views/activations.ts
  function renderActivations(root, data) {
    const body = frame(root, "activations", data);
    const { tokens, values, row_labels: labels, clusters } = data;
    const rows = values.length;
    const cols = tokens.length;
    const cw = Math.max(2, Math.min(18, Math.floor(4e3 / Math.max(cols, 1))));
    const rh = Math.max(1, Math.min(12, Math.floor(600 / Math.max(rows, 1))));
    const top = positivePercentile(values, 99);
    const wrap = el("div", "lms-scroll");
    const grid = el("div", "lms-heat");
    wrap.appendChild(grid);
    body.appendChild(wrap);
    const head = el("div", "lms-heat-head");
    head.style.marginLeft = clusters ? "14px" : "0";
    if (cw >= 10) {
      const frag = document.createDocumentFragment();
      for (let j = 0; j < cols; j++) {
        const box = el("div", "lms-vlabel" + (tokens[j].type === "output" ? " lms-output" : ""));
        box.style.width = cw + "px";
        box.title = tokenTitle(tokens[j]);
        box.appendChild(el("span", "", displayToken(tokens[j].token).text));
        frag.appendChild(box);
      }
      head.appendChild(frag);
    }
    grid.appendChild(head);
    const row = el("div", "lms-heat-row");
    grid.appendChild(row);
    if (clusters) {
      const strip = el("div", "lms-cluster-strip");
      let start = 0;
      for (let i = 1; i <= rows; i++) {
        if (i < rows && clusters[i] === clusters[start]) continue;
        const block = el("div", "lms-cluster-block");
        block.style.height = (i - start) * rh + "px";
        block.style.backgroundColor = rgbString(categorical(clusters[start]));
        block.title = "cluster " + clusters[start] + " \xB7 " + (i - start) + " neurons";
        block.setAttribute("data-cluster", String(clusters[start]));
        strip.appendChild(block);
        start = i;
      }
      row.appendChild(strip);
    }
    const plot = el("div", "lms-heat-plot");
    const canvas = el("canvas", "lms-heat-canvas");
    canvas.width = Math.max(cols, 1);
    canvas.height = Math.max(rows, 1);
    canvas.style.width = cols * cw + "px";
    canvas.style.height = rows * rh + "px";
    canvas.setAttribute("data-rows", String(rows));
    canvas.setAttribute("data-cols", String(cols));
    canvas.setAttribute("data-top", String(top));
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Activations of " + rows + " neurons over " + cols + " tokens");
    plot.appendChild(canvas);
    row.appendChild(plot);
    const ctx = canvas.getContext("2d");
    if (ctx && rows > 0 && cols > 0) {
      const img = ctx.createImageData(cols, rows);
      const px = img.data;
      for (let r = 0; r < rows; r++) {
        const vr = values[r];
        for (let c = 0; c < cols; c++) {
          const v = vr[c];
          if (!(v > 0)) continue;
          const rgb = sequential(BLUES, 0.08 + 0.92 * Math.min(v / top, 1));
          const o = (r * cols + c) * 4;
          px[o] = rgb[0];
          px[o + 1] = rgb[1];
          px[o + 2] = rgb[2];
          px[o + 3] = 255;
        }
      }
      ctx.putImageData(img, 0, 0);
    }
    if (clusters) {
      for (let i = 1; i < rows; i++) {
        if (clusters[i] === clusters[i - 1]) continue;
        const line = el("div", "lms-cluster-line");
        line.style.top = i * rh + "px";
        plot.appendChild(line);
      }
    }
    hint(body, "Each row is a neuron, each column a token; only positive activations are coloured (full colour from the 99th percentile up). Hover for values.");
    const tip = createTooltip(root);
    const cursor = el("div", "lms-heat-cursor");
    cursor.hidden = true;
    cursor.style.width = cw + "px";
    cursor.style.height = rh + "px";
    plot.appendChild(cursor);
    let last = -1;
    canvas.addEventListener("mousemove", (ev) => {
      const b = canvas.getBoundingClientRect();
      const c = Math.floor((ev.clientX - b.left) / b.width * cols);
      const r = Math.floor((ev.clientY - b.top) / b.height * rows);
      if (c < 0 || r < 0 || c >= cols || r >= rows) return;
      const key = r * cols + c;
      if (key === last) return;
      last = key;
      cursor.hidden = false;
      cursor.style.left = c * cw + "px";
      cursor.style.top = r * rh + "px";
      const frag = document.createDocumentFragment();
      const headLine = el("div", "lms-tip-head", labels[r]);
      if (clusters) headLine.append(" \xB7 cluster " + clusters[r]);
      frag.appendChild(headLine);
      const sub = el("div", "lms-tip-sub");
      sub.appendChild(tokenChip(tokens[c].token));
      sub.append(" (position " + c + ", " + tokens[c].type + ") \xB7 " + formatNumber(values[r][c]));
      frag.appendChild(sub);
      tip.show(cursor, frag);
    });
    canvas.addEventListener("mouseleave", () => {
      last = -1;
      cursor.hidden = true;
      tip.hide();
    });
  }

  // src/targets.ts
  function bindTargets(container, targetSpans, select) {
    targetSpans.forEach((span, row) => {
      span.classList.add("lms-target");
      span.setAttribute("data-row", String(row));
      span.tabIndex = row === 0 ? 0 : -1;
      span.setAttribute("role", "button");
    });
    const pick = (ev) => {
      const row = rowOf(closestIn(ev.target, ".lms-target", container));
      if (row >= 0) select(row);
    };
    container.addEventListener("mouseover", pick);
    container.addEventListener("click", pick);
    container.addEventListener("focusin", pick);
    container.addEventListener("keydown", (ev) => {
      const row = rowOf(closestIn(ev.target, ".lms-target", container));
      if (row < 0) return;
      let next = row;
      if (ev.key === "ArrowRight" || ev.key === "ArrowDown") next = Math.min(row + 1, targetSpans.length - 1);
      else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") next = Math.max(row - 1, 0);
      else if (ev.key === "Home") next = 0;
      else if (ev.key === "End") next = targetSpans.length - 1;
      else return;
      ev.preventDefault();
      if (next !== row) {
        targetSpans[row].tabIndex = -1;
        targetSpans[next].tabIndex = 0;
        targetSpans[next].focus();
      }
    });
  }

  // src/views/candidates.ts
  function renderCandidates(root, data) {
    const body = frame(root, "candidates", data);
    const { tokens, steps } = data;
    const text = el("div", "lms-text");
    body.appendChild(text);
    const { spans } = renderTokens(text, tokens);
    const panel = el("div", "lms-panel");
    panel.setAttribute("aria-live", "polite");
    body.appendChild(panel);
    if (steps.length === 0) {
      hint(body, "No generation steps to show.");
      return;
    }
    hint(body, "Hover or tap a generated token to see the alternatives the model considered.");
    for (let s = 0; s < steps.length; s++) spans[steps[s].position].setAttribute("data-value", String(steps[s].chosen.prob));
    let current = -1;
    function barRow(c, pmax, chosen, note) {
      const row = el("div", "lms-bar-row" + (chosen ? " lms-chosen" : ""));
      row.setAttribute("data-prob", String(c.prob));
      const chip = tokenChip(c.token);
      chip.title = JSON.stringify(c.token) + " \xB7 id " + c.token_id;
      row.appendChild(chip);
      const track = el("span", "lms-bar-track");
      const bar = el("span", "lms-bar");
      bar.style.width = (pmax > 0 ? 100 * c.prob / pmax : 0).toFixed(1) + "%";
      track.appendChild(bar);
      row.append(track, el("span", "lms-bar-val", formatProb(c.prob)));
      row.appendChild(el("span", "lms-note", note || ""));
      return row;
    }
    function select(s) {
      if (s === current || s < 0 || s >= steps.length) return;
      if (current >= 0) spans[steps[current].position].classList.remove("lms-selected");
      current = s;
      const step = steps[s];
      spans[step.position].classList.add("lms-selected");
      root.setAttribute("data-selected", String(step.position));
      panel.textContent = "";
      const head = el("div", "lms-tip-head");
      head.append("Position " + step.position + ": chose ");
      head.appendChild(tokenChip(step.chosen.token));
      head.append(" (" + formatProb(step.chosen.prob) + ")");
      panel.appendChild(head);
      let pmax = step.chosen.prob;
      for (const c of step.top) if (c.prob > pmax) pmax = c.prob;
      const list = el("div", "lms-bars");
      let found = false;
      for (const c of step.top) {
        const isChosen = c.token_id === step.chosen.token_id;
        found = found || isChosen;
        list.appendChild(barRow(c, pmax, isChosen));
      }
      if (!found) list.appendChild(barRow(step.chosen, pmax, true, "chosen, outside the top " + step.top.length));
      panel.appendChild(list);
    }
    bindTargets(
      text,
      steps.map((st) => spans[st.position]),
      select
    );
    select(0);
  }

  // src/attribution.ts
  function twoSided(row, target) {
    for (let i = target + 1; i < row.length; i++) if (row[i] !== 0) return true;
    return false;
  }
  function rowMax(row, target, both = false) {
    let max = 0;
    for (let i = 0; i < row.length; i++) if (i !== target && (i < target || both) && row[i] > max) max = row[i];
    return max;
  }
  function saliencyTint(v, max) {
    return viridis(max > 0 ? v / max : 0);
  }
  function viridisGradientCss() {
    const stops = [];
    for (let i = 0; i <= 8; i++) stops.push(rgbString(viridis(i / 8)) + " " + i * 100 / 8 + "%");
    return "linear-gradient(to right, " + stops.join(", ") + ")";
  }
  function renderAttributionFooter(body) {
    const footer = el("div", "lms-footer");
    const status = el("span", "lms-status");
    const legend = el("span", "lms-legend");
    const bar = el("span", "lms-legend-bar");
    bar.style.backgroundImage = viridisGradientCss();
    const hi = el("span", "lms-legend-hi");
    legend.append(el("span", "lms-legend-lo", "0%"), bar, hi);
    footer.append(status, legend);
    body.appendChild(footer);
    return {
      show(lead, token, target, method, max) {
        status.textContent = "";
        status.append(lead + " ");
        status.appendChild(el("strong", "", displayToken(token).text));
        status.append(" (position " + target + ")" + (method ? " \xB7 " + method : ""));
        hi.textContent = "max " + formatPercent(max);
      }
    };
  }
  function setTint(box, c) {
    box.style.backgroundColor = c ? rgbString(c) : "";
    box.style.color = c ? textColorOn(c) : "";
  }
  function bindAttributionSelection(root, text, spans, data, footer, lead, paint) {
    const { tokens, targets, attributions } = data;
    let current = -1;
    let currentTarget = -1;
    let currentBoth = false;
    const selection = {
      select(row) {
        if (row === current || row < 0 || row >= targets.length) return;
        const target = targets[row];
        const attr = attributions[row];
        const both = twoSided(attr, target);
        const max = rowMax(attr, target, both);
        const limit = both || currentBoth ? spans.length : Math.min(spans.length, Math.max(target, currentTarget) + 1);
        for (let i = 0; i < limit; i++) {
          spans[i].setAttribute("data-value", String(attr[i]));
          paint(i, attr[i], i !== target && (i < target || both) ? saliencyTint(attr[i], max) : null, target);
        }
        currentBoth = both;
        if (current >= 0) spans[currentTarget].classList.remove("lms-selected");
        spans[target].classList.add("lms-selected");
        current = row;
        currentTarget = target;
        root.setAttribute("data-selected", String(target));
        footer.show(lead, tokens[target].token, target, data.method, max);
      },
      get selected() {
        return current;
      }
    };
    if (targets.length) {
      bindTargets(
        text,
        targets.map((t) => spans[t]),
        selection.select
      );
      selection.select(0);
    }
    return selection;
  }

  // src/spark.ts
  function factorScales(factors, excluded) {
    const k = factors.length;
    const maxPos = new Float64Array(k);
    const maxAbs = new Float64Array(k);
    const minVal = new Float64Array(k);
    for (let f = 0; f < k; f++) {
      const row = factors[f];
      for (let i = 0; i < row.length; i++) {
        if (excluded[i]) continue;
        const v = row[i];
        if (v > maxPos[f]) maxPos[f] = v;
        if (Math.abs(v) > maxAbs[f]) maxAbs[f] = Math.abs(v);
        if (v < minVal[f]) minVal[f] = v;
      }
    }
    return { maxPos, maxAbs, minVal };
  }
  function excludedMask(n, excluded, dominant) {
    const mask = new Uint8Array(n);
    for (const p of excluded) if (p >= 0 && p < n) mask[p] = 1;
    for (let i = 0; i < n; i++) if (dominant[i] < 0) mask[i] = 1;
    return mask;
  }
  function sparkX(i, n, width) {
    return n > 1 ? i / (n - 1) * width : width / 2;
  }
  function sparkline(row, excluded, width, height) {
    const n = row.length;
    let maxPos = 0;
    let minVal = 0;
    for (let i = 0; i < n; i++) {
      if (excluded[i]) continue;
      if (row[i] > maxPos) maxPos = row[i];
      if (row[i] < minVal) minVal = row[i];
    }
    const lo = minVal;
    const span = maxPos - lo || 1;
    const y = (v) => height - 2 - (v - lo) / span * (height - 4);
    const y0 = y(0).toFixed(1);
    let line = "";
    let area = "";
    let inRun = false;
    let prev = -1;
    for (let i = 0; i <= n; i++) {
      if (i === n || excluded[i]) {
        if (inRun) area += "L" + sparkX(prev, n, width).toFixed(1) + " " + y0 + "Z";
        inRun = false;
        continue;
      }
      const px = sparkX(i, n, width).toFixed(1);
      const py = y(row[i]).toFixed(1);
      if (!inRun) {
        line += "M" + px + " " + py;
        area += "M" + px + " " + y0 + "L" + px + " " + py;
        inRun = true;
      } else {
        line += "L" + px + " " + py;
        area += "L" + px + " " + py;
      }
      prev = i;
    }
    return { line, area, zero: lo < 0 ? y(0) : null };
  }
  function factorLabel(labels, f) {
    return labels && labels[f] ? labels[f] : "Factor " + (f + 1);
  }

  // src/legend.ts
  function renderFactorLegend(container, tokens, factors, excluded, labels, width, height) {
    const n = tokens.length;
    const firstOutput = firstOutputIndex(tokens);
    const rows = [];
    const markers = [];
    for (let f = 0; f < factors.length; f++) {
      const label = factorLabel(labels, f);
      const colour = categorical(f);
      const row = el("div", "lms-spark");
      row.setAttribute("data-factor", String(f));
      row.tabIndex = 0;
      row.setAttribute("role", "button");
      row.setAttribute("aria-label", label);
      const sw = el("span", "lms-swatch");
      sw.style.backgroundColor = rgbString(colour);
      const svg = svgEl("svg", { width, height, viewBox: "0 0 " + width + " " + height, "aria-hidden": "true" });
      if (firstOutput < n) {
        const x0 = sparkX(firstOutput, n, width);
        svg.appendChild(svgEl("rect", { class: "lms-spark-out", x: x0, y: 0, width: width - x0, height }));
      }
      const path = sparkline(factors[f], excluded, width, height);
      if (path.zero !== null) {
        svg.appendChild(svgEl("line", { class: "lms-spark-zero", x1: 0, x2: width, y1: path.zero, y2: path.zero }));
      }
      svg.appendChild(svgEl("path", { class: "lms-spark-area", d: path.area, fill: rgbaString(colour, 0.35) }));
      svg.appendChild(svgEl("path", { class: "lms-spark-line", d: path.line, stroke: rgbString(colour) }));
      const marker = svgEl("line", { class: "lms-spark-marker", x1: 0, x2: 0, y1: 0, y2: height, visibility: "hidden" });
      svg.appendChild(marker);
      markers.push(marker);
      row.append(sw, el("span", "lms-spark-label", label), svg);
      container.appendChild(row);
      rows.push(row);
    }
    return {
      rows,
      mark(i) {
        const px = sparkX(i, n, width).toFixed(1);
        for (let f = 0; f < factors.length; f++) {
          markers[f].setAttribute("x1", px);
          markers[f].setAttribute("x2", px);
          markers[f].setAttribute("visibility", "visible");
          rows[f].title = factorLabel(labels, f) + " at position " + i + ": " + formatNumber(factors[f][i]);
        }
      },
      unmark() {
        for (const m of markers) m.setAttribute("visibility", "hidden");
      }
    };
  }
  function markOnHover(text, legend) {
    let marked = -1;
    text.addEventListener("mouseover", (ev) => {
      const t = closestIn(ev.target, ".lms-token", text);
      const i = t ? Number(t.getAttribute("data-position")) : -1;
      if (i === marked || i < 0) return;
      marked = i;
      legend.mark(i);
    });
    text.addEventListener("mouseleave", () => {
      marked = -1;
      legend.unmark();
    });
  }
  function bindIsolation(container, rows, paint) {
    let pinned = -1;
    const factorOf = (t) => {
      const row = closestIn(t, ".lms-spark", container);
      return row ? Number(row.getAttribute("data-factor")) : -1;
    };
    const toggle = (f) => {
      pinned = pinned === f ? -1 : f;
      rows.forEach((r, j) => r.setAttribute("aria-pressed", String(j === pinned)));
      paint(pinned >= 0 ? pinned : f);
    };
    const show = (ev) => {
      const f = factorOf(ev.target);
      if (f >= 0) paint(f);
    };
    container.addEventListener("mouseover", show);
    container.addEventListener("mouseleave", () => paint(pinned));
    container.addEventListener("focusin", show);
    container.addEventListener("focusout", () => paint(pinned));
    container.addEventListener("click", (ev) => {
      const f = factorOf(ev.target);
      if (f >= 0) toggle(f);
    });
    container.addEventListener("keydown", (ev) => {
      const f = factorOf(ev.target);
      if (f >= 0 && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        toggle(f);
      }
    });
    return (f) => {
      pinned = f;
      paint(f);
    };
  }

  // src/views/combined.ts
  var LEGEND_W = 120;
  var LEGEND_H = 18;
  var MINI_H = 10;
  var NEG = [110, 110, 110];
  var FAINT = 0.3;
  var HIDDEN = 0.08;
  function miniBars(factors, i, scales, dominant, shown, excluded) {
    if (excluded) return [];
    const bars = [];
    for (let f = 0; f < factors.length; f++) {
      const v = factors[f][i];
      const m = scales.maxAbs[f];
      const height = m > 0 ? Math.min(Math.abs(v) / m, 1) : 0;
      const strong = shown >= 0 ? f === shown : f === dominant;
      bars.push({ height, colour: v < 0 ? NEG : categorical(f), alpha: strong ? 1 : shown >= 0 ? HIDDEN : FAINT });
    }
    return bars;
  }
  function renderCombined(root, data) {
    const body = frame(root, "combined", data);
    const { tokens, targets, factors, dominant } = data;
    const n = tokens.length;
    const k = factors.length;
    const excluded = excludedMask(n, data.excluded, dominant);
    const scales = factorScales(factors, excluded);
    const legend = el("div", "lms-sparks lms-combined-legend");
    body.appendChild(legend);
    const factorLegend = renderFactorLegend(legend, tokens, factors, excluded, data.labels, LEGEND_W, LEGEND_H);
    const sparkRows = factorLegend.rows;
    const text = el("div", "lms-text lms-combined-text");
    body.appendChild(text);
    const { spans } = renderTokens(text, tokens, true);
    const texts = new Array(n);
    const bars = new Array(n);
    for (let i = 0; i < n; i++) {
      const span = spans[i];
      texts[i] = span.firstChild;
      const val = span.lastChild;
      val.className = "lms-mini";
      val.style.height = MINI_H + "px";
      const row = [];
      if (!excluded[i]) {
        for (let f = 0; f < k; f++) {
          const b = el("i", "lms-mini-bar");
          b.setAttribute("data-factor", String(f));
          val.appendChild(b);
          row.push(b);
        }
      }
      bars[i] = row;
      span.setAttribute("data-value", "0");
    }
    const footer = renderAttributionFooter(body);
    hint(
      body,
      (targets.length ? "Hover or tap an output token: earlier tokens are tinted by their saliency for it. " : "No output tokens to explain. ") + "The bars under each token are its factors' activity; hover or tap a factor above to isolate it."
    );
    let shown = -2;
    function paintFactors(f) {
      if (f === shown) return;
      for (let i = 0; i < n; i++) {
        const span = spans[i];
        if (excluded[i]) {
          span.setAttribute("data-factor", "-1");
          span.setAttribute("data-activity", "");
          continue;
        }
        const d = f >= 0 ? f : dominant[i];
        span.setAttribute("data-factor", String(d));
        span.setAttribute("data-activity", String(factors[d][i]));
        const spec = miniBars(factors, i, scales, dominant[i], f, false);
        const row = bars[i];
        for (let j = 0; j < k; j++) {
          row[j].style.height = (spec[j].height * 100).toFixed(1) + "%";
          row[j].style.backgroundColor = rgbaString(spec[j].colour, spec[j].alpha);
        }
      }
      for (let j = 0; j < k; j++) {
        sparkRows[j].classList.toggle("isolated", j === f);
        sparkRows[j].classList.toggle("lms-faded", f >= 0 && j !== f);
      }
      root.setAttribute("data-isolated", String(f));
      shown = f;
    }
    const pin = bindIsolation(legend, sparkRows, paintFactors);
    markOnHover(text, factorLegend);
    const selection = bindAttributionSelection(root, text, spans, data, footer, "Saliency for", (i, v, tint) => {
      const span = spans[i];
      setTint(texts[i], tint);
      span.classList.toggle("lms-neg", !!tint && v < 0);
      span.title = tint ? tokenTitle(tokens[i]) + " \xB7 saliency " + formatPercent(v) : tokenTitle(tokens[i]);
    });
    paintFactors(-1);
    return {
      select: selection.select,
      isolate: pin,
      get selected() {
        return selection.selected;
      },
      get isolated() {
        return shown;
      }
    };
  }

  // src/views/factors.ts
  var SPARK_W = 160;
  var NEG2 = [110, 110, 110];
  function sparkHeight(k) {
    return Math.max(18, Math.min(40, Math.floor(320 / k)));
  }
  function renderFactors(root, data) {
    const body = frame(root, "factors", data);
    const { tokens, factors, dominant } = data;
    const n = tokens.length;
    const k = factors.length;
    const excluded = excludedMask(n, data.excluded, dominant);
    const { maxPos, maxAbs } = factorScales(factors, excluded);
    const layout = el("div", "lms-factors");
    const sparks = el("div", "lms-sparks");
    const text = el("div", "lms-text");
    layout.append(sparks, text);
    body.appendChild(layout);
    hint(body, "Hover or tap a sparkline to isolate its factor; tap again to release.");
    const legend = renderFactorLegend(sparks, tokens, factors, excluded, data.labels, SPARK_W, sparkHeight(k));
    const sparkRows = legend.rows;
    const { spans } = renderTokens(text, tokens);
    for (let i = 0; i < n; i++) if (excluded[i]) spans[i].classList.add("lms-excluded");
    let shown = -2;
    function paint(f) {
      if (f === shown) return;
      for (let i = 0; i < n; i++) {
        const span = spans[i];
        if (excluded[i]) {
          span.setAttribute("data-factor", "-1");
          span.setAttribute("data-value", "");
          continue;
        }
        const d = f >= 0 ? f : dominant[i];
        const v = factors[d][i];
        let bg;
        if (f < 0) {
          bg = rgbaString(categorical(d), maxPos[d] > 0 ? v / maxPos[d] : 0);
        } else if (v >= 0) {
          bg = rgbaString(categorical(d), maxAbs[d] > 0 ? v / maxAbs[d] : 0);
        } else {
          bg = rgbaString(NEG2, -v / maxAbs[d]);
        }
        span.style.backgroundColor = bg;
        span.classList.toggle("lms-neg", v < 0);
        span.setAttribute("data-factor", String(d));
        span.setAttribute("data-value", String(v));
      }
      for (let j = 0; j < k; j++) {
        sparkRows[j].classList.toggle("isolated", j === f);
        sparkRows[j].classList.toggle("lms-faded", f >= 0 && j !== f);
      }
      root.classList.toggle("lms-isolating", f >= 0);
      root.setAttribute("data-isolated", String(f));
      shown = f;
    }
    const pin = bindIsolation(sparks, sparkRows, paint);
    markOnHover(text, legend);
    paint(-1);
    return {
      isolate: pin,
      get isolated() {
        return shown;
      }
    };
  }

  // src/views/lens.ts
  function renderLens(root, data) {
    const body = frame(root, "lens", data);
    const { tokens, targets, layers, ranks, probs, top } = data;
    let maxRank = 2;
    for (const row of ranks) for (const r of row) if (r > maxRank) maxRank = r;
    const scroller = el("div", "lms-scroll");
    const table = el("table", "lms-grid lms-lens");
    const thead = el("thead");
    const hrow = el("tr");
    hrow.appendChild(el("th", "lms-corner", "layer"));
    for (const t of targets) {
      const th = el("th", "lms-col");
      const chip = tokenChip(tokens[t].token, "lms-token lms-output");
      chip.title = tokenTitle(tokens[t]);
      th.appendChild(chip);
      hrow.appendChild(th);
    }
    thead.appendChild(hrow);
    table.appendChild(thead);
    const tbody = el("tbody");
    const frag = document.createDocumentFragment();
    for (let l = 0; l < layers.length; l++) {
      const tr = el("tr");
      tr.appendChild(el("th", "lms-rowlabel", layers[l]));
      for (let j = 0; j < targets.length; j++) {
        const r = ranks[l][j];
        const c = sequential(PURPLES, logRankScale(r, maxRank));
        const td = el("td", "lms-cell", formatRank(r));
        td.style.backgroundColor = rgbString(c);
        td.style.color = textColorOn(c);
        td.setAttribute("data-rank", String(r));
        td.setAttribute("data-layer", String(l));
        td.setAttribute("data-target", String(j));
        if (r === 1) td.classList.add("lms-top1");
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    tbody.appendChild(frag);
    table.appendChild(tbody);
    scroller.appendChild(table);
    body.appendChild(scroller);
    hint(body, "Rank of each produced token after every layer (1 = top prediction). Hover or tap a cell for that layer's top predictions.");
    const tip = createTooltip(root);
    let shown = null;
    function content(l, j) {
      const frag2 = document.createDocumentFragment();
      const t = targets[j];
      const head = el("div", "lms-tip-head");
      head.append(layers[l] + " \u2192 ");
      head.appendChild(tokenChip(tokens[t].token));
      head.append(" (position " + t + ")");
      frag2.appendChild(head);
      frag2.appendChild(el("div", "lms-tip-sub", "rank " + ranks[l][j] + " \xB7 p = " + formatProb(probs[l][j])));
      const preds = top[l][j];
      let pmax = 0;
      for (const p of preds) if (p.prob > pmax) pmax = p.prob;
      const list = el("div", "lms-bars");
      for (const p of preds) {
        const row = el("div", "lms-bar-row" + (p.token === tokens[t].token ? " lms-chosen" : ""));
        row.appendChild(tokenChip(p.token));
        const track = el("span", "lms-bar-track");
        const bar = el("span", "lms-bar");
        bar.style.width = (pmax > 0 ? 100 * p.prob / pmax : 0).toFixed(1) + "%";
        track.appendChild(bar);
        row.append(track, el("span", "lms-bar-val", formatProb(p.prob)), el("span", "lms-note"));
        list.appendChild(row);
      }
      frag2.appendChild(list);
      return frag2;
    }
    const showCell = (ev) => {
      const td = closestIn(ev.target, "td.lms-cell", table);
      if (!td || td === shown) return;
      if (shown) shown.classList.remove("lms-hover");
      shown = td;
      td.classList.add("lms-hover");
      tip.show(td, content(Number(td.getAttribute("data-layer")), Number(td.getAttribute("data-target"))));
    };
    table.addEventListener("mouseover", showCell);
    table.addEventListener("click", showCell);
    table.addEventListener("mouseleave", () => {
      if (shown) shown.classList.remove("lms-hover");
      shown = null;
      tip.hide();
    });
  }

  // src/views/saliency.ts
  function renderSaliency(root, data) {
    const body = frame(root, "saliency", data);
    const detailed = data.variant === "detailed";
    if (detailed) root.classList.add("lms-detailed");
    const { tokens, targets } = data;
    const n = tokens.length;
    const text = el("div", "lms-text");
    body.appendChild(text);
    const { spans, values } = renderTokens(text, tokens, detailed);
    for (let i = 0; i < n; i++) {
      spans[i].setAttribute("data-value", "0");
      spans[i].classList.add("lms-after");
    }
    const footer = renderAttributionFooter(body);
    if (targets.length === 0) {
      hint(body, "No output tokens to explain.");
      return { select: () => void 0, selected: -1 };
    }
    hint(body, "Hover or tap an output token to see which earlier tokens it was attributed to.");
    return bindAttributionSelection(root, text, spans, data, footer, "Attribution of", (i, v, tint, target) => {
      const span = spans[i];
      setTint(span, tint);
      span.classList.toggle("lms-after", !tint && i > target);
      span.classList.toggle("lms-neg", !!tint && v < 0);
      if (values) values[i].textContent = tint ? formatPercent(v) : "";
    });
  }

  // src/index.ts
  var VERSION = "0.1.0";
  function render(element, data) {
    element.textContent = "";
    const errors = validate(data);
    const kind = typeof data === "object" && data !== null ? data.kind : void 0;
    if (errors.length > 0) {
      renderError(element, errors, kind);
      return false;
    }
    const d = data;
    try {
      switch (d.kind) {
        case "saliency":
          renderSaliency(element, d);
          break;
        case "factors":
          renderFactors(element, d);
          break;
        case "lens":
          renderLens(element, d);
          break;
        case "activations":
          renderActivations(element, d);
          break;
        case "candidates":
          renderCandidates(element, d);
          break;
        case "combined":
          renderCombined(element, d);
          break;
      }
    } catch (err) {
      renderError(element, ["internal error: " + String(err)], kind);
      throw err;
    }
    return true;
  }
  function mount(root) {
    if (!root || root.getAttribute("data-lmscope-state") === "mounted") return false;
    const script = root.querySelector('script[type="application/json"]');
    const target = root.querySelector(".lmscope-mount");
    if (!script || !(target instanceof HTMLElement)) return false;
    root.setAttribute("data-lmscope-state", "mounted");
    let data;
    try {
      data = JSON.parse(script.textContent || "");
    } catch (err) {
      renderError(target, ["the embedded view data is not valid JSON: " + String(err)]);
      return false;
    }
    return render(target, data);
  }
  function mountAll(scope = document) {
    let count = 0;
    scope.querySelectorAll(".lmscope-root").forEach((root) => {
      if (mount(root)) count++;
    });
    return count;
  }
  var api = { version: VERSION, render, mount, mountAll, validate };
  if (!window.lmscope) window.lmscope = api;
})();
