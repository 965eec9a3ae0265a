/**
 * kind: "saliency" — the seed's Explorable #1 ("minimal highlighter").
 *
 * Hovering (or tapping, focusing) an output token tints every earlier token by
 * its attribution to that token: viridis, scaled to the row's maximum. The first
 * target is selected at start. variant "detailed" also prints the percentage
 * under each token. Every token span carries data-value (its attribution in the
 * selected row, as a JS number string); tinted ones carry an inline
 * background-color. A hover only touches tokens up to the later of the old and
 * new target.
 */

import { rgbString, textColorOn, viridis } from "../colors";
import { el, frame, hint, renderTokens } from "../dom";
import { formatPercent } from "../format";
import { bindTargets } from "../targets";
import { displayToken } from "../tokens";
import type { SaliencyData } from "../types";

export interface SaliencyHandle {
  select(row: number): void;
  readonly selected: number;
}

function gradientCss(): string {
  const stops: string[] = [];
  for (let i = 0; i <= 8; i++) stops.push(rgbString(viridis(i / 8)) + " " + (i * 100) / 8 + "%");
  return "linear-gradient(to right, " + stops.join(", ") + ")";
}

export function renderSaliency(root: HTMLElement, data: SaliencyData): SaliencyHandle {
  const body = frame(root, "saliency", data);
  const detailed = data.variant === "detailed";
  if (detailed) root.classList.add("lms-detailed");
  const { tokens, targets, attributions } = data;
  const n = tokens.length;

  const text = el("div", "lms-text");
  body.appendChild(text);
  const { spans, values } = renderTokens(text, tokens, detailed);
  for (let i = 0; i < n; i++) {
    spans[i].setAttribute("data-value", "0");
    spans[i].classList.add("lms-after");
  }

  const footer = el("div", "lms-footer");
  const status = el("span", "lms-status");
  const legend = el("span", "lms-legend");
  const bar = el("span", "lms-legend-bar");
  bar.style.backgroundImage = gradientCss();
  const lo = el("span", "lms-legend-lo", "0%");
  const hi = el("span", "lms-legend-hi");
  legend.append(lo, bar, hi);
  footer.append(status, legend);
  body.appendChild(footer);
  if (targets.length === 0) {
    hint(body, "No output tokens to explain.");
    return { select: () => undefined, selected: -1 };
  }
  hint(body, "Hover or tap an output token to see which earlier tokens it was attributed to.");

  let current = -1;
  let currentTarget = -1;

  function select(row: number): void {
    if (row === current || row < 0 || row >= targets.length) return;
    const target = targets[row];
    const attr = attributions[row];
    let max = 0;
    for (let i = 0; i < target; i++) if (attr[i] > max) max = attr[i];
    // Tokens past both the old and the new target are untouched: value 0, no tint, faded.
    const limit = Math.min(n, Math.max(target, currentTarget) + 1);
    for (let i = 0; i < limit; i++) {
      const span = spans[i];
      const v = attr[i];
      span.setAttribute("data-value", String(v));
      if (i < target) {
        const c = viridis(max > 0 ? v / max : 0);
        span.style.backgroundColor = rgbString(c);
        span.style.color = textColorOn(c);
        span.classList.remove("lms-after");
        span.classList.toggle("lms-neg", v < 0);
        if (values) values[i].textContent = formatPercent(v);
      } else {
        span.style.backgroundColor = "";
        span.style.color = "";
        span.classList.toggle("lms-after", i > target);
        span.classList.remove("lms-neg");
        if (values) values[i].textContent = "";
      }
    }
    if (current >= 0) spans[currentTarget].classList.remove("lms-selected");
    spans[target].classList.add("lms-selected");
    current = row;
    currentTarget = target;
    root.setAttribute("data-selected", String(target));
    status.textContent = "";
    status.append("Attribution of ");
    status.appendChild(el("strong", "", displayToken(tokens[target].token).text));
    status.append(" (position " + target + ")" + (data.method ? " \u00b7 " + data.method : ""));
    hi.textContent = "max " + formatPercent(max);
  }

  bindTargets(
    text,
    targets.map((t) => spans[t]),
    select,
  );
  select(0);
  return {
    select,
    get selected() {
      return current;
    },
  };
}
