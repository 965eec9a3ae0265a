/**
 * lmscope views: the explorables behind lmscope's notebook and HTML output.
 *
 * The bundle defines window.lmscope once; if a page (a notebook with several
 * views) already has one, the first definition is kept, so views never
 * interfere. API:
 *
 *   lmscope.render(element, data)   render one view, dispatching on data.kind
 *   lmscope.mount(rootElement)      render the view whose JSON sits in a
 *                                   <script type="application/json"> inside root
 *   lmscope.mountAll(document)      mount every .lmscope-root not yet mounted
 *   lmscope.validate(data)          the list of problems with data ([] if fine)
 */

import { renderError } from "./dom";
import type { ViewData } from "./types";
import { validate } from "./validate";
import { renderActivations } from "./views/activations";
import { renderCandidates } from "./views/candidates";
import { renderCombined } from "./views/combined";
import { renderFactors } from "./views/factors";
import { renderLens } from "./views/lens";
import { renderSaliency } from "./views/saliency";

const VERSION = "0.1.0";

/** Render `data` into `element` (emptied first); on bad data, an error box. Returns whether it rendered. */
function render(element: HTMLElement, data: unknown): boolean {
  element.textContent = "";
  const errors = validate(data);
  const kind = typeof data === "object" && data !== null ? (data as { kind?: unknown }).kind : undefined;
  if (errors.length > 0) {
    renderError(element, errors, kind);
    return false;
  }
  const d = data as ViewData;
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

/**
 * Render the view held by a fragment root written by lmscope's Python side:
 * <div class="lmscope-root"><script type="application/json">…</script>
 * <div class="lmscope-mount">…</div>…</div>. Mounting twice is a no-op.
 */
function mount(root: Element | null): boolean {
  if (!root || root.getAttribute("data-lmscope-state") === "mounted") return false;
  const script = root.querySelector('script[type="application/json"]');
  const target = root.querySelector(".lmscope-mount");
  if (!script || !(target instanceof HTMLElement)) return false;
  root.setAttribute("data-lmscope-state", "mounted");
  let data: unknown;
  try {
    data = JSON.parse(script.textContent || "");
  } catch (err) {
    renderError(target, ["the embedded view data is not valid JSON: " + String(err)]);
    return false;
  }
  return render(target, data);
}

function mountAll(scope: ParentNode = document): number {
  let count = 0;
  scope.querySelectorAll(".lmscope-root").forEach((root) => {
    if (mount(root)) count++;
  });
  return count;
}

const api = { version: VERSION, render, mount, mountAll, validate };

declare global {
  interface Window {
    lmscope?: typeof api;
  }
}

if (!window.lmscope) window.lmscope = api;
