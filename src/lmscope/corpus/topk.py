"""Streaming top-k: the ``k`` largest values of every column over many batches, in bounded memory."""

from __future__ import annotations

import numpy as np
import torch


class TopK:
    """The ``k`` largest values per column seen so far, with their global token indices, kept incrementally.

    Once ``k`` rows have been seen, a batch only touches the columns where some value beats
    the current k-th best: on a long corpus few do, so most of the sorting is skipped.
    """

    def __init__(self, k: int, columns: int, device: torch.device):
        self.k = k
        self.seen = 0
        self.values = torch.full((k, columns), -torch.inf, device=device)
        self.index = torch.full((k, columns), -1, dtype=torch.long, device=device)

    def update(self, rows: torch.Tensor, gidx: torch.Tensor, counted: int | None = None) -> None:
        """Merge ``rows`` (positions, columns) whose global indices are ``gidx`` (positions,).

        Rows that must not count may be passed as ``-inf`` (with ``counted`` the number of
        the others): they never enter the top k, so no row has to be copied out.
        """
        rows = rows.float()
        take = min(self.k, rows.shape[0])
        full = self.seen >= self.k
        self.seen += rows.shape[0] if counted is None else counted
        if full:
            hit = (rows > self.values[-1]).any(dim=0).nonzero().squeeze(1)
            if not hit.numel():
                return
            if hit.numel() < rows.shape[1] // 2:
                values, where = rows.index_select(1, hit).topk(take, dim=0)
                best, pick = torch.cat([self.values[:, hit], values]).topk(self.k, dim=0)
                self.index[:, hit] = torch.cat([self.index[:, hit], gidx[where]]).gather(0, pick)
                self.values[:, hit] = best
                return
        values, where = rows.topk(take, dim=0)
        best, pick = torch.cat([self.values, values]).topk(self.k, dim=0)
        self.index = torch.cat([self.index, gidx[where]]).gather(0, pick)
        self.values = best

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Values and global indices, strongest first; -inf and -1 where fewer rows counted."""
        values = self.values.cpu().numpy().astype(np.float32)
        index = self.index.cpu().numpy().astype(np.int64)
        index[np.isneginf(values)] = -1
        return values, index
