"""Captum-backed methods over the input embeddings: DeepLift, GradientShap, LIME, KernelShap.

Captum (``pip install 'lmscope[captum]'``) is optional and imported only when one of these
runs. Each target is attributed by its own Captum call over the positions it covers;
the model is wrapped as ``embeddings -> target score`` through the same engine as the
built-in methods (the forward pass stops after the last block, only the target's logits
are projected). LIME and KernelShap treat each earlier token as one feature that is
present (its embedding) or absent (the baseline embedding), the token-level scheme of
Captum's ``LLMAttribution``, applied to every earlier token, generated ones included.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.cancel import checkpoint
from .engine import Problem, aggregate, place
from .gradients import Baseline, Token, baseline_embeddings
from .registry import Raw, register


class _TargetScore(nn.Module):
    """``embeddings (batch, L, hidden) -> (batch,)``: the score of one target, as a module for Captum."""

    def __init__(self, problem: Problem, row: int):
        super().__init__()
        self.model = problem.model          # registered so module-walking methods (DeepLift) see it
        self.problem = problem
        self.row = np.array([row])

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.problem.read_scores(self.problem.hidden(embeddings), self.row)[:, 0]


def _per_target(problem: Problem, baseline: Any, attribute) -> tuple[np.ndarray, list[torch.Tensor]]:
    """Run ``attribute(module, inputs, baselines, length)`` for each target; (matrix, raw attributions)."""
    base = problem.base_embeddings()
    reference = baseline_embeddings(problem, baseline)
    out = []
    for row in range(len(problem.targets)):
        checkpoint()        # the surrogate fits run outside the model's blocks, where no hook can stop them
        length = problem.length(np.array([row]))
        module = _TargetScore(problem, row)
        with warnings.catch_warnings():
            # Captum announces that it sets requires_grad and hooks: both are expected here.
            warnings.filterwarnings("ignore", message="Input Tensor .* did not already require gradients")
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            out.append(attribute(module, base[:, :length], reference[:, :length], length).detach()[0])
    return np.zeros((len(problem.targets), problem.n)), out


@contextmanager
def _seeded(random_state: int | None) -> Iterator[None]:
    """Seed torch's and numpy's global generators (Captum samples from both) and restore them after."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    numpy_state = np.random.get_state()
    with torch.random.fork_rng(devices=devices):
        if random_state is not None:
            torch.manual_seed(random_state)
            np.random.seed(random_state)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)


@register("deeplift", needs={"model", "gradients", "captum"}, cost=20)
def deeplift(problem: Problem, *, aggregation: str = "l2", score: str = "logit", contrast: Token = None,
             baseline: Baseline = "zeros") -> Raw:
    """Captum's DeepLift on the input embeddings (rescale rule where Captum knows the nonlinearity)."""
    from captum.attr import DeepLift

    def attribute(module, inputs, baselines, _length):
        return DeepLift(module).attribute(inputs, baselines=baselines)

    matrix, attributions = _per_target(problem, baseline, attribute)
    for row, vectors in enumerate(attributions):
        place(matrix, row, aggregate(vectors, aggregation), problem.spans[row])
    return Raw(matrix, signed=aggregation == "sum")


@register("gradient_shap", needs={"model", "gradients", "captum"}, cost=8)
def gradient_shap(problem: Problem, *, aggregation: str = "l2", score: str = "logit", contrast: Token = None,
                  baseline: Baseline = "zeros", n_samples: int = 20, stdevs: float = 0.0,
                  random_state: int | None = 0) -> Raw:
    """Captum's GradientShap on the input embeddings: expected gradients at random points between baseline and input."""
    from captum.attr import GradientShap

    def attribute(module, inputs, baselines, _length):
        return GradientShap(module).attribute(inputs, baselines=baselines, n_samples=n_samples, stdevs=stdevs)

    with _seeded(random_state):
        matrix, attributions = _per_target(problem, baseline, attribute)
    for row, vectors in enumerate(attributions):
        place(matrix, row, aggregate(vectors, aggregation), problem.spans[row])
    return Raw(matrix, signed=aggregation == "sum")


def _surrogate(problem: Problem, method_cls, *, baseline: Any, n_samples: int, batch_size: int,
               random_state: int | None) -> Raw:
    """LIME / KernelShap with one feature per earlier token."""

    def attribute(module, inputs, baselines, length):
        mask = torch.arange(length, device=inputs.device)[None, :, None].expand(1, length, inputs.shape[-1])
        return method_cls(module).attribute(inputs, baselines=baselines, feature_mask=mask, n_samples=n_samples,
                                            perturbations_per_eval=batch_size)

    with _seeded(random_state), torch.no_grad():
        matrix, attributions = _per_target(problem, baseline, attribute)
    for row, values in enumerate(attributions):
        place(matrix, row, values[:, 0], problem.spans[row])      # one value per token feature
    return Raw(matrix, signed=True)


@register("lime", needs={"model", "captum"}, cost=60)
def lime(problem: Problem, *, score: str = "logit", contrast: Token = None, baseline: Baseline = "zeros",
         n_samples: int = 100, batch_size: int = 16, random_state: int | None = 0) -> Raw:
    """Captum's LIME with each earlier token a feature (absent = baseline embedding); signed."""
    from captum.attr import Lime

    return _surrogate(problem, Lime, baseline=baseline, n_samples=n_samples, batch_size=batch_size,
                      random_state=random_state)


@register("kernel_shap", needs={"model", "captum"}, cost=60)
def kernel_shap(problem: Problem, *, score: str = "logit", contrast: Token = None, baseline: Baseline = "zeros",
                n_samples: int = 100, batch_size: int = 16, random_state: int | None = 0) -> Raw:
    """Captum's KernelShap with each earlier token a feature (absent = baseline embedding); signed."""
    from captum.attr import KernelShap

    return _surrogate(problem, KernelShap, baseline=baseline, n_samples=n_samples, batch_size=batch_size,
                      random_state=random_state)
