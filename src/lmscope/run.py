"""The result of generating or analysing text: a data record plus the explain steps as methods.

A :class:`Run` is a :class:`~lmscope.core.record.Record` (plain data, saved and loaded
exactly) plus an optional link to the :class:`~lmscope.scope.Scope` that made it, which the
explain steps (saliency, lens) use when they need the model again. Each explain method is
the analysis function itself, bound to the run: ``help(run.lens)`` shows the lens's own
parameters and defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .activations import cluster_neurons, neuron_activations
from .candidates import plot_candidates
from .core.record import ModelLink, Record, RunFileError
from .core.results import delegate
from .factors import factorize
from .lens import logit_lens
from .saliency import compute_saliency
from .similarity import layer_similarity
from .views.mixin import HTMLView

__all__ = ["Run", "RunFileError", "load_run"]


@dataclass(eq=False, repr=False)
class Run(Record, HTMLView):
    """Tokens of one sequence (input then output), the captures of one forward pass, and the explain steps.

    A run shows itself (notebook ``_repr_html_``, :meth:`to_html`) as the ``candidates``
    explorable: the text, and for each generated token the top-k alternatives on hover.
    """

    saliency = delegate(compute_saliency)
    neuron_activations = delegate(neuron_activations)
    clusters = delegate(cluster_neurons)
    factors = delegate(factorize)
    lens = delegate(logit_lens)
    layer_similarity = delegate(layer_similarity)
    plot = delegate(plot_candidates)

    def view_data(self) -> dict[str, Any]:
        """The ``candidates`` explorable: the text, and per generated (or masked) token the top-k alternatives.

        A run without candidates (text analysed by a causal LM) shows the plain text with
        no steps, and its caption says why.
        """
        steps = [{"position": c["position"], "chosen": {k: c[k] for k in ("token", "token_id", "prob")},
                  "top": c["top"]} for c in self.candidates]
        if steps:
            what = "generated token" if all(s["position"] >= self.n_input for s in steps) else "mask token"
            caption = (f"Hover a {what} to see the model's top {len(steps[0]['top'])} candidates "
                       "(softmax at temperature 1 from the teacher-forced pass).")
        else:
            caption = ("No candidates were captured: this text was analysed, not generated "
                       "(generate() records the alternatives at each step).")
        title = f"{self.model_name or 'lmscope run'}: {self.n_input} input, {self.n_output} generated tokens"
        return {"kind": "candidates", "tokens": self.token_table(), "steps": steps, "title": title,
                "caption": caption}

    def __repr__(self) -> str:
        shapes = {n: tuple(getattr(self, n).shape) for n in ("activations", "hidden_states", "attentions")
                  if getattr(self, n) is not None}
        return (f"Run(model={self.model_name!r}, n_input={self.n_input}, n_output={self.n_output}, "
                f"text={self.text[:60]!r}, captured={shapes})")


def load_run(path: str | Path, *, scope: ModelLink | None = None) -> Run:
    """Read a run written by :meth:`Run.save`; attach ``scope`` to explain it further."""
    return Run.load(path, scope=scope)
