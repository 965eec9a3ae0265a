/** Number formatting for labels and tooltips. Pure functions. */

const MINUS = "\u2212";

/**
 * A fraction as a percentage: 0.3294 -> "33%", 0.0501 -> "5.0%", 0.0004 -> "<0.1%".
 * Negative values get a minus sign; non-finite values give "–".
 */
export function formatPercent(v: number): string {
  if (!isFinite(v)) return "\u2013";
  if (v === 0) return "0%";
  const a = Math.abs(v) * 100;
  const sign = v < 0 ? MINUS : "";
  let s: string;
  if (a < 0.1) s = "<0.1";
  else if (a < 9.95) s = a.toFixed(1);
  else s = String(Math.round(a));
  return sign + s + "%";
}

/** A probability: same as formatPercent, kept separate so the two can diverge. */
export function formatProb(p: number): string {
  return formatPercent(p);
}

/** A 1-based rank in a narrow cell: 7 -> "7", 12345 -> "12k", 2500000 -> "2.5M". */
export function formatRank(r: number): string {
  if (!isFinite(r)) return "\u2013";
  const n = Math.round(r);
  if (n < 10000) return String(n);
  if (n < 1e6) return Math.round(n / 1000) + "k";
  return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
}

/**
 * A general value (activation, factor weight) to `digits` significant digits,
 * without trailing zeros; exponent form outside [1e-3, 1e5).
 */
export function formatNumber(v: number, digits = 3): string {
  if (!isFinite(v)) return "\u2013";
  if (v === 0) return "0";
  const a = Math.abs(v);
  let s: string;
  if (a >= 1e5 || a < 1e-3) {
    s = v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e");
  } else {
    s = v.toPrecision(digits);
    if (s.indexOf(".") >= 0) s = s.replace(/\.?0+$/, "");
  }
  return s.replace(/^-/, MINUS);
}
