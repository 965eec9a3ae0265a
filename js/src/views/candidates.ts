/**
 * kind: "candidates" — for each generated token, the top-k alternatives the
 * model weighed, with probability bars. Hovering (or tapping, focusing) a
 * generated token shows its step in the panel under the text; the first step
 * is selected at start. Generated tokens carry data-value (the chosen token's
 * probability); panel rows carry data-prob.
 */

import { el, frame, hint, renderTokens, tokenChip } from "../dom";
import { formatProb } from "../format";
import { bindTargets } from "../targets";
import type { Candidate, CandidatesData } from "../types";

export function renderCandidates(root: HTMLElement, data: CandidatesData): void {
  const body = frame(root, "candidates", data);
  const { tokens, steps } = data;

  const text = el("div", "lms-text");
  body.appendChild(text);
  const { spans } = renderTokens(text, tokens);
  const panel = el("div", "lms-panel");
  panel.setAttribute("aria-live", "polite");
  body.appendChild(panel);
  if (steps.length === 0) {
    hint(body, "No generation steps to show.");
    return;
  }
  hint(body, "Hover or tap a generated token to see the alternatives the model considered.");
  for (let s = 0; s < steps.length; s++) spans[steps[s].position].setAttribute("data-value", String(steps[s].chosen.prob));

  let current = -1;

  function barRow(c: Candidate, pmax: number, chosen: boolean, note?: string): HTMLElement {
    const row = el("div", "lms-bar-row" + (chosen ? " lms-chosen" : ""));
    row.setAttribute("data-prob", String(c.prob));
    const chip = tokenChip(c.token);
    chip.title = JSON.stringify(c.token) + " \u00b7 id " + c.token_id;
    row.appendChild(chip);
    const track = el("span", "lms-bar-track");
    const bar = el("span", "lms-bar");
    bar.style.width = (pmax > 0 ? (100 * c.prob) / pmax : 0).toFixed(1) + "%";
    track.appendChild(bar);
    row.append(track, el("span", "lms-bar-val", formatProb(c.prob)));
    row.appendChild(el("span", "lms-note", note || ""));
    return row;
  }

  function select(s: number): void {
    if (s === current || s < 0 || s >= steps.length) return;
    if (current >= 0) spans[steps[current].position].classList.remove("lms-selected");
    current = s;
    const step = steps[s];
    spans[step.position].classList.add("lms-selected");
    root.setAttribute("data-selected", String(step.position));
    panel.textContent = "";
    const head = el("div", "lms-tip-head");
    head.append("Position " + step.position + ": chose ");
    head.appendChild(tokenChip(step.chosen.token));
    head.append(" (" + formatProb(step.chosen.prob) + ")");
    panel.appendChild(head);
    let pmax = step.chosen.prob;
    for (const c of step.top) if (c.prob > pmax) pmax = c.prob;
    const list = el("div", "lms-bars");
    let found = false;
    for (const c of step.top) {
      const isChosen = c.token_id === step.chosen.token_id;
      found = found || isChosen;
      list.appendChild(barRow(c, pmax, isChosen));
    }
    if (!found) list.appendChild(barRow(step.chosen, pmax, true, "chosen, outside the top " + step.top.length));
    panel.appendChild(list);
  }

  bindTargets(
    text,
    steps.map((st) => spans[st.position]),
    select,
  );
  select(0);
}
