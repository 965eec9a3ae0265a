import { describe, expect, it } from "vitest";
import { displayToken, tokenTitle } from "../src/tokens";

describe("displayToken", () => {
  it("keeps ordinary tokens, leading spaces included", () => {
    expect(displayToken(" Shakespeare")).toEqual({ text: " Shakespeare", whitespace: false, empty: false, newlines: 0 });
    expect(displayToken("64").text).toBe("64");
  });
  it("makes whitespace-only tokens visible", () => {
    expect(displayToken(" ")).toMatchObject({ text: "\u2423", whitespace: true });
    expect(displayToken("   ").text).toBe("\u2423\u2423\u2423");
    expect(displayToken("\t").text).toBe("\u21e5");
    expect(displayToken("\u00a0").text).toBe("\u237d");
    expect(displayToken("\u200b")).toMatchObject({ text: "\u00b7", whitespace: true });
  });
  it("shows newlines as arrows and asks for line breaks", () => {
    expect(displayToken("\n")).toMatchObject({ text: "\u21b5", whitespace: true, newlines: 1 });
    expect(displayToken("\n\n")).toMatchObject({ text: "\u21b5\u21b5", newlines: 2 });
    expect(displayToken("\n\n\n\n").newlines).toBe(2);
    expect(displayToken("\r\n")).toMatchObject({ text: "\u21b5", newlines: 1 });
    expect(displayToken(" \n")).toMatchObject({ text: "\u2423\u21b5", newlines: 1 });
    expect(displayToken(".\n")).toMatchObject({ text: ".\u21b5", whitespace: false, newlines: 1 });
  });
  it("replaces control characters with control pictures", () => {
    expect(displayToken("\u0000").text).toBe("\u2400");
    expect(displayToken("a\u001bb").text).toBe("a\u241bb");
    expect(displayToken("\u007f").text).toBe("\u2421");
  });
  it("marks the empty token", () => {
    expect(displayToken("")).toMatchObject({ text: "\u2205", empty: true });
  });
  it("leaves markup as plain characters (the DOM layer uses textContent)", () => {
    const hostile = "</script><img src=x onerror=alert(1)>";
    expect(displayToken(hostile).text).toBe(hostile);
  });
});

describe("tokenTitle", () => {
  it("quotes the exact string", () => {
    expect(tokenTitle({ token: " a\n", token_id: 7, type: "output", position: 3 })).toBe(
      '" a\\n" \u00b7 id 7 \u00b7 position 3 \u00b7 output',
    );
  });
});
