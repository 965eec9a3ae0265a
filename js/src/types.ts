/**
 * The data contracts: what the Python side produces for each view kind. The types are
 * generated from the view schemas (src/lmscope/views/schemas) into generated/views.ts.
 */

export * from "./generated/views";
