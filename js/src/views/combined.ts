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

import { bindAttributionSelection, renderAttributionFooter, setTint } from "../attribution";
import { categorical, rgbaString, type RGB } from "../colors";
import { el, frame, hint, renderTokens } from "../dom";
import { formatPercent } from "../format";
import { bindIsolation, markOnHover, renderFactorLegend } from "../legend";
import { excludedMask, factorScales, type FactorScales } from "../spark";
import { tokenTitle } from "../tokens";
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

export function renderCombined(root: HTMLElement, data: CombinedData): CombinedHandle {
  const body = frame(root, "combined", data);
  const { tokens, targets, factors, dominant } = data;
  const n = tokens.length;
  const k = factors.length;
  const excluded = excludedMask(n, data.excluded, dominant);
  const scales = factorScales(factors, excluded);

  // Legend: one row per factor with its sparkline; hovering one isolates it.
  const legend = el("div", "lms-sparks lms-combined-legend");
  body.appendChild(legend);
  const factorLegend = renderFactorLegend(legend, tokens, factors, excluded, data.labels, LEGEND_W, LEGEND_H);
  const sparkRows = factorLegend.rows;

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

  const footer = renderAttributionFooter(body);
  hint(
    body,
    (targets.length
      ? "Hover or tap an output token: earlier tokens are tinted by their saliency for it. "
      : "No output tokens to explain. ") +
      "The bars under each token are its factors' activity; hover or tap a factor above to isolate it.",
  );

  // ------------------------------------------------------------------ factors
  let shown = -2; // -1 = dominant view, f = factor f isolated

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

  const pin = bindIsolation(legend, sparkRows, paintFactors);
  // Token hover marks its position on every sparkline.
  markOnHover(text, factorLegend);

  // ------------------------------------------------------------------ saliency
  const selection = bindAttributionSelection(root, text, spans, data, footer, "Saliency for", (i, v, tint) => {
    const span = spans[i];
    setTint(texts[i], tint);
    span.classList.toggle("lms-neg", !!tint && v < 0);
    span.title = tint ? tokenTitle(tokens[i]) + " \u00b7 saliency " + formatPercent(v) : tokenTitle(tokens[i]);
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
    },
  };
}
