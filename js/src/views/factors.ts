/**
 * kind: "factors" — the seed's Explorable #2.
 *
 * One sparkline per factor on the left (its activity across positions, scaled
 * per factor; the output part of the sequence shaded); the text on the right
 * tinted by each token's dominant factor, opacity by strength. Hovering or
 * focusing a sparkline isolates that factor (text tinted by that factor only,
 * other sparklines faded); tapping/clicking or Enter pins it. Hovering a token
 * marks its position on every sparkline.
 *
 * Test hooks: sparklines carry data-factor and class "isolated" when active;
 * tokens carry data-value (the shown factor's activity) and data-factor
 * (-1 for excluded tokens).
 */

import { categorical, rgbaString } from "../colors";
import { el, frame, hint, renderTokens } from "../dom";
import { bindIsolation, markOnHover, renderFactorLegend } from "../legend";
import { excludedMask, factorScales } from "../spark";
import type { FactorsData } from "../types";

export interface FactorsHandle {
  isolate(k: number): void;
  readonly isolated: number;
}

const SPARK_W = 160;
const NEG: [number, number, number] = [110, 110, 110];

function sparkHeight(k: number): number {
  return Math.max(18, Math.min(40, Math.floor(320 / k)));
}

export function renderFactors(root: HTMLElement, data: FactorsData): FactorsHandle {
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

  // Sparklines.
  const legend = renderFactorLegend(sparks, tokens, factors, excluded, data.labels, SPARK_W, sparkHeight(k));
  const sparkRows = legend.rows;

  const { spans } = renderTokens(text, tokens);
  for (let i = 0; i < n; i++) if (excluded[i]) spans[i].classList.add("lms-excluded");

  let shown = -2; // factor whose tint is shown; -1 = dominant factors

  function paint(f: number): void {
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
      let bg: string;
      if (f < 0) {
        bg = rgbaString(categorical(d), maxPos[d] > 0 ? v / maxPos[d] : 0);
      } else if (v >= 0) {
        bg = rgbaString(categorical(d), maxAbs[d] > 0 ? v / maxAbs[d] : 0);
      } else {
        bg = rgbaString(NEG, -v / maxAbs[d]);
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
  // Token hover: mark the position on every sparkline.
  markOnHover(text, legend);

  paint(-1);
  return {
    isolate: pin,
    get isolated() {
      return shown;
    },
  };
}
