/**
 * How a token string is shown. Pure functions, no DOM.
 *
 * Whitespace-only tokens become visible markers (␣ for a space, ↵ for a newline,
 * ⇥ for a tab); control characters become their Unicode "control picture";
 * other tokens keep their spaces (rendered with white-space: pre-wrap).
 */

import type { Token } from "./generated/views";

export type { Token };

export interface TokenDisplay {
  /** What to put in textContent. */
  text: string;
  /** The token is whitespace (or invisible characters) only. */
  whitespace: boolean;
  /** The token is the empty string. */
  empty: boolean;
  /** How many line breaks to place after the token (capped at 2). */
  newlines: number;
}

const INVISIBLE = /^[\s\u200b-\u200d\u2060\ufeff]+$/;

function pictureOf(ch: string, visibleSpaces: boolean): string {
  switch (ch) {
    case "\n":
      return "\u21b5"; // downwards arrow with corner leftwards
    case "\t":
      return "\u21e5"; // rightwards arrow to bar
    case "\r":
      return "\u240d"; // symbol for carriage return
    case " ":
      return visibleSpaces ? "\u2423" : " "; // open box
    case "\u00a0":
      return visibleSpaces ? "\u237d" : "\u00a0"; // shouldered open box
    case "\u007f":
      return "\u2421"; // ␡
  }
  const code = ch.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code); // control pictures U+2400..U+241F
  if (visibleSpaces && INVISIBLE.test(ch)) return "\u00b7"; // middle dot for other (zero-width) spaces
  return ch;
}

/** The display form of a token string. */
export function displayToken(token: string): TokenDisplay {
  if (token.length === 0) return { text: "\u2205", whitespace: false, empty: true, newlines: 0 };
  const whitespace = INVISIBLE.test(token);
  let text = "";
  let newlines = 0;
  for (let i = 0; i < token.length; i++) {
    const ch = token[i];
    if (ch === "\r" && token[i + 1] === "\n") continue; // CRLF shows as one ↵
    if (ch === "\n") newlines++;
    text += pictureOf(ch, whitespace);
  }
  return { text, whitespace, empty: false, newlines: Math.min(newlines, 2) };
}

/** Tooltip text describing a token, with its exact string JSON-quoted. */
export function tokenTitle(t: Token): string {
  return JSON.stringify(t.token) + " \u00b7 id " + t.token_id + " \u00b7 position " + t.position + " \u00b7 " + t.type;
}

/** Index of the first output token (where a sparkline's shaded part starts); tokens.length if there is none. */
export function firstOutputIndex(tokens: readonly Token[]): number {
  for (let i = 0; i < tokens.length; i++) if (tokens[i].type === "output") return i;
  return tokens.length;
}
