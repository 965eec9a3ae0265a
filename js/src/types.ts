/** The data contracts: what the Python side produces for each view kind. */

import type { Token } from "./tokens";

export type { Token };

interface Common {
  tokens: Token[];
  title?: string;
  caption?: string;
}

export interface SaliencyData extends Common {
  kind: "saliency";
  /** Positions of the explained tokens. */
  targets: number[];
  /** One row per target, one entry per token; entries at positions >= target are 0. */
  attributions: number[][];
  variant?: "minimal" | "detailed";
  method?: string;
}

export interface FactorsData extends Common {
  kind: "factors";
  /** n_factors x n_tokens. Non-negative for NMF, may be negative for PCA. */
  factors: number[][];
  /** Dominant factor per token, -1 where the token is excluded. */
  dominant: number[];
  /** Positions left out of the factorisation. */
  excluded: number[];
  labels?: string[];
}

export interface Prediction {
  token: string;
  prob: number;
}

export interface LensData extends Common {
  kind: "lens";
  /** Positions of the tokens being predicted. */
  targets: number[];
  /** Row labels, one per layer. */
  layers: string[];
  /** layers x targets, 1 = top. */
  ranks: number[][];
  /** layers x targets: the probability of the target token at that layer. */
  probs: number[][];
  /** [layer][target] -> top predictions at that layer. */
  top: Prediction[][][];
}

export interface ActivationsData extends Common {
  kind: "activations";
  /** rows (neurons) x tokens. */
  values: number[][];
  row_labels: string[];
  /** Cluster of each row; rows are already sorted so each cluster is one contiguous block. */
  clusters?: number[];
}

export interface Candidate {
  token: string;
  token_id: number;
  prob: number;
}

export interface CandidateStep {
  position: number;
  chosen: Candidate;
  top: Candidate[];
}

export interface CandidatesData extends Common {
  kind: "candidates";
  steps: CandidateStep[];
}

/** Saliency and factors of one run over the same tokens: the fields of both, side by side. */
export interface CombinedData extends Common {
  kind: "combined";
  /** As SaliencyData. */
  targets: number[];
  attributions: number[][];
  method?: string;
  /** As FactorsData. */
  factors: number[][];
  dominant: number[];
  excluded: number[];
  labels?: string[];
}

export type ViewData = SaliencyData | FactorsData | LensData | ActivationsData | CandidatesData | CombinedData;

export const KINDS = ["saliency", "factors", "lens", "activations", "candidates", "combined"] as const;
