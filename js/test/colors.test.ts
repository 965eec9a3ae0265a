import { describe, expect, it } from "vitest";
import {
  BLUES,
  PURPLES,
  categorical,
  clamp01,
  logRankScale,
  positivePercentile,
  relativeLuminance,
  rgbString,
  rgbaString,
  sequential,
  textColorOn,
  viridis,
} from "../src/colors";

describe("viridis", () => {
  it("matches matplotlib at the ends and the middle", () => {
    expect(viridis(0)).toEqual([0x44, 0x01, 0x54]);
    expect(viridis(1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(viridis(0.5)).toEqual([0x21, 0x91, 0x8c]); // matplotlib viridis(128/255)
  });
  it("clamps out-of-range and non-finite input", () => {
    expect(viridis(-3)).toEqual(viridis(0));
    expect(viridis(7)).toEqual(viridis(1));
    expect(viridis(NaN)).toEqual(viridis(0));
  });
  it("grows brighter monotonically", () => {
    let prev = -1;
    for (let i = 0; i <= 32; i++) {
      const l = relativeLuminance(viridis(i / 32));
      expect(l).toBeGreaterThan(prev);
      prev = l;
    }
  });
});

describe("helpers", () => {
  it("clamp01", () => {
    expect(clamp01(-1)).toBe(0);
    expect(clamp01(0.25)).toBe(0.25);
    expect(clamp01(2)).toBe(1);
    expect(clamp01(NaN)).toBe(0);
  });
  it("formats colours the way browsers serialise them", () => {
    expect(rgbString([1, 2, 3])).toBe("rgb(1, 2, 3)");
    expect(rgbaString([1, 2, 3], 0.12345)).toBe("rgba(1, 2, 3, 0.123)");
    expect(rgbaString([1, 2, 3], 1)).toBe("rgb(1, 2, 3)");
    expect(rgbaString([1, 2, 3], 5)).toBe("rgb(1, 2, 3)");
  });
  it("sequential interpolates between stops", () => {
    expect(sequential(PURPLES, 0)).toEqual(PURPLES[0]);
    expect(sequential(PURPLES, 1)).toEqual(PURPLES[PURPLES.length - 1]);
    expect(sequential([[0, 0, 0], [255, 255, 255]], 0.5)).toEqual([128, 128, 128]);
    expect(relativeLuminance(sequential(BLUES, 0.9))).toBeLessThan(relativeLuminance(sequential(BLUES, 0.1)));
  });
  it("categorical wraps around", () => {
    expect(categorical(0)).toEqual(categorical(20));
    expect(categorical(-1)).toEqual(categorical(19));
    expect(categorical(0)).not.toEqual(categorical(1));
  });
  it("picks readable text colours", () => {
    expect(textColorOn(viridis(0))).toBe("#fff");
    expect(textColorOn(viridis(1))).toBe("#111");
    expect(textColorOn([255, 255, 255])).toBe("#111");
  });
});

describe("logRankScale", () => {
  it("is 1 at rank 1 and 0 at the largest rank", () => {
    expect(logRankScale(1, 50000)).toBe(1);
    expect(logRankScale(50000, 50000)).toBeCloseTo(0);
    expect(logRankScale(100000, 50000)).toBe(0);
  });
  it("is logarithmic", () => {
    expect(logRankScale(100, 10000)).toBeCloseTo(0.5);
    expect(logRankScale(10, 100)).toBeCloseTo(0.5);
  });
  it("copes with degenerate maxima", () => {
    expect(logRankScale(1, 1)).toBe(1);
    expect(logRankScale(2, 1)).toBe(0);
  });
});

describe("positivePercentile", () => {
  // Expected values from numpy.percentile(values[values > 0], q).
  const m = [
    [3, -1, 0.5, 7],
    [2, 0, 100, 1],
  ];
  it("matches numpy's linear interpolation over the positive entries", () => {
    expect(positivePercentile(m, 99)).toBeCloseTo(95.35, 10);
    expect(positivePercentile(m, 50)).toBeCloseTo(2.5, 12);
    expect(positivePercentile(m, 0)).toBe(0.5);
    expect(positivePercentile(m, 100)).toBe(100);
    const ramp = Array.from({ length: 10 }, (_, r) => Array.from({ length: 20 }, (_, c) => r * 20 + c + 1));
    expect(positivePercentile(ramp, 99)).toBeCloseTo(198.01, 10);
  });
  it("sorts numerically, not as strings", () => {
    expect(positivePercentile([[10, 9, 100, 2]], 0)).toBe(2);
    expect(positivePercentile([[10, 9, 100, 2]], 100)).toBe(100);
  });
  it("is 1 when nothing is positive", () => {
    expect(positivePercentile([[0, -2], [-0.5, 0]], 99)).toBe(1);
    expect(positivePercentile([], 99)).toBe(1);
  });
});
