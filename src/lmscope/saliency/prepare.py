"""From a record and a call's options to a :class:`~lmscope.saliency.engine.Problem`.

What is explained (targets, the token each is explained as, the foil) is resolved here with
the shared rules of :mod:`lmscope.core`: positions by ``resolve_positions`` (negative counts
from the end, as everywhere), tokens by ``token_id`` (the one resolver with the multi-token
error). What a method needs from the model is checked here too, before any work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..core.checks import resolve_positions
from ..core.tokens import token_id
from .engine import Problem
from .registry import Method, without

if TYPE_CHECKING:  # pragma: no cover
    from ..core.record import ModelLink, Record


def default_targets(run: Record, scope: ModelLink) -> list[int]:
    """Generated tokens (causal runs that generated), mask positions (masked LMs), else every position."""
    if run.candidate_positions is not None and len(run.candidate_positions):
        return [int(p) for p in run.candidate_positions]
    if scope.is_masked:
        return list(range(run.n_tokens))
    if run.n_output > 0:
        return list(range(run.n_input, run.n_tokens))
    return list(range(1, run.n_tokens))


def target_positions(run: Record, scope: ModelLink, targets: Any) -> np.ndarray:
    """``targets=`` as sorted unique positions (None: :func:`default_targets`); negative counts from the end.

    A next-token head scores a target from the token before it, so position 0 is refused
    there (whether the model attends both ways or not).
    """
    if targets is None:
        targets = default_targets(run, scope)
    shifted = not scope.is_masked
    return resolve_positions(targets, run.n_tokens, name="targets", first=1 if shifted else 0,
                             why_first="position 0 has no token before it" if shifted else "")


def explained_ids(run: Record, scope: ModelLink, targets: np.ndarray) -> list[int]:
    """The token each target is explained as: the token there, or for a masked LM's mask
    token the model's top prediction at that position."""
    ids = [int(run.token_ids[t]) for t in targets]
    mask_id = getattr(scope.tokenizer, "mask_token_id", None)
    if not scope.is_masked or mask_id is None:
        return ids
    masked = [i for i, t in enumerate(targets) if ids[i] == mask_id]
    if not masked:
        return ids
    known = {}
    if run.candidate_positions is not None:
        known = {int(p): int(row[0]) for p, row in zip(run.candidate_positions, run.candidate_ids)}
    missing = [int(targets[i]) for i in masked if int(targets[i]) not in known]
    if missing:
        with torch.no_grad():
            logits = scope.model(input_ids=torch.as_tensor(run.token_ids, device=scope.device)[None]).logits[0]
        known.update({p: int(logits[p].argmax()) for p in missing})
    for i in masked:
        ids[i] = known[int(targets[i])]
    return ids


def make_problem(run: Record, targets: Any = None, *, score: str = "logit", contrast: int | str | None = None
                 ) -> Problem:
    """Resolve targets and contrast against ``run`` and its model, and build the :class:`Problem`."""
    scope = run.require_scope()
    scope.anatomy.require_head("saliency")
    positions = target_positions(run, scope, targets)
    device = scope.device
    target_ids = torch.as_tensor(explained_ids(run, scope, positions), dtype=torch.long, device=device)
    foil_ids = None
    if contrast is not None:
        foil_ids = torch.full_like(target_ids, token_id(scope.tokenizer, contrast, "contrast"))
    ids = torch.as_tensor(run.token_ids, dtype=torch.long, device=device)
    return Problem(scope=scope, ids=ids, targets=positions, target_ids=target_ids, foil_ids=foil_ids, score=score,
                   attentions=run.attentions, attention_layers=list(run.attention_layers))


def check_needs(method: Method, scope: ModelLink) -> None:
    """Clear errors, before any work, when the installation or the model cannot give what ``method`` needs."""
    if "captum" in method.needs:
        require_captum(method.name)
    if "gradients" in method.needs:
        check_gradients(scope, method.name)


def require_captum(method: str) -> None:
    """A clear error when the optional Captum package is missing."""
    try:
        import captum.attr  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"saliency method {method!r} uses Captum, an optional dependency; install it with "
                          "pip install 'lmscope[captum]' (or pip install captum), or use a method that needs no "
                          f"Captum: {', '.join(without('captum'))}") from exc


def check_gradients(scope: ModelLink, method: str) -> None:
    """A clear error, before any work, when the model cannot give gradients."""
    model = scope.model
    quantized = bool(getattr(model, "is_quantized", False)) or getattr(model, "hf_quantizer", None) is not None
    dtypes = {p.dtype for p in model.parameters()}
    integer = sorted(str(d) for d in dtypes if not d.is_floating_point)
    if quantized or integer:
        what = f"integer weights ({', '.join(integer)})" if integer else "quantized weights"
        raise ValueError(f"method={method!r} needs gradients, but {scope.name} has {what}; load it in floating "
                         "point (lmscope.load(model_id, dtype='float32') or 'bfloat16'), or use a method that "
                         f"needs no gradients: {', '.join(without('gradients'))}")
