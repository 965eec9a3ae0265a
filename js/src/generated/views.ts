// Generated from src/lmscope/views/schemas/*.schema.json by js/scripts/gen-types.mjs; do not edit.
// Rebuild with `npm --prefix js run build` (make js); `make js-check` fails when this file is stale.

/** Attribution of each explained (target) token to every token of the text. A causal model's rows are 0 from the target on; a bidirectional model's rows may be nonzero on both sides of the target. */
export interface SaliencyData extends ViewCommon {
  kind: "saliency";
  /** positions of the explained tokens */
  targets: number[];
  /** one row per target, one entry per token */
  attributions: number[][];
  /** "detailed" also prints each token's percentage under it. */
  variant?: "minimal" | "detailed" | null;
  /** The attribution method's name, shown in the footer. */
  method?: string | null;
}

/** Factors of the neuron activations over the tokens (NMF: non-negative; PCA: signed). */
export interface FactorsData extends ViewCommon {
  kind: "factors";
  /** one row per factor, one entry per token */
  factors: number[][];
  /** the dominant factor of each token, -1 where the token is excluded */
  dominant: number[];
  /** positions left out of the factorisation */
  excluded: number[];
  /** one name per factor */
  labels?: string[] | null;
}

/** Logit lens: how each target token ranks in every layer's prediction. */
export interface LensData extends ViewCommon {
  kind: "lens";
  /** positions of the predicted tokens */
  targets: number[];
  /** row labels, one per layer */
  layers: string[];
  /** layers x targets, 1 = top */
  ranks: number[][];
  /** layers x targets, the probability of the target token at that layer */
  probs: number[][];
  /** [layer][target] -> that layer's top predictions at that position */
  top: Prediction[][][];
}

/** Neuron activations: rows (neurons) x tokens, optionally grouped into clusters. */
export interface ActivationsData extends ViewCommon {
  kind: "activations";
  /** one row per neuron, one entry per token */
  values: number[][];
  /** one label per row */
  row_labels: string[];
  /** the cluster of each row; rows are sorted so that each cluster's rows are contiguous */
  clusters?: number[] | null;
}

/** The model's top candidates at each generated (or masked) position. */
export interface CandidatesData extends ViewCommon {
  kind: "candidates";
  /** one {position, chosen, top} per generated or masked token */
  steps: CandidateStep[];
}

/** Saliency and factors of one run over the same tokens: the fields of both, side by side. */
export interface CombinedData extends ViewCommon {
  kind: "combined";
  /** positions of the explained tokens */
  targets: number[];
  /** one row per target, one entry per token */
  attributions: number[][];
  /** The attribution method's name, shown in the footer. */
  method?: string | null;
  /** one row per factor, one entry per token */
  factors: number[][];
  /** the dominant factor of each token, -1 where the token is excluded */
  dominant: number[];
  /** positions left out of the factorisation */
  excluded: number[];
  /** one name per factor */
  labels?: string[] | null;
}

/** What every view carries: the tokens it describes, and an optional title and caption. */
export interface ViewCommon {
  /** one {token, token_id, type, position} per token, in order */
  tokens: Token[];
  /** Shown above the view. */
  title?: string | null;
  /** Shown under the view. */
  caption?: string | null;
}

/** one predicted token and its probability */
export interface Prediction {
  token: string;
  prob: number;
}

/** one generation step */
export interface CandidateStep {
  /** Position of the chosen token. */
  position: number;
  chosen: Candidate;
  /** the top-k candidates, most probable first */
  top: Candidate[];
}

/** one token of the run, as Run.token_table() gives it */
export interface Token {
  /** The token's text as the tokenizer decodes it. */
  token: string;
  /** The token's id in the vocabulary. */
  token_id: number;
  /** Input (prompt) or output (generated or predicted) token. */
  type: "input" | "output";
  /** The token's index in the list. */
  position: number;
}

/** a {token, token_id, prob} */
export interface Candidate {
  token: string;
  token_id: number;
  prob: number;
}

/** Any lmscope view: an object whose kind selects the schema it follows. */
export type ViewData = SaliencyData | FactorsData | LensData | ActivationsData | CandidatesData | CombinedData;

/** The view kinds, in the order of view.schema.json. */
export const KINDS = ["saliency", "factors", "lens", "activations", "candidates", "combined"] as const;
