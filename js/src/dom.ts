/**
 * Small DOM helpers shared by the views. Text always goes in through
 * textContent (or setAttribute for titles), never innerHTML.
 */

import { displayToken, tokenTitle, type Token } from "./tokens";

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const k in attrs) node.setAttribute(k, String(attrs[k]));
  return node;
}

/** Title and caption (both optional), then a body element for the view itself. */
export function frame(root: HTMLElement, kind: string, data: { title?: string | null; caption?: string | null }): HTMLElement {
  root.classList.add("lmscope", "lms-kind-" + kind);
  if (data.title) root.appendChild(el("div", "lms-title", data.title));
  if (data.caption) root.appendChild(el("div", "lms-caption", data.caption));
  const body = el("div", "lms-body");
  root.appendChild(body);
  return body;
}

export function hint(parent: HTMLElement, text: string): HTMLElement {
  const h = el("div", "lms-hint", text);
  parent.appendChild(h);
  return h;
}

export interface TokenSpans {
  /** One span per token, indexed by position. */
  spans: HTMLSpanElement[];
  /** The value line under each token (detailed views), indexed by position. */
  values: HTMLSpanElement[] | null;
}

/**
 * Token spans into `container`, in one DocumentFragment. Each span carries
 * data-position, classes lms-token, lms-input/lms-output, lms-ws for
 * whitespace-only tokens; newline tokens are followed by <br>.
 */
export function renderTokens(container: HTMLElement, tokens: Token[], withValues = false): TokenSpans {
  const frag = document.createDocumentFragment();
  const spans: HTMLSpanElement[] = new Array(tokens.length);
  const values: HTMLSpanElement[] | null = withValues ? new Array(tokens.length) : null;
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

/** A token chip outside the text (tooltips, header cells, candidate lists). */
export function tokenChip(token: string, cls = "lms-chip"): HTMLSpanElement {
  const d = displayToken(token);
  const span = el("span", cls + (d.whitespace ? " lms-ws" : ""), d.text);
  span.title = JSON.stringify(token);
  return span;
}

/** Closest ancestor-or-self of `target` matching `selector`, inside `within`. */
export function closestIn(target: EventTarget | null, selector: string, within: HTMLElement): HTMLElement | null {
  if (!(target instanceof Element)) return null;
  const found = target.closest(selector);
  return found instanceof HTMLElement && within.contains(found) ? found : null;
}

export interface Tooltip {
  show(anchor: Element, content: Node): void;
  hide(): void;
  readonly node: HTMLElement;
}

/** One reusable tooltip, absolutely positioned inside `root` (which gets position: relative). */
export function createTooltip(root: HTMLElement): Tooltip {
  const node = el("div", "lms-tooltip");
  node.setAttribute("role", "tooltip");
  node.hidden = true;
  root.appendChild(node);
  return {
    node,
    show(anchor: Element, content: Node): void {
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
    hide(): void {
      node.hidden = true;
    },
  };
}

/** The readable error box shown instead of a view whose data is wrong. */
export function renderError(root: HTMLElement, messages: string[], kind?: unknown): void {
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

/** Call fn(index) for the target under an event, looked up by data-row. */
export function rowOf(node: HTMLElement | null): number {
  if (!node) return -1;
  const r = node.getAttribute("data-row");
  return r === null ? -1 : Number(r);
}
