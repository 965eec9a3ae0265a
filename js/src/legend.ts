/**
 * The factor legend shared by the factor explorer and the combined view: one
 * row per factor (swatch, label, sparkline with the output part shaded and a
 * hidden position marker), isolating a factor from it by hover, focus, tap or
 * Enter, and marking a hovered token's position on every sparkline.
 */

import { categorical, rgbString, rgbaString } from "./colors";
import { closestIn, el, svgEl } from "./dom";
import { formatNumber } from "./format";
import { factorLabel, sparkX, sparkline } from "./spark";
import { firstOutputIndex, type Token } from "./tokens";

export interface FactorLegend {
  /** One .lms-spark row per factor, carrying data-factor. */
  rows: HTMLElement[];
  /** Shows position i on every sparkline and each factor's value there in its row's title. */
  mark(i: number): void;
  /** Hides the position markers. */
  unmark(): void;
}

/** Appends one legend row per factor to `container`, each sparkline `width` x `height`. */
export function renderFactorLegend(
  container: HTMLElement,
  tokens: readonly Token[],
  factors: readonly (readonly number[])[],
  excluded: Uint8Array,
  labels: readonly string[] | null | undefined,
  width: number,
  height: number,
): FactorLegend {
  const n = tokens.length;
  const firstOutput = firstOutputIndex(tokens);
  const rows: HTMLElement[] = [];
  const markers: SVGLineElement[] = [];
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
    mark(i: number): void {
      const px = sparkX(i, n, width).toFixed(1);
      for (let f = 0; f < factors.length; f++) {
        markers[f].setAttribute("x1", px);
        markers[f].setAttribute("x2", px);
        markers[f].setAttribute("visibility", "visible");
        rows[f].title = factorLabel(labels, f) + " at position " + i + ": " + formatNumber(factors[f][i]);
      }
    },
    unmark(): void {
      for (const m of markers) m.setAttribute("visibility", "hidden");
    },
  };
}

/** Hovering a token (.lms-token with data-position) in `text` marks its position on the legend's sparklines. */
export function markOnHover(text: HTMLElement, legend: FactorLegend): void {
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

/**
 * Isolating a factor from the legend: hover or focus on a row paints its factor,
 * leaving paints the pinned one (-1: none); a click, Enter or Space pins the
 * row's factor, or releases it when already pinned. Returns pin(f), which pins
 * and paints f (the views' isolate()).
 */
export function bindIsolation(
  container: HTMLElement,
  rows: readonly HTMLElement[],
  paint: (f: number) => void,
): (f: number) => void {
  let pinned = -1;
  const factorOf = (t: EventTarget | null): number => {
    const row = closestIn(t, ".lms-spark", container);
    return row ? Number(row.getAttribute("data-factor")) : -1;
  };
  const toggle = (f: number): void => {
    pinned = pinned === f ? -1 : f;
    rows.forEach((r, j) => r.setAttribute("aria-pressed", String(j === pinned)));
    paint(pinned >= 0 ? pinned : f);
  };
  const show = (ev: Event): void => {
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
  return (f: number): void => {
    pinned = f;
    paint(f);
  };
}
