/**
 * Sparklines and per-factor scales shared by the factor explorer and the
 * combined view. Pure functions, no DOM.
 */

/** Per-factor scales over the included positions: largest positive value, largest |value|, smallest value. */
export interface FactorScales {
  maxPos: Float64Array;
  maxAbs: Float64Array;
  minVal: Float64Array;
}

export function factorScales(factors: readonly (readonly number[])[], excluded: Uint8Array): FactorScales {
  const k = factors.length;
  const maxPos = new Float64Array(k);
  const maxAbs = new Float64Array(k);
  const minVal = new Float64Array(k);
  for (let f = 0; f < k; f++) {
    const row = factors[f];
    for (let i = 0; i < row.length; i++) {
      if (excluded[i]) continue;
      const v = row[i];
      if (v > maxPos[f]) maxPos[f] = v;
      if (Math.abs(v) > maxAbs[f]) maxAbs[f] = Math.abs(v);
      if (v < minVal[f]) minVal[f] = v;
    }
  }
  return { maxPos, maxAbs, minVal };
}

/** Positions to leave out: those listed, plus any whose dominant factor is -1. */
export function excludedMask(n: number, excluded: readonly number[], dominant: readonly number[]): Uint8Array {
  const mask = new Uint8Array(n);
  for (const p of excluded) if (p >= 0 && p < n) mask[p] = 1;
  for (let i = 0; i < n; i++) if (dominant[i] < 0) mask[i] = 1;
  return mask;
}

export interface Sparkline {
  /** SVG path of the line, broken at excluded positions. */
  line: string;
  /** SVG path of the area between the line and zero, one closed shape per unbroken run. */
  area: string;
  /** y of the zero line when the row has negative values, else null. */
  zero: number | null;
}

/** x of position i of n on a sparkline `width` wide. */
export function sparkX(i: number, n: number, width: number): number {
  return n > 1 ? (i / (n - 1)) * width : width / 2;
}

/**
 * One factor's activity across the sequence as SVG paths in a width x height
 * box (2 px margin top and bottom), scaled from min(0, smallest) to the largest
 * positive value.
 */
export function sparkline(row: readonly number[], excluded: Uint8Array, width: number, height: number): Sparkline {
  const n = row.length;
  let maxPos = 0;
  let minVal = 0;
  for (let i = 0; i < n; i++) {
    if (excluded[i]) continue;
    if (row[i] > maxPos) maxPos = row[i];
    if (row[i] < minVal) minVal = row[i];
  }
  const lo = minVal;
  const span = maxPos - lo || 1;
  const y = (v: number): number => height - 2 - ((v - lo) / span) * (height - 4);
  const y0 = y(0).toFixed(1);
  let line = "";
  let area = "";
  let inRun = false;
  let prev = -1;
  for (let i = 0; i <= n; i++) {
    if (i === n || excluded[i]) {
      if (inRun) area += "L" + sparkX(prev, n, width).toFixed(1) + " " + y0 + "Z";
      inRun = false;
      continue;
    }
    const px = sparkX(i, n, width).toFixed(1);
    const py = y(row[i]).toFixed(1);
    if (!inRun) {
      line += "M" + px + " " + py;
      area += "M" + px + " " + y0 + "L" + px + " " + py;
      inRun = true;
    } else {
      line += "L" + px + " " + py;
      area += "L" + px + " " + py;
    }
    prev = i;
  }
  return { line, area, zero: lo < 0 ? y(0) : null };
}

/** The name of factor f: its label when the data gives one, else "Factor f+1". */
export function factorLabel(labels: readonly string[] | null | undefined, f: number): string {
  return labels && labels[f] ? labels[f] : "Factor " + (f + 1);
}
