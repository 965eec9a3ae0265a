import { describe, expect, it } from "vitest";
import { formatNumber, formatPercent, formatProb, formatRank } from "../src/format";

describe("formatPercent", () => {
  it("uses whole percents from 10% up and one decimal below", () => {
    expect(formatPercent(0.32942918)).toBe("33%");
    expect(formatPercent(0.05011766)).toBe("5.0%");
    expect(formatPercent(0.0996)).toBe("10%");
    expect(formatPercent(1)).toBe("100%");
  });
  it("handles zero, tiny, negative and non-finite values", () => {
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.0004)).toBe("<0.1%");
    expect(formatPercent(-0.25)).toBe("\u221225%");
    expect(formatPercent(NaN)).toBe("\u2013");
    expect(formatPercent(Infinity)).toBe("\u2013");
  });
  it("formatProb agrees", () => {
    expect(formatProb(0.931)).toBe("93%");
  });
});

describe("formatRank", () => {
  it("keeps small ranks exact and shortens large ones", () => {
    expect(formatRank(1)).toBe("1");
    expect(formatRank(9999)).toBe("9999");
    expect(formatRank(12345)).toBe("12k");
    expect(formatRank(2500000)).toBe("2.5M");
    expect(formatRank(3000000)).toBe("3M");
  });
});

describe("formatNumber", () => {
  it("uses significant digits without trailing zeros", () => {
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(1.5)).toBe("1.5");
    expect(formatNumber(2)).toBe("2");
    expect(formatNumber(0.012345)).toBe("0.0123");
    expect(formatNumber(-3.14159)).toBe("\u22123.14");
  });
  it("switches to exponent form for very small or large values", () => {
    expect(formatNumber(0.00001234)).toBe("1.23e-5");
    expect(formatNumber(123456)).toBe("1.23e+5");
    expect(formatNumber(0.0001)).toBe("1e-4");
  });
});
