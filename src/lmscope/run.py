"""The result of generating or analysing text: tokens plus what was captured, as numpy.

A :class:`Run` is plain data (it can be saved and loaded exactly) plus an optional link to
the :class:`~lmscope.scope.Scope` that made it, which the explain steps (saliency, lens)
use when they need the model again.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .views.mixin import HTMLView

if TYPE_CHECKING:  # pragma: no cover
    from .scope import Scope

FORMAT = "lmscope-run"
FORMAT_VERSION = 1
_ARRAYS = ("token_ids", "activations", "hidden_states", "attentions", "candidate_positions", "candidate_ids",
           "candidate_probs", "chosen_probs")

ActivationMode = Literal["seed", "response"]


class RunFileError(ValueError):
    """A saved run that cannot be read (corrupted, truncated or not an lmscope run)."""


@dataclass(eq=False)
class Run(HTMLView):
    """Tokens of one sequence (input then output) and the captures of one forward pass.

    Positions index the whole sequence: ``0 .. n_input-1`` are the input tokens, the rest
    were generated. ``activations[l, n, p]`` is neuron ``n`` of captured layer
    ``activation_layers[l]`` *at position p*, i.e. the model's response to token ``p``.
    The token that position ``p`` *produced* is ``p + 1``; see :meth:`token_activations`.

    A run shows itself (notebook ``_repr_html_``, :meth:`to_html`) as the ``candidates``
    explorable: the text, and for each generated token the top-k alternatives on hover.
    """

    token_ids: np.ndarray                      # (positions,) int64
    tokens: list[str]                          # display string of every token
    n_input: int
    model_name: str = ""
    activations: np.ndarray | None = None      # (captured layers, neurons, positions)
    activation_layers: list[int] = field(default_factory=list)
    hidden_states: np.ndarray | None = None    # (layers + 1, positions, hidden): block inputs/outputs
    attentions: np.ndarray | None = None       # (captured layers, heads, positions, positions)
    attention_layers: list[int] = field(default_factory=list)
    candidate_positions: np.ndarray | None = None  # (steps,): position of each predicted token
    candidate_ids: np.ndarray | None = None    # (steps, k): top-k ids predicted for that position
    candidate_probs: np.ndarray | None = None  # (steps, k)
    candidate_tokens: list[list[str]] = field(default_factory=list)
    chosen_probs: np.ndarray | None = None     # (steps,): probability of the token actually there
    settings: dict[str, Any] = field(default_factory=dict)
    scope: Scope | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ basic views
    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def n_output(self) -> int:
        return self.n_tokens - self.n_input

    @property
    def input_text(self) -> str:
        return "".join(self.tokens[: self.n_input])

    @property
    def output_text(self) -> str:
        return "".join(self.tokens[self.n_input:])

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def token_types(self) -> list[str]:
        """"input" or "output" for every position."""
        return ["input"] * self.n_input + ["output"] * self.n_output

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """Per generated token (masked LMs: per mask token): the token there and the top-k candidates.

        Probabilities are the model's softmax at temperature 1 from the teacher-forced pass,
        whatever sampling settings chose the token.
        """
        if self.candidate_ids is None:
            return []
        out = []
        for step, position in enumerate(self.candidate_positions.tolist()):
            out.append({
                "position": position,
                "token": self.tokens[position],
                "token_id": int(self.token_ids[position]),
                "prob": float(self.chosen_probs[step]),
                "top": [{"token": t, "token_id": int(i), "prob": float(p)} for t, i, p in
                        zip(self.candidate_tokens[step], self.candidate_ids[step], self.candidate_probs[step])],
            })
        return out

    def token_table(self) -> list[dict[str, Any]]:
        """``[{token, token_id, type, position}]``: the token list every view starts from."""
        return [{"token": t, "token_id": int(i), "type": ty, "position": p}
                for p, (t, i, ty) in enumerate(zip(self.tokens, self.token_ids, self.token_types))]

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

    def plot(self, *, k: int = 5, max_steps: int = 40):
        """The candidates as a matplotlib figure; see :func:`lmscope.candidates.plot_candidates`."""
        from .candidates import plot_candidates
        return plot_candidates(self, k=k, max_steps=max_steps)

    # ------------------------------------------------------------------ activations
    def source_positions(self, mode: ActivationMode = "seed") -> np.ndarray:
        """For each token, the position whose activation stands for it.

        ``"response"``: every token reads its own position (how the model responded to it).
        ``"seed"`` (the seed article's convention): input tokens read their own position,
        output tokens read the previous position, the one that produced them; so the last
        input token and the first output token share a value.
        """
        positions = np.arange(self.n_tokens)
        if mode == "response":
            return positions
        if mode == "seed":
            positions[self.n_input:] -= 1
            return positions
        raise ValueError(f"mode={mode!r} is not known; choose 'seed' or 'response'")

    def token_activations(self, mode: ActivationMode = "seed", *, layers: list[int] | None = None) -> np.ndarray:
        """Activations ``(layers, neurons, tokens)`` arranged per token by ``mode`` (see :meth:`source_positions`)."""
        acts = self.require("activations")
        idx = self._layer_rows(layers)
        return acts[idx][:, :, self.source_positions(mode)]

    def _layer_rows(self, layers: list[int] | None) -> list[int]:
        if layers is None:
            return list(range(len(self.activation_layers)))
        missing = [layer for layer in layers if layer not in self.activation_layers]
        if missing:
            raise ValueError(f"layers {missing} were not captured (captured: {self.activation_layers}); "
                             f"generate again with layers=None or layers including them")
        return [self.activation_layers.index(layer) for layer in layers]

    def require(self, name: str) -> np.ndarray:
        """The captured array ``name``, or an error saying how to capture it."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"this run was captured without {name}; pass capture=(..., {name!r}) "
                             f"to generate() or analyze()")
        return value

    def require_scope(self) -> Scope:
        """The scope that made this run, needed by methods that run the model again."""
        if self.scope is None:
            raise ValueError("this run is not attached to a model (it was loaded from disk?); "
                             "attach one with lmscope.load_run(path, scope=lmscope.load(...))")
        return self.scope

    # ------------------------------------------------------------------ explain steps
    def saliency(self, method: str = "grad_x_input", **options: Any):
        """Input saliency of each target token over the tokens before it; see :mod:`lmscope.saliency`."""
        from .saliency import compute_saliency
        return compute_saliency(self, method, **options)

    def neuron_activations(self, **options: Any):
        """FFN neuron activations of one layer as a heatmap view; see :func:`lmscope.activations.neuron_activations`."""
        from .activations import neuron_activations
        return neuron_activations(self, **options)

    def clusters(self, **options: Any):
        """k-means clusters of FFN neurons; see :func:`lmscope.activations.cluster_neurons`."""
        from .activations import cluster_neurons
        return cluster_neurons(self, **options)

    def factors(self, n: int = 2, **options: Any):
        """NMF (or PCA) factors of FFN activations; see :func:`lmscope.factors.factorize`."""
        from .factors import factorize
        return factorize(self, n=n, **options)

    def lens(self, **options: Any):
        """Logit-lens view of how the prediction forms layer by layer; see :mod:`lmscope.lens`."""
        from .lens import logit_lens
        return logit_lens(self, **options)

    def layer_similarity(self, method: str = "cka", **options: Any):
        """Similarity between layers' hidden states (linear CKA, SVCCA); see :mod:`lmscope.similarity`."""
        from .similarity import layer_similarity
        return layer_similarity(self, method=method, **options)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the run to one ``.lms`` file (a zip of numpy arrays and JSON); exact round trip."""
        path = Path(path)
        meta = {
            "format": FORMAT, "version": FORMAT_VERSION, "tokens": self.tokens, "n_input": self.n_input,
            "model_name": self.model_name, "activation_layers": self.activation_layers,
            "attention_layers": self.attention_layers, "candidate_tokens": self.candidate_tokens,
            "settings": self.settings,
        }
        arrays = {name: getattr(self, name) for name in _ARRAYS if getattr(self, name) is not None}
        with open(path, "wb") as handle:
            np.savez_compressed(handle, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        return path

    def __repr__(self) -> str:
        shapes = {n: tuple(getattr(self, n).shape) for n in ("activations", "hidden_states", "attentions")
                  if getattr(self, n) is not None}
        return (f"Run(model={self.model_name!r}, n_input={self.n_input}, n_output={self.n_output}, "
                f"text={self.text[:60]!r}, captured={shapes})")


def load_run(path: str | Path, *, scope: Scope | None = None) -> Run:
    """Read a run written by :meth:`Run.save`; attach ``scope`` to explain it further."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved run at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            arrays = {name: data[name] for name in _ARRAYS if name in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, json.JSONDecodeError) as exc:
        raise RunFileError(f"{path} is not a readable lmscope run ({type(exc).__name__}: {exc}); "
                           "it may be truncated or corrupted: save it again with run.save(path)") from exc
    if meta.get("format") != FORMAT:
        raise RunFileError(f"{path} is not an lmscope run file")
    if meta.get("version") != FORMAT_VERSION:
        raise RunFileError(f"{path} has run format version {meta.get('version')}; this lmscope reads {FORMAT_VERSION}")
    if "token_ids" not in arrays or len(arrays["token_ids"]) != len(meta["tokens"]):
        raise RunFileError(f"{path} is inconsistent: token ids and tokens differ in length")
    return Run(tokens=meta["tokens"], n_input=meta["n_input"], model_name=meta["model_name"],
               activation_layers=meta["activation_layers"], attention_layers=meta["attention_layers"],
               candidate_tokens=meta["candidate_tokens"], settings=meta["settings"], scope=scope, **arrays)
