/**
 * kind: "combined" — saliency and factors of one run over the text once (the
 * seed's conclusion: combine techniques, word-sized graphics beside tokens).
 *
 * Each token shows its text and, under it, a word-sized bar chart with one bar
 * per factor (height = the factor's activity at that token, scaled per factor;
 * the dominant factor's bar in full colour, the others faint). Hovering (or
 * tapping, focusing) an output token tints every earlier token's text by its
 * saliency for that token (viridis, scaled to the row's maximum), the first
 * output token selected at start. Hovering a factor in the legend isolates it:
 * only its bars stay, the other legend rows fade; a tap pins it. Hovering a
 * token marks its position on the legend's sparklines.
 *
 * Test hooks: token spans (.lms-token) carry data-value (saliency in the
 * selected row), data-factor (the shown factor: dominant, or the isolated one;
 * -1 where excluded) and data-activity (that factor's activity); the tinted
 * element is the span's .lms-tok-text; bars are .lms-mini-bar with
 * data-factor. Legend rows are .lms-spark[data-factor] with class "isolated".
 */

import { categorical, rgbString, rgbaString, textColorOn, viridis, type RGB } from "../colors";
import { closestIn, el, frame, hint, renderTokens, svgEl } from "../dom";
import { formatNumber, formatPercent } from "../format";
import { excludedMask, factorScales, sparkX, sparkline, type FactorScales } from "../spark";
import { bindTargets } from "../targets";
import { displayToken, tokenTitle } from "../tokens";
import type { CombinedData } from "../types";

export interface CombinedHandle {
  select(row: number): void;
  isolate(f: number): void;
  readonly selected: number;
  readonly isolated: number;
}

const LEGEND_W = 120;
const LEGEND_H = 18;
/** Height of the word-sized bar chart under each token, in CSS pixels. */
export const MINI_H = 10;
const NEG: RGB = [110, 110, 110];
/** Opacity of a bar that is not the dominant factor's (dominant view) or is not isolated (isolating). */
export const FAINT = 0.3;
export const HIDDEN = 0.08;

export interface Bar {
  /** Bar height as a fraction of MINI_H, in [0, 1]. */
  height: number;
  colour: RGB;
  alpha: number;
}

/**
 * The bars under token i: one per factor, height |activity| / the factor's
 * largest |activity| (negative PCA scores in grey). `shown` is -1 for the
 * dominant view (dominant bar opaque, others faint) or the isolated factor
 * (its bar opaque, others nearly hidden). Excluded tokens get no bars.
 */
export function miniBars(
  factors: readonly (readonly number[])[],
  i: number,
  scales: FactorScales,
  dominant: number,
  shown: number,
  excluded: boolean,
): Bar[] {
  if (excluded) return [];
  const bars: Bar[] = [];
  for (let f = 0; f < factors.length; f++) {
    const v = factors[f][i];
    const m = scales.maxAbs[f];
    const height = m > 0 ? Math.min(Math.abs(v) / m, 1) : 0;
    const strong = shown >= 0 ? f === shown : f === dominant;
    bars.push({ height, colour: v < 0 ? NEG : categorical(f), alpha: strong ? 1 : shown >= 0 ? HIDDEN : FAINT });
  }
  return bars;
}

/** The largest attribution before `target` in `row` (the top of the tint scale); 0 if none is positive. */
export function rowMax(row: readonly number[], target: number): number {
  let max = 0;
  for (let i = 0; i < target && i < row.length; i++) if (row[i] > max) max = row[i];
  return max;
}

/** The tint of a token with attribution v when the row's maximum is max. */
export function saliencyTint(v: number, max: number): RGB {
  return viridis(max > 0 ? v / max : 0);
}

export function renderCombined(root: HTMLElement, data: CombinedData): CombinedHandle {
  const body = frame(root, "combined", data);
  const { tokens, targets, attributions, factors, dominant } = data;
  const n = tokens.length;
  const k = factors.length;
  const excluded = excludedMask(n, data.excluded, dominant);
  const scales = factorScales(factors, excluded);
  const labelOf = (f: number): string => (data.labels && data.labels[f] ? data.labels[f] : "Factor " + (f + 1));

  // Legend: one row per factor with its sparkline; hovering one isolates it.
  const legend = el("div", "lms-sparks lms-combined-legend");
  body.appendChild(legend);
  let firstOutput = n;
  for (let i = 0; i < n; i++) {
    if (tokens[i].type === "output") {
      firstOutput = i;
      break;
    }
  }
  const sparkRows: HTMLElement[] = [];
  const markers: SVGLineElement[] = [];
  for (let f = 0; f < k; f++) {
    const row = el("div", "lms-spark");
    row.setAttribute("data-factor", String(f));
    row.tabIndex = 0;
    row.setAttribute("role", "button");
    row.setAttribute("aria-label", labelOf(f));
    const sw = el("span", "lms-swatch");
    sw.style.backgroundColor = rgbString(categorical(f));
    const svg = svgEl("svg", {
      width: LEGEND_W,
      height: LEGEND_H,
      viewBox: "0 0 " + LEGEND_W + " " + LEGEND_H,
      "aria-hidden": "true",
    });
    if (firstOutput < n) {
      const x0 = sparkX(firstOutput, n, LEGEND_W);
      svg.appendChild(svgEl("rect", { class: "lms-spark-out", x: x0, y: 0, width: LEGEND_W - x0, height: LEGEND_H }));
    }
    const path = sparkline(factors[f], excluded, LEGEND_W, LEGEND_H);
    if (path.zero !== null) {
      svg.appendChild(svgEl("line", { class: "lms-spark-zero", x1: 0, x2: LEGEND_W, y1: path.zero, y2: path.zero }));
    }
    svg.appendChild(svgEl("path", { class: "lms-spark-area", d: path.area, fill: rgbaString(categorical(f), 0.35) }));
    svg.appendChild(svgEl("path", { class: "lms-spark-line", d: path.line, stroke: rgbString(categorical(f)) }));
    const marker = svgEl("line", { class: "lms-spark-marker", x1: 0, x2: 0, y1: 0, y2: LEGEND_H, visibility: "hidden" });
    svg.appendChild(marker);
    markers.push(marker);
    row.append(sw, el("span", "lms-spark-label", labelOf(f)), svg);
    legend.appendChild(row);
    sparkRows.push(row);
  }

  // The text: each token's string, then its bar chart.
  const text = el("div", "lms-text lms-combined-text");
  body.appendChild(text);
  const { spans } = renderTokens(text, tokens, true);
  const texts: HTMLElement[] = new Array(n);
  const bars: HTMLElement[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    texts[i] = span.firstChild as HTMLElement; // .lms-tok-text
    const val = span.lastChild as HTMLElement; // .lms-tok-val, reused as the bar chart's box
    val.className = "lms-mini";
    val.style.height = MINI_H + "px";
    const row: HTMLElement[] = [];
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

  const footer = el("div", "lms-footer");
  const status = el("span", "lms-status");
  const scale = el("span", "lms-legend");
  const gradient = el("span", "lms-legend-bar");
  const stops: string[] = [];
  for (let s = 0; s <= 8; s++) stops.push(rgbString(viridis(s / 8)) + " " + (s * 100) / 8 + "%");
  gradient.style.backgroundImage = "linear-gradient(to right, " + stops.join(", ") + ")";
  const hi = el("span", "lms-legend-hi");
  scale.append(el("span", "lms-legend-lo", "0%"), gradient, hi);
  footer.append(status, scale);
  body.appendChild(footer);
  hint(
    body,
    (targets.length
      ? "Hover or tap an output token: earlier tokens are tinted by their saliency for it. "
      : "No output tokens to explain. ") +
      "The bars under each token are its factors' activity; hover or tap a factor above to isolate it.",
  );

  // ------------------------------------------------------------------ factors
  let shown = -2; // -1 = dominant view, f = factor f isolated
  let pinned = -1;

  function paintFactors(f: number): void {
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

  const factorOf = (t: EventTarget | null): number => {
    const row = closestIn(t, ".lms-spark", legend);
    return row ? Number(row.getAttribute("data-factor")) : -1;
  };
  const toggle = (f: number): void => {
    pinned = pinned === f ? -1 : f;
    sparkRows.forEach((r, j) => r.setAttribute("aria-pressed", String(j === pinned)));
    paintFactors(pinned >= 0 ? pinned : f);
  };
  legend.addEventListener("mouseover", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0) paintFactors(f);
  });
  legend.addEventListener("mouseleave", () => paintFactors(pinned));
  legend.addEventListener("focusin", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0) paintFactors(f);
  });
  legend.addEventListener("focusout", () => paintFactors(pinned));
  legend.addEventListener("click", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0) toggle(f);
  });
  legend.addEventListener("keydown", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0 && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      toggle(f);
    }
  });

  // Token hover marks its position on every sparkline.
  let marked = -1;
  text.addEventListener("mouseover", (ev) => {
    const t = closestIn(ev.target, ".lms-token", text);
    const i = t ? Number(t.getAttribute("data-position")) : -1;
    if (i === marked || i < 0) return;
    marked = i;
    const px = sparkX(i, n, LEGEND_W).toFixed(1);
    for (let f = 0; f < k; f++) {
      markers[f].setAttribute("x1", px);
      markers[f].setAttribute("x2", px);
      markers[f].setAttribute("visibility", "visible");
      sparkRows[f].title = labelOf(f) + " at position " + i + ": " + formatNumber(factors[f][i]);
    }
  });
  text.addEventListener("mouseleave", () => {
    marked = -1;
    for (const m of markers) m.setAttribute("visibility", "hidden");
  });

  // ------------------------------------------------------------------ saliency
  let current = -1;
  let currentTarget = -1;

  function select(r: number): void {
    if (r === current || r < 0 || r >= targets.length) return;
    const target = targets[r];
    const attr = attributions[r];
    const max = rowMax(attr, target);
    // Tokens past both the old and the new target are untouched.
    const limit = Math.min(n, Math.max(target, currentTarget) + 1);
    for (let i = 0; i < limit; i++) {
      const span = spans[i];
      const box = texts[i];
      span.setAttribute("data-value", String(attr[i]));
      if (i < target) {
        const c = saliencyTint(attr[i], max);
        box.style.backgroundColor = rgbString(c);
        box.style.color = textColorOn(c);
        span.classList.toggle("lms-neg", attr[i] < 0);
        span.title = tokenTitle(tokens[i]) + " \u00b7 saliency " + formatPercent(attr[i]);
      } else {
        box.style.backgroundColor = "";
        box.style.color = "";
        span.classList.remove("lms-neg");
        span.title = tokenTitle(tokens[i]);
      }
    }
    if (current >= 0) spans[currentTarget].classList.remove("lms-selected");
    spans[target].classList.add("lms-selected");
    current = r;
    currentTarget = target;
    root.setAttribute("data-selected", String(target));
    status.textContent = "";
    status.append("Saliency for ");
    status.appendChild(el("strong", "", displayToken(tokens[target].token).text));
    status.append(" (position " + target + ")" + (data.method ? " \u00b7 " + data.method : ""));
    hi.textContent = "max " + formatPercent(max);
  }

  paintFactors(-1);
  if (targets.length) {
    bindTargets(
      text,
      targets.map((t) => spans[t]),
      select,
    );
    select(0);
  }
  return {
    select,
    isolate: (f: number) => {
      pinned = f;
      paintFactors(f);
    },
    get selected() {
      return current;
    },
    get isolated() {
      return shown;
    },
  };
}
