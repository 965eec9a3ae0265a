/**
 * Colour scales used by the views. Pure functions, no DOM.
 *
 * All scales return integer RGB triples; rgbString() formats them exactly the
 * way browsers serialise inline colours ("rgb(r, g, b)"), so a test can compare
 * element.style.backgroundColor with a value computed from the data.
 */

export type RGB = [number, number, number];

/** matplotlib's viridis, 256 entries as 6-digit hex, generated from matplotlib.colormaps["viridis"]. */
const VIRIDIS_HEX =
  "44015444025645045745055946075a46085c460a5d460b5e470d60470e6147106347116447136548146748166848176948186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f854240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc8635ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21ad8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725";

function decodeHexLut(hex: string): RGB[] {
  const out: RGB[] = [];
  for (let i = 0; i + 6 <= hex.length; i += 6) {
    out.push([
      parseInt(hex.slice(i, i + 2), 16),
      parseInt(hex.slice(i + 2, i + 4), 16),
      parseInt(hex.slice(i + 4, i + 6), 16),
    ]);
  }
  return out;
}

let viridisLut: RGB[] | null = null;

/** Clamp to [0, 1]; NaN and -Infinity become 0. */
export function clamp01(t: number): number {
  if (!(t > 0)) return 0;
  return t > 1 ? 1 : t;
}

/** Viridis colour at t in [0, 1] (0 = dark purple, 1 = yellow); the nearest of 256 entries. */
export function viridis(t: number): RGB {
  if (viridisLut === null) viridisLut = decodeHexLut(VIRIDIS_HEX);
  return viridisLut[Math.round(clamp01(t) * 255)];
}

/** Linear interpolation through evenly spaced colour stops. */
export function sequential(stops: readonly RGB[], t: number): RGB {
  const x = clamp01(t) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

export function hexToRgb(hex: string): RGB {
  const h = hex.replace("#", "");
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

/** ColorBrewer "Purples" (light to dark): the logit-lens ranking cells. */
export const PURPLES: readonly RGB[] = [
  "#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d",
].map(hexToRgb);

/** ColorBrewer "Blues" (light to dark): positive neuron activations. */
export const BLUES: readonly RGB[] = [
  "#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b",
].map(hexToRgb);

/** Tableau 10 followed by its lighter companions: factors and clusters. */
export const CATEGORICAL: readonly RGB[] = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
  "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e",
].map(hexToRgb);

/** Categorical colour i; wraps around after CATEGORICAL.length colours. */
export function categorical(i: number): RGB {
  const n = CATEGORICAL.length;
  return CATEGORICAL[((i % n) + n) % n];
}

export function rgbString(c: RGB): string {
  return "rgb(" + c[0] + ", " + c[1] + ", " + c[2] + ")";
}

/** rgba() with alpha rounded to 3 decimals; alpha 1 gives rgb() (what browsers serialise). */
export function rgbaString(c: RGB, alpha: number): string {
  const a = Math.round(clamp01(alpha) * 1000) / 1000;
  if (a === 1) return rgbString(c);
  return "rgba(" + c[0] + ", " + c[1] + ", " + c[2] + ", " + a + ")";
}

/** WCAG relative luminance of an sRGB colour, in [0, 1]. */
export function relativeLuminance(c: RGB): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

/** Black-ish or white text, whichever contrasts more with background c. */
export function textColorOn(c: RGB): string {
  const l = relativeLuminance(c);
  // contrast with white: 1.05 / (l + 0.05); with #111 (luminance ~0.0056): (l + 0.05) / 0.0556
  return 1.05 / (l + 0.05) > (l + 0.05) / 0.0556 ? "#fff" : "#111";
}

/**
 * The q-th percentile (0..100) of the positive entries of a matrix, interpolated
 * linearly between order statistics exactly as numpy.percentile does by default;
 * 1 when no entry is positive. Heatmaps top their colour scale here (q = 99), as
 * lmscope's matplotlib figures do, so a few outsized values do not wash out the rest.
 */
export function positivePercentile(rows: readonly (readonly number[])[], q: number): number {
  let count = 0;
  for (const row of rows) for (const v of row) if (v > 0) count++;
  if (count === 0) return 1;
  const sorted = new Float64Array(count);
  let i = 0;
  for (const row of rows) for (const v of row) if (v > 0) sorted[i++] = v;
  sorted.sort();
  const at = (Math.min(Math.max(q, 0), 100) / 100) * (count - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, count - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * Position of a rank on a log scale: 1 for rank 1, 0 for ranks >= maxRank.
 * Ranks are 1-based; maxRank below 2 is treated as 2.
 */
export function logRankScale(rank: number, maxRank: number): number {
  const m = Math.max(maxRank, 2);
  if (!(rank > 1)) return 1;
  return clamp01(1 - Math.log(rank) / Math.log(m));
}
