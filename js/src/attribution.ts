/**
 * Pieces shared by the views that tint tokens by their attribution to a
 * selected output token (saliency, combined): the row's scale, the tint, and
 * the footer with the status line and the viridis legend.
 */

import { rgbString, textColorOn, viridis, type RGB } from "./colors";
import { el } from "./dom";
import { formatPercent } from "./format";
import { bindTargets } from "./targets";
import { displayToken, type Token } from "./tokens";

/**
 * Whether `row` attributes to tokens after its `target` too: a bidirectional model's rows may be nonzero
 * on both sides of the target, a causal LM's are 0 from the target on.
 */
export function twoSided(row: readonly number[], target: number): boolean {
  for (let i = target + 1; i < row.length; i++) if (row[i] !== 0) return true;
  return false;
}

/**
 * The largest attribution in `row` before `target` (and after it too when `both`): the top of
 * the tint scale; 0 if none is positive.
 */
export function rowMax(row: readonly number[], target: number, both = false): number {
  let max = 0;
  for (let i = 0; i < row.length; i++) if (i !== target && (i < target || both) && row[i] > max) max = row[i];
  return max;
}

/** The tint of a token with attribution v when the row's maximum is max. */
export function saliencyTint(v: number, max: number): RGB {
  return viridis(max > 0 ? v / max : 0);
}

/** CSS background of the legend bar: viridis from 0 to 1 in nine stops. */
export function viridisGradientCss(): string {
  const stops: string[] = [];
  for (let i = 0; i <= 8; i++) stops.push(rgbString(viridis(i / 8)) + " " + (i * 100) / 8 + "%");
  return "linear-gradient(to right, " + stops.join(", ") + ")";
}

export interface AttributionFooter {
  /** Says whose attribution is shown ("<lead> <token> (position p) · method") and the scale's top. */
  show(lead: string, token: string, target: number, method: string | null | undefined, max: number): void;
}

/** Appends the footer (status line, then the 0%..max viridis legend) to `body`. */
export function renderAttributionFooter(body: HTMLElement): AttributionFooter {
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
    show(lead, token, target, method, max): void {
      status.textContent = "";
      status.append(lead + " ");
      status.appendChild(el("strong", "", displayToken(token).text));
      status.append(" (position " + target + ")" + (method ? " \u00b7 " + method : ""));
      hi.textContent = "max " + formatPercent(max);
    },
  };
}

/** Tints `box` with colour c (text colour kept legible on it), or clears the tint when c is null. */
export function setTint(box: HTMLElement, c: RGB | null): void {
  box.style.backgroundColor = c ? rgbString(c) : "";
  box.style.color = c ? textColorOn(c) : "";
}

export interface AttributionSelection {
  /** Shows the attributions to targets[row]; out-of-range rows and the current one are ignored. */
  select(row: number): void;
  /** The selected row, -1 before the first select. */
  readonly selected: number;
}

/**
 * Selecting whose attributions tint the text: select(row) sets every token's data-value
 * and calls paint(i, v, tint, target) (tint null at the target, and after it unless the row
 * is two-sided, a bidirectional model's) for the tokens up to the later of the old and the new target
 * (those past both are untouched; every token when either row is two-sided), then
 * moves .lms-selected and the root's data-selected to the target and shows it in the
 * footer after `lead`. The target tokens in `text` select their row (bindTargets),
 * and the first row is selected at once.
 */
export function bindAttributionSelection(
  root: HTMLElement,
  text: HTMLElement,
  spans: readonly HTMLElement[],
  data: {
    tokens: readonly Token[];
    targets: readonly number[];
    attributions: readonly (readonly number[])[];
    method?: string | null;
  },
  footer: AttributionFooter,
  lead: string,
  paint: (i: number, v: number, tint: RGB | null, target: number) => void,
): AttributionSelection {
  const { tokens, targets, attributions } = data;
  let current = -1;
  let currentTarget = -1;
  let currentBoth = false;
  const selection: AttributionSelection = {
    select(row: number): void {
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
    get selected(): number {
      return current;
    },
  };
  if (targets.length) {
    bindTargets(
      text,
      targets.map((t) => spans[t]),
      selection.select,
    );
    selection.select(0);
  }
  return selection;
}
