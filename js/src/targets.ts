/**
 * Selecting one of several "target" token spans by hover, tap, focus or arrow
 * keys, with one delegated listener per event type on the container (not one
 * per token), so a view with thousands of tokens stays cheap to build.
 */

import { closestIn, rowOf } from "./dom";

export function bindTargets(
  container: HTMLElement,
  targetSpans: HTMLElement[],
  select: (row: number) => void,
): void {
  targetSpans.forEach((span, row) => {
    span.classList.add("lms-target");
    span.setAttribute("data-row", String(row));
    span.tabIndex = row === 0 ? 0 : -1; // one tab stop; arrows move between targets
    span.setAttribute("role", "button");
  });
  const pick = (ev: Event): void => {
    const row = rowOf(closestIn(ev.target, ".lms-target", container));
    if (row >= 0) select(row);
  };
  container.addEventListener("mouseover", pick);
  container.addEventListener("click", pick);
  container.addEventListener("focusin", pick);
  container.addEventListener("keydown", (ev: KeyboardEvent) => {
    const row = rowOf(closestIn(ev.target, ".lms-target", container));
    if (row < 0) return;
    let next = row;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") next = Math.min(row + 1, targetSpans.length - 1);
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") next = Math.max(row - 1, 0);
    else if (ev.key === "Home") next = 0;
    else if (ev.key === "End") next = targetSpans.length - 1;
    else return;
    ev.preventDefault();
    if (next !== row) {
      targetSpans[row].tabIndex = -1;
      targetSpans[next].tabIndex = 0;
      targetSpans[next].focus();
    }
  });
}
