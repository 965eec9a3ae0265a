"""Erasure (occlusion): how much a target's score drops when one earlier token is taken away.

Each perturbed input (position ``p`` replaced by a baseline embedding, or dropped) runs
forward once and scores *every* target from that one pass, so the cost is one forward
pass per position, batched, whatever the number of targets.
"""

from __future__ import annotations

import numpy as np
import torch

from .engine import Problem
from .gradients import Baseline, Token, baseline_embeddings
from .registry import Raw, register


@register("erasure", needs={"model"}, cost=1)
def erasure(problem: Problem, *, mode: str = "replace", baseline: Baseline = "zeros", score: str = "logprob",
            contrast: Token = None, batch_size: int = 16) -> Raw:
    """Score change (log-probability by default) of each target when each earlier token is erased.

    ``mode="replace"`` puts the ``baseline`` embedding (zeros by default, or a special
    token's embedding: ``"pad"``, ``"unk"``, a token id) at that position;
    ``mode="drop"`` removes the token from the sequence. Positive: the token supported
    the target. Signed. ``batch_size`` perturbed inputs run per forward pass.
    """
    rows = np.arange(len(problem.targets))
    length = problem.length(rows)
    spans = problem.spans
    base = problem.base_embeddings()[:, :length]
    reference = baseline_embeddings(problem, baseline)[:, :length] if mode == "replace" else None
    matrix = np.zeros((len(rows), problem.n))
    with torch.no_grad():
        original = problem.read_scores(problem.hidden(base), rows)[0].float()        # (k,)
        positions = np.arange(int(spans.max()))
        for start in range(0, len(positions), batch_size):
            erased = positions[start:start + batch_size]
            if mode == "replace":
                inputs = base.repeat(len(erased), 1, 1)
                index = torch.arange(len(erased), device=base.device)
                where = torch.as_tensor(erased, device=base.device)
                inputs[index, where] = reference[0, where]
                scores = problem.read_scores(problem.hidden(inputs), rows).float()       # (batch, k)
                valid = np.ones((len(erased), len(rows)), dtype=bool)
            else:
                scores, valid = _dropped_scores(problem, erased, rows, length)
            change = (original[None] - scores).cpu().numpy()
            covered = erased[:, None] < spans[None, rows]
            matrix[rows[None, :].repeat(len(erased), 0)[covered & valid],
                   erased[:, None].repeat(len(rows), 1)[covered & valid]] = change[covered & valid]
    return Raw(matrix, signed=True)


def _dropped_scores(problem: Problem, erased: np.ndarray, rows: np.ndarray, length: int
                    ) -> tuple[torch.Tensor, np.ndarray]:
    """Scores of every target with one token removed per batch row; ``valid`` is False where
    the target itself was removed or nothing is left before it."""
    ids = problem.ids[:length]
    keep = [torch.cat([ids[:p], ids[p + 1:]]) for p in erased]
    hidden = problem.hidden(ids=torch.stack(keep))                                 # (batch, L-1, hidden)
    reads = problem.reads[rows][None, :] - (erased[:, None] <= problem.reads[rows][None, :])
    valid = (reads >= 0) & (erased[:, None] != problem.targets[rows][None, :])
    index = torch.as_tensor(np.clip(reads, 0, None), device=hidden.device)
    batch = torch.arange(len(erased), device=hidden.device)[:, None]
    return problem.scores(hidden[batch, index], rows).float(), valid
