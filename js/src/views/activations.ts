/**
 * kind: "activations" — neurons x tokens heatmap (seed, "Neuron Activations").
 *
 * Drawn as one pixel per cell into a canvas that CSS scales up without
 * smoothing, so thousands of neurons over hundreds of tokens stay cheap. Only
 * positive values are coloured (darker = stronger); the scale tops out at the
 * 99th percentile of the positive values (as lmscope's matplotlib heatmap does),
 * larger values show at full colour. The canvas carries data-top (that value).
 * With clusters, a colour
 * strip on the left labels each cluster and lines mark the boundaries.
 * Hovering shows neuron, token and value. The canvas carries data-rows and
 * data-cols; boundaries are .lms-cluster-line elements.
 */

import { BLUES, categorical, positivePercentile, rgbString, sequential } from "../colors";
import { createTooltip, el, frame, hint, tokenChip } from "../dom";
import { displayToken, tokenTitle } from "../tokens";
import { formatNumber } from "../format";
import type { ActivationsData } from "../types";

export function renderActivations(root: HTMLElement, data: ActivationsData): void {
  const body = frame(root, "activations", data);
  const { tokens, values, row_labels: labels, clusters } = data;
  const rows = values.length;
  const cols = tokens.length;
  // Cell size in CSS pixels: wide enough for a label when there are few tokens.
  const cw = Math.max(2, Math.min(18, Math.floor(4000 / Math.max(cols, 1))));
  const rh = Math.max(1, Math.min(12, Math.floor(600 / Math.max(rows, 1))));

  const top = positivePercentile(values, 99);

  const wrap = el("div", "lms-scroll");
  const grid = el("div", "lms-heat");
  wrap.appendChild(grid);
  body.appendChild(wrap);

  // Column labels (vertical) when cells are wide enough to read them.
  const head = el("div", "lms-heat-head");
  head.style.marginLeft = clusters ? "14px" : "0";
  if (cw >= 10) {
    const frag = document.createDocumentFragment();
    for (let j = 0; j < cols; j++) {
      const box = el("div", "lms-vlabel" + (tokens[j].type === "output" ? " lms-output" : ""));
      box.style.width = cw + "px";
      box.title = tokenTitle(tokens[j]);
      box.appendChild(el("span", "", displayToken(tokens[j].token).text));
      frag.appendChild(box);
    }
    head.appendChild(frag);
  }
  grid.appendChild(head);

  const row = el("div", "lms-heat-row");
  grid.appendChild(row);
  if (clusters) {
    const strip = el("div", "lms-cluster-strip");
    let start = 0;
    for (let i = 1; i <= rows; i++) {
      if (i < rows && clusters[i] === clusters[start]) continue;
      const block = el("div", "lms-cluster-block");
      block.style.height = (i - start) * rh + "px";
      block.style.backgroundColor = rgbString(categorical(clusters[start]));
      block.title = "cluster " + clusters[start] + " \u00b7 " + (i - start) + " neurons";
      block.setAttribute("data-cluster", String(clusters[start]));
      strip.appendChild(block);
      start = i;
    }
    row.appendChild(strip);
  }

  const plot = el("div", "lms-heat-plot");
  const canvas = el("canvas", "lms-heat-canvas");
  canvas.width = Math.max(cols, 1);
  canvas.height = Math.max(rows, 1);
  canvas.style.width = cols * cw + "px";
  canvas.style.height = rows * rh + "px";
  canvas.setAttribute("data-rows", String(rows));
  canvas.setAttribute("data-cols", String(cols));
  canvas.setAttribute("data-top", String(top));
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Activations of " + rows + " neurons over " + cols + " tokens");
  plot.appendChild(canvas);
  row.appendChild(plot);

  const ctx = canvas.getContext("2d");
  if (ctx && rows > 0 && cols > 0) {
    const img = ctx.createImageData(cols, rows);
    const px = img.data;
    for (let r = 0; r < rows; r++) {
      const vr = values[r];
      for (let c = 0; c < cols; c++) {
        const v = vr[c];
        if (!(v > 0)) continue; // transparent
        const rgb = sequential(BLUES, 0.08 + 0.92 * Math.min(v / top, 1));
        const o = (r * cols + c) * 4;
        px[o] = rgb[0];
        px[o + 1] = rgb[1];
        px[o + 2] = rgb[2];
        px[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  if (clusters) {
    for (let i = 1; i < rows; i++) {
      if (clusters[i] === clusters[i - 1]) continue;
      const line = el("div", "lms-cluster-line");
      line.style.top = i * rh + "px";
      plot.appendChild(line);
    }
  }
  hint(body, "Each row is a neuron, each column a token; only positive activations are coloured (full colour from the 99th percentile up). Hover for values.");

  const tip = createTooltip(root);
  const cursor = el("div", "lms-heat-cursor");
  cursor.hidden = true;
  cursor.style.width = cw + "px";
  cursor.style.height = rh + "px";
  plot.appendChild(cursor);
  let last = -1;
  canvas.addEventListener("mousemove", (ev: MouseEvent) => {
    const b = canvas.getBoundingClientRect();
    const c = Math.floor(((ev.clientX - b.left) / b.width) * cols);
    const r = Math.floor(((ev.clientY - b.top) / b.height) * rows);
    if (c < 0 || r < 0 || c >= cols || r >= rows) return;
    const key = r * cols + c;
    if (key === last) return;
    last = key;
    cursor.hidden = false;
    cursor.style.left = c * cw + "px";
    cursor.style.top = r * rh + "px";
    const frag = document.createDocumentFragment();
    const headLine = el("div", "lms-tip-head", labels[r]);
    if (clusters) headLine.append(" \u00b7 cluster " + clusters[r]);
    frag.appendChild(headLine);
    const sub = el("div", "lms-tip-sub");
    sub.appendChild(tokenChip(tokens[c].token));
    sub.append(" (position " + c + ", " + tokens[c].type + ") \u00b7 " + formatNumber(values[r][c]));
    frag.appendChild(sub);
    tip.show(cursor, frag);
  });
  canvas.addEventListener("mouseleave", () => {
    last = -1;
    cursor.hidden = true;
    tip.hide();
  });
}
