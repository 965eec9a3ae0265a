/**
 * kind: "lens" — the logit-lens rankings heatmap (seed, "Evolution of Hidden
 * States"). Rows are layers, columns the predicted (output) tokens; each cell
 * shows the rank of that token after that layer, coloured on a log scale
 * (rank 1 darkest). Hovering or tapping a cell shows the top predictions at
 * that layer for that position. Cells carry data-rank, data-layer, data-target.
 */

import { PURPLES, logRankScale, rgbString, sequential, textColorOn } from "../colors";
import { closestIn, createTooltip, el, frame, hint, tokenChip } from "../dom";
import { formatProb, formatRank } from "../format";
import { tokenTitle } from "../tokens";
import type { LensData } from "../types";

export function renderLens(root: HTMLElement, data: LensData): void {
  const body = frame(root, "lens", data);
  const { tokens, targets, layers, ranks, probs, top } = data;

  let maxRank = 2;
  for (const row of ranks) for (const r of row) if (r > maxRank) maxRank = r;

  const scroller = el("div", "lms-scroll");
  const table = el("table", "lms-grid lms-lens");
  const thead = el("thead");
  const hrow = el("tr");
  hrow.appendChild(el("th", "lms-corner", "layer"));
  for (const t of targets) {
    const th = el("th", "lms-col");
    const chip = tokenChip(tokens[t].token, "lms-token lms-output");
    chip.title = tokenTitle(tokens[t]);
    th.appendChild(chip);
    hrow.appendChild(th);
  }
  thead.appendChild(hrow);
  table.appendChild(thead);

  const tbody = el("tbody");
  const frag = document.createDocumentFragment();
  for (let l = 0; l < layers.length; l++) {
    const tr = el("tr");
    tr.appendChild(el("th", "lms-rowlabel", layers[l]));
    for (let j = 0; j < targets.length; j++) {
      const r = ranks[l][j];
      const c = sequential(PURPLES, logRankScale(r, maxRank));
      const td = el("td", "lms-cell", formatRank(r));
      td.style.backgroundColor = rgbString(c);
      td.style.color = textColorOn(c);
      td.setAttribute("data-rank", String(r));
      td.setAttribute("data-layer", String(l));
      td.setAttribute("data-target", String(j));
      if (r === 1) td.classList.add("lms-top1");
      tr.appendChild(td);
    }
    frag.appendChild(tr);
  }
  tbody.appendChild(frag);
  table.appendChild(tbody);
  scroller.appendChild(table);
  body.appendChild(scroller);
  hint(body, "Rank of each produced token after every layer (1 = top prediction). Hover or tap a cell for that layer's top predictions.");

  const tip = createTooltip(root);
  let shown: HTMLElement | null = null;

  function content(l: number, j: number): Node {
    const frag = document.createDocumentFragment();
    const t = targets[j];
    const head = el("div", "lms-tip-head");
    head.append(layers[l] + " \u2192 ");
    head.appendChild(tokenChip(tokens[t].token));
    head.append(" (position " + t + ")");
    frag.appendChild(head);
    frag.appendChild(el("div", "lms-tip-sub", "rank " + ranks[l][j] + " \u00b7 p = " + formatProb(probs[l][j])));
    const preds = top[l][j];
    let pmax = 0;
    for (const p of preds) if (p.prob > pmax) pmax = p.prob;
    const list = el("div", "lms-bars");
    for (const p of preds) {
      const row = el("div", "lms-bar-row" + (p.token === tokens[t].token ? " lms-chosen" : ""));
      row.appendChild(tokenChip(p.token));
      const track = el("span", "lms-bar-track");
      const bar = el("span", "lms-bar");
      bar.style.width = (pmax > 0 ? (100 * p.prob) / pmax : 0).toFixed(1) + "%";
      track.appendChild(bar);
      row.append(track, el("span", "lms-bar-val", formatProb(p.prob)), el("span", "lms-note"));
      list.appendChild(row);
    }
    frag.appendChild(list);
    return frag;
  }

  const showCell = (ev: Event): void => {
    const td = closestIn(ev.target, "td.lms-cell", table);
    if (!td || td === shown) return;
    if (shown) shown.classList.remove("lms-hover");
    shown = td;
    td.classList.add("lms-hover");
    tip.show(td, content(Number(td.getAttribute("data-layer")), Number(td.getAttribute("data-target"))));
  };
  table.addEventListener("mouseover", showCell);
  table.addEventListener("click", showCell);
  table.addEventListener("mouseleave", () => {
    if (shown) shown.classList.remove("lms-hover");
    shown = null;
    tip.hide();
  });
}
