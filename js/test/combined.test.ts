import { describe, expect, it } from "vitest";
import { rowMax, saliencyTint, setTint, twoSided, viridisGradientCss } from "../src/attribution";
import { categorical, rgbString, textColorOn, viridis } from "../src/colors";
import { excludedMask, factorLabel, factorScales, sparkX, sparkline } from "../src/spark";
import { firstOutputIndex } from "../src/tokens";
import { FAINT, HIDDEN, miniBars } from "../src/views/combined";

const factors = [
  [9, 1, 0, 2, 4],
  [9, 0.5, 1, 0, 1],
  [9, -1, 0.5, 0.5, 0],
];
const dominant = [-1, 0, 1, 0, 0];

describe("excludedMask and factorScales", () => {
  it("leave out listed positions and those without a dominant factor", () => {
    expect(Array.from(excludedMask(5, [], dominant))).toEqual([1, 0, 0, 0, 0]);
    expect(Array.from(excludedMask(5, [3, 9], [0, 0, 0, 0, 0]))).toEqual([0, 0, 0, 1, 0]);
  });
  it("scale each factor over the included positions only", () => {
    const s = factorScales(factors, excludedMask(5, [0], dominant));
    expect(Array.from(s.maxPos)).toEqual([4, 1, 0.5]); // the 9s at the excluded position do not count
    expect(Array.from(s.maxAbs)).toEqual([4, 1, 1]);
    expect(Array.from(s.minVal)).toEqual([0, 0, -1]);
  });
});

describe("miniBars: the word-sized chart under a token", () => {
  const scales = factorScales(factors, excludedMask(5, [0], dominant));
  it("one bar per factor, height scaled per factor, the dominant one opaque", () => {
    const bars = miniBars(factors, 1, scales, 0, -1, false);
    expect(bars.map((b) => b.height)).toEqual([0.25, 0.5, 1]);
    expect(bars.map((b) => b.alpha)).toEqual([1, FAINT, FAINT]);
    expect(bars[0].colour).toEqual(categorical(0));
    expect(bars[2].colour).toEqual([110, 110, 110]); // negative (PCA) scores in grey
  });
  it("isolating a factor keeps only its bar", () => {
    const bars = miniBars(factors, 2, scales, 1, 2, false);
    expect(bars.map((b) => b.alpha)).toEqual([HIDDEN, HIDDEN, 1]);
    expect(bars[2].height).toBe(0.5);
    expect(bars[2].colour).toEqual(categorical(2));
  });
  it("excluded tokens and all-zero factors", () => {
    expect(miniBars(factors, 0, scales, -1, -1, true)).toEqual([]);
    const zero = factorScales([[0, 0]], new Uint8Array(2));
    expect(miniBars([[0, 0]], 1, zero, 0, -1, false)[0].height).toBe(0);
  });
});

describe("saliency tints", () => {
  it("scale to the largest attribution before the target", () => {
    const row = [0.1, 0.5, 0.2, 0.9, 0];
    expect(rowMax(row, 3)).toBe(0.5);
    expect(rowMax(row, 0)).toBe(0);
    expect(saliencyTint(0.5, 0.5)).toEqual(viridis(1));
    expect(saliencyTint(0.25, 0.5)).toEqual(viridis(0.5));
    expect(saliencyTint(0.3, 0)).toEqual(viridis(0));
    expect(saliencyTint(-0.2, 0.5)).toEqual(viridis(0)); // negative (signed methods) clamps
  });
  it("of a masked LM's row scale to the largest attribution on either side of the target", () => {
    const causal = [0.1, 0.5, 0.2, 0, 0];
    const masked = [0.1, 0.5, 0.7, 0, 0.9];
    expect(twoSided(causal, 2)).toBe(false);
    expect(twoSided(masked, 2)).toBe(true);
    expect(twoSided(masked, 4)).toBe(false);
    expect(rowMax(masked, 2, true)).toBe(0.9); // the target's own entry is never on the scale
    expect(rowMax(masked, 4, true)).toBe(0.7);
    expect(rowMax(masked, 2)).toBe(0.5);
  });
  it("tint a box legibly and clear it", () => {
    const box = { style: { backgroundColor: "", color: "" } } as unknown as HTMLElement;
    setTint(box, viridis(0));
    expect(box.style.backgroundColor).toBe(rgbString(viridis(0)));
    expect(box.style.color).toBe(textColorOn(viridis(0)));
    setTint(box, null);
    expect(box.style.backgroundColor).toBe("");
    expect(box.style.color).toBe("");
  });
  it("legend bar runs viridis 0..1 in nine stops", () => {
    const css = viridisGradientCss();
    expect(css.startsWith("linear-gradient(to right, " + rgbString(viridis(0)) + " 0%, ")).toBe(true);
    expect(css.endsWith(", " + rgbString(viridis(1)) + " 100%)")).toBe(true);
    expect(css).toContain(rgbString(viridis(0.5)) + " 50%");
    expect(css.split("%").length - 1).toBe(9);
  });
});

describe("factor legend", () => {
  it("names factors by their label, or by number when none is given", () => {
    expect(factorLabel(["names", ""], 0)).toBe("names");
    expect(factorLabel(["names", ""], 1)).toBe("Factor 2");
    expect(factorLabel(["names"], 2)).toBe("Factor 3");
    expect(factorLabel(undefined, 0)).toBe("Factor 1");
  });
  it("shades from the first output token", () => {
    const tok = (type: "input" | "output", position: number) => ({ token: "a", token_id: 1, type, position });
    expect(firstOutputIndex([tok("input", 0), tok("input", 1), tok("output", 2), tok("output", 3)])).toBe(2);
    expect(firstOutputIndex([tok("input", 0), tok("input", 1)])).toBe(2);
    expect(firstOutputIndex([tok("output", 0)])).toBe(0);
    expect(firstOutputIndex([])).toBe(0);
  });
});

describe("sparkline", () => {
  it("spans the box, breaks at excluded positions and closes each area run at zero", () => {
    const s = sparkline([0, 2, 1, 0, 2], new Uint8Array([0, 0, 0, 1, 0]), 40, 10);
    // x = 0, 10, 20, (30 skipped), 40; y = 8 - v / 2 * 6
    expect(s.line).toBe("M0.0 8.0L10.0 2.0L20.0 5.0M40.0 2.0");
    expect(s.area).toBe("M0.0 8.0L0.0 8.0L10.0 2.0L20.0 5.0L20.0 8.0ZM40.0 8.0L40.0 2.0L40.0 8.0Z");
    expect(s.zero).toBeNull();
  });
  it("draws a zero line for negative values", () => {
    const s = sparkline([-1, 1], new Uint8Array(2), 10, 10);
    expect(s.zero).toBeCloseTo(5, 10);
  });
  it("places a single position in the middle", () => {
    expect(sparkX(0, 1, 40)).toBe(20);
    expect(sparkX(2, 3, 40)).toBe(40);
  });
});
