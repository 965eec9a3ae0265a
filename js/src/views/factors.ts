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
import { closestIn, el, frame, hint, renderTokens, svgEl } from "../dom";
import { formatNumber } from "../format";
import { excludedMask, factorScales, sparkX, sparkline } from "../spark";
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
  let firstOutput = n;
  for (let i = 0; i < n; i++) {
    if (tokens[i].type === "output") {
      firstOutput = i;
      break;
    }
  }

  const layout = el("div", "lms-factors");
  const sparks = el("div", "lms-sparks");
  const text = el("div", "lms-text");
  layout.append(sparks, text);
  body.appendChild(layout);
  hint(body, "Hover or tap a sparkline to isolate its factor; tap again to release.");

  // Sparklines.
  const h = sparkHeight(k);
  const x = (i: number): number => sparkX(i, n, SPARK_W);
  const sparkRows: HTMLElement[] = [];
  const markers: SVGLineElement[] = [];
  for (let f = 0; f < k; f++) {
    const row = el("div", "lms-spark");
    row.setAttribute("data-factor", String(f));
    row.tabIndex = 0;
    row.setAttribute("role", "button");
    const label = data.labels && data.labels[f] ? data.labels[f] : "Factor " + (f + 1);
    row.setAttribute("aria-label", label);
    const sw = el("span", "lms-swatch");
    sw.style.backgroundColor = rgbaString(categorical(f), 1);
    const name = el("span", "lms-spark-label", label);
    const svg = svgEl("svg", { width: SPARK_W, height: h, viewBox: "0 0 " + SPARK_W + " " + h, "aria-hidden": "true" });
    if (firstOutput < n) {
      svg.appendChild(
        svgEl("rect", { class: "lms-spark-out", x: x(firstOutput), y: 0, width: SPARK_W - x(firstOutput), height: h }),
      );
    }
    const path = sparkline(factors[f], excluded, SPARK_W, h);
    if (path.zero !== null) {
      svg.appendChild(svgEl("line", { class: "lms-spark-zero", x1: 0, x2: SPARK_W, y1: path.zero, y2: path.zero }));
    }
    const colour = categorical(f);
    svg.appendChild(svgEl("path", { class: "lms-spark-area", d: path.area, fill: rgbaString(colour, 0.35) }));
    svg.appendChild(svgEl("path", { class: "lms-spark-line", d: path.line, stroke: rgbaString(colour, 1) }));
    const marker = svgEl("line", { class: "lms-spark-marker", x1: 0, x2: 0, y1: 0, y2: h, visibility: "hidden" });
    svg.appendChild(marker);
    markers.push(marker);
    row.append(sw, name, svg);
    sparks.appendChild(row);
    sparkRows.push(row);
  }

  const { spans } = renderTokens(text, tokens);
  for (let i = 0; i < n; i++) if (excluded[i]) spans[i].classList.add("lms-excluded");

  let shown = -2; // factor whose tint is shown; -1 = dominant factors
  let pinned = -1;

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

  const factorOf = (t: EventTarget | null): number => {
    const row = closestIn(t, ".lms-spark", sparks);
    return row ? Number(row.getAttribute("data-factor")) : -1;
  };
  sparks.addEventListener("mouseover", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0) paint(f);
  });
  sparks.addEventListener("mouseleave", () => paint(pinned));
  sparks.addEventListener("focusin", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0) paint(f);
  });
  sparks.addEventListener("focusout", () => paint(pinned));
  const toggle = (f: number): void => {
    pinned = pinned === f ? -1 : f;
    sparkRows.forEach((r, j) => r.setAttribute("aria-pressed", String(j === pinned)));
    paint(pinned >= 0 ? pinned : f);
  };
  sparks.addEventListener("click", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0) toggle(f);
  });
  sparks.addEventListener("keydown", (ev) => {
    const f = factorOf(ev.target);
    if (f >= 0 && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      toggle(f);
    }
  });

  // Token hover: mark the position on every sparkline.
  let marked = -1;
  text.addEventListener("mouseover", (ev) => {
    const t = closestIn(ev.target, ".lms-token", text);
    const i = t ? Number(t.getAttribute("data-position")) : -1;
    if (i === marked || i < 0) return;
    marked = i;
    const px = x(i).toFixed(1);
    for (let f = 0; f < k; f++) {
      markers[f].setAttribute("x1", px);
      markers[f].setAttribute("x2", px);
      markers[f].setAttribute("visibility", "visible");
      sparkRows[f].title = (data.labels && data.labels[f] ? data.labels[f] : "Factor " + (f + 1)) +
        " at position " + i + ": " + formatNumber(factors[f][i]);
    }
  });
  text.addEventListener("mouseleave", () => {
    marked = -1;
    for (const m of markers) m.setAttribute("visibility", "hidden");
  });

  paint(-1);
  return {
    isolate: (f: number) => {
      pinned = f;
      paint(f);
    },
    get isolated() {
      return shown;
    },
  };
}
