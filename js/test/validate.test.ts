import { describe, expect, it } from "vitest";
import { validate } from "../src/validate";

function toks(n: number, firstOutput = n) {
  return Array.from({ length: n }, (_, i) => ({
    token: "t" + i,
    token_id: i,
    type: i >= firstOutput ? "output" : "input",
    position: i,
  }));
}

const saliency = () => ({
  kind: "saliency",
  tokens: toks(4, 2),
  targets: [2, 3],
  attributions: [
    [0.4, 0.6, 0, 0],
    [0.2, 0.3, 0.5, 0],
  ],
  variant: "minimal",
  method: "grad_x_input",
});

const factors = () => ({
  kind: "factors",
  tokens: toks(3, 2),
  factors: [
    [1, 0, 2],
    [0, 1, 0.5],
  ],
  dominant: [-1, 1, 0],
  excluded: [0],
  labels: ["a", "b"],
});

const lens = () => ({
  kind: "lens",
  tokens: toks(3, 1),
  targets: [1, 2],
  layers: ["L0", "L1"],
  ranks: [
    [10, 3],
    [1, 1],
  ],
  probs: [
    [0.01, 0.1],
    [0.9, 0.8],
  ],
  top: [
    [[{ token: "x", prob: 0.2 }], [{ token: "y", prob: 0.3 }]],
    [[{ token: "t1", prob: 0.9 }], [{ token: "t2", prob: 0.8 }]],
  ],
});

const activations = () => ({
  kind: "activations",
  tokens: toks(2),
  values: [
    [0, 1],
    [2, -1],
    [0.5, 0.5],
  ],
  row_labels: ["n0", "n1", "n2"],
  clusters: [1, 1, 0],
});

const candidates = () => ({
  kind: "candidates",
  tokens: toks(3, 1),
  steps: [
    { position: 1, chosen: { token: "a", token_id: 1, prob: 0.5 }, top: [{ token: "a", token_id: 1, prob: 0.5 }] },
    { position: 2, chosen: { token: "b", token_id: 2, prob: 0.1 }, top: [] },
  ],
});

const combined = () => ({
  kind: "combined",
  tokens: toks(4, 2),
  targets: [2, 3],
  attributions: [
    [0.4, 0.6, 0, 0],
    [0.2, 0.3, 0.5, 0],
  ],
  method: "grad_x_input",
  factors: [
    [0, 1, 0, 2],
    [0, 0.5, 1, 0],
  ],
  dominant: [-1, 0, 1, 0],
  excluded: [0],
  labels: ["commas", "digits"],
});

describe("validate accepts the contracts", () => {
  it.each([
    ["saliency", saliency],
    ["factors", factors],
    ["lens", lens],
    ["activations", activations],
    ["candidates", candidates],
    ["combined", combined],
  ])("%s", (_name, make) => {
    expect(validate(make())).toEqual([]);
  });
  it("allows title, caption, and a missing variant and method", () => {
    const d: Record<string, unknown> = { ...saliency(), title: "T", caption: "C" };
    delete d.variant;
    delete d.method;
    expect(validate(d)).toEqual([]);
  });
});

describe("validate rejects bad data with messages naming the field", () => {
  it("non-objects and unknown kinds", () => {
    expect(validate(null)[0]).toMatch(/^view data must be an object, got null/);
    expect(validate([])[0]).toMatch(/^view data must be an object, got a list of length 0/);
    expect(validate({ kind: "gallery" })[0]).toMatch(/kind must be one of "saliency", "factors"/);
  });
  it("tokens", () => {
    expect(validate({ ...saliency(), tokens: [] })[0]).toMatch(/tokens is empty; expected at least 1 entry/);
    const d = saliency();
    (d.tokens[1] as Record<string, unknown>).position = 5;
    (d.tokens[2] as Record<string, unknown>).type = "prompt";
    (d.tokens[3] as Record<string, unknown>).token = 3;
    const msgs = validate(d).join("\n");
    expect(msgs).toMatch(/tokens\[1\]\.position must be 1/);
    expect(msgs).toMatch(/tokens\[2\]\.type must be one of "input", "output", got "prompt"/);
    expect(msgs).toMatch(/tokens\[3\]\.token must be a string/);
  });
  it("saliency shapes and values", () => {
    expect(validate({ ...saliency(), targets: [2, 9] })[0]).toMatch(/targets\[1\] must be an integer in \[0, 3\]/);
    expect(validate({ ...saliency(), attributions: [[0.4, 0.6, 0, 0]] })[0]).toMatch(/attributions has 1 entry; expected 2, one per entry of targets/);
    expect(validate({ ...saliency(), attributions: [[0.4, 0.6, 0], [0, 0, 0, 0]] })[0]).toMatch(
      /attributions\[0\] has 3 entries; expected 4, one per entry of tokens/,
    );
    expect(validate({ ...saliency(), attributions: [[0.4, NaN, 0, 0], [0, 0, 0, 0]] })[0]).toMatch(
      /attributions\[0\]\[1\] must be a number, got NaN/,
    );
    expect(validate({ ...saliency(), variant: "fancy" })[0]).toMatch(/variant must be one of "minimal", "detailed", null/);
    expect(validate({ ...saliency(), title: 5 })[0]).toMatch(/title must be a string/);
  });
  it("factors", () => {
    expect(validate({ ...factors(), dominant: [0, 2, 0] })[0]).toMatch(/dominant\[1\] must be an integer in \[-1, 1\]/);
    expect(validate({ ...factors(), dominant: [0, 1] })[0]).toMatch(/dominant has 2 entries; expected 3, one per entry of tokens/);
    expect(validate({ ...factors(), excluded: [3] })[0]).toMatch(/excluded\[0\]/);
    expect(validate({ ...factors(), labels: ["a"] })[0]).toMatch(/labels has 1 entry; expected 2, one per entry of factors/);
    expect(validate({ ...factors(), factors: [] }).join()).toMatch(/factors is empty; expected at least 1 entry/);
  });
  it("lens", () => {
    expect(validate({ ...lens(), ranks: [[0, 1], [1, 1]] })[0]).toMatch(/ranks\[0\]\[0\] must be an integer >= 1, got 0/);
    expect(validate({ ...lens(), probs: [[1.5, 0], [0, 0]] })[0]).toMatch(/probs\[0\]\[0\] must be a number in \[0, 1\], got 1.5/);
    expect(validate({ ...lens(), layers: ["L0"] }).join()).toMatch(/ranks has 2 entries; expected 1, one per entry of layers/);
    expect(validate({ ...lens(), top: [[[], []], [[{ token: 1, prob: 0.1 }], []]] })[0]).toMatch(/top\[1\]\[0\]\[0\]\.token must be a string, got 1/);
  });
  it("combined checks the saliency and the factor fields", () => {
    expect(validate({ ...combined(), targets: [2, 4] })[0]).toMatch(/targets\[1\] must be an integer in \[0, 3\]/);
    expect(validate({ ...combined(), dominant: [0, 1] })[0]).toMatch(/dominant has 2 entries; expected 4, one per entry of tokens/);
    expect(validate({ ...combined(), factors: [[0, 1, 0]] }).join()).toMatch(/factors\[0\] has 3 entries; expected 4, one per entry of tokens/);
    const d: Record<string, unknown> = combined();
    delete d.attributions;
    expect(validate(d)[0]).toMatch(/attributions is missing; expected a list \(one row per target/);
  });
  it("activations", () => {
    expect(validate({ ...activations(), row_labels: ["a"] })[0]).toMatch(/row_labels has 1 entry; expected 3, one per entry of values/);
    expect(validate({ ...activations(), clusters: [1, 0, 1] })[0]).toMatch(/clusters\[2\] is 1 again after other values; equal entries must be contiguous/);
  });
  it("candidates", () => {
    const d = candidates();
    (d.steps[0] as Record<string, unknown>).position = 3;
    (d.steps[1].chosen as Record<string, unknown>).prob = "high";
    const msgs = validate(d).join("\n");
    expect(msgs).toMatch(/steps\[0\]\.position must be an integer in \[0, 2\]/);
    expect(msgs).toMatch(/steps\[1\]\.chosen\.prob must be a number, got "high"/);
  });
  it("stops after a bounded number of messages", () => {
    const d = saliency();
    d.tokens = toks(200) as typeof d.tokens;
    for (const t of d.tokens) (t as Record<string, unknown>).type = "bad";
    expect(validate(d).length).toBeLessThanOrEqual(12);
  });
});
