/// <reference types="vite/client" />
// The bundle's validator on the contract fixtures shared with the Python side
// (tests/views/contract_fixtures; tests/views/test_contract_parity.py runs both on them).
import { describe, expect, it } from "vitest";
import { check, validate } from "../src/validate";

interface InvalidCase {
  rule: string;
  errors: string[];
  data: unknown;
}

const valid = import.meta.glob("../../tests/views/contract_fixtures/valid/*.json", { eager: true, import: "default" });
const invalid = import.meta.glob<InvalidCase>("../../tests/views/contract_fixtures/invalid/*.json", {
  eager: true,
  import: "default",
});
const name = (path: string) => path.replace(/^.*\//, "").replace(/\.json$/, "");

describe("contract fixtures", () => {
  it("are found", () => {
    expect(Object.keys(valid).length).toBeGreaterThan(10);
    expect(Object.keys(invalid).length).toBeGreaterThan(30);
  });
  it.each(Object.entries(valid).map(([p, d]) => [name(p), d]))("valid %s is accepted", (_n, data) => {
    expect(validate(data)).toEqual([]);
  });
  it.each(Object.entries(invalid).map(([p, c]) => [name(p), c]))("invalid %s names the wrong fields", (_n, c) => {
    const found = check(c.data);
    expect(found.map((p) => p[0] || "view data")).toEqual(c.errors);
    for (const [path, msg] of found) expect(msg.startsWith((path || "view data") + " ")).toBe(true);
  });
});
