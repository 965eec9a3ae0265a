/**
 * kind: "saliency" — the seed's Explorable #1 ("minimal highlighter").
 *
 * Hovering (or tapping, focusing) an output token tints every earlier token by
 * its attribution to that token: viridis, scaled to the row's maximum. A bidirectional model's
 * rows attribute to tokens on both sides of the target: then the later tokens are
 * tinted too, on the same scale. The first
 * target is selected at start. variant "detailed" also prints the percentage
 * under each token. Every token span carries data-value (its attribution in the
 * selected row, as a JS number string); tinted ones carry an inline
 * background-color. A hover only touches tokens up to the later of the old and
 * new target.
 */

import { bindAttributionSelection, renderAttributionFooter, setTint } from "../attribution";
import { el, frame, hint, renderTokens } from "../dom";
import { formatPercent } from "../format";
import type { SaliencyData } from "../types";

export interface SaliencyHandle {
  select(row: number): void;
  readonly selected: number;
}

export function renderSaliency(root: HTMLElement, data: SaliencyData): SaliencyHandle {
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
    return { select: () => undefined, selected: -1 };
  }
  hint(body, "Hover or tap an output token to see which earlier tokens it was attributed to.");

  return bindAttributionSelection(root, text, spans, data, footer, "Attribution of", (i, v, tint, target) => {
    // Tokens after the target lose their tint and fade, unless the row is two-sided (a bidirectional model's).
    const span = spans[i];
    setTint(span, tint);
    span.classList.toggle("lms-after", !tint && i > target);
    span.classList.toggle("lms-neg", !!tint && v < 0);
    if (values) values[i].textContent = tint ? formatPercent(v) : "";
  });
}
