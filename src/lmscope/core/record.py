"""The data record every analysis reads: tokens, ids, captures and the position conventions.

A :class:`Record` is what one forward pass over one sequence leaves behind, as numpy. A
:class:`~lmscope.run.Run` is a record plus convenience methods; a corpus document is a
record too. Analyses take a record, so they run on either, and they need nothing above
this layer: the model, when an analysis needs it again, is ``record.require_scope()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import numpy as np

from . import archive
from .checks import MODE, resolve_layers

FORMAT = "lmscope-run"
FORMAT_VERSION = 1
ARRAYS = ("token_ids", "activations", "hidden_states", "attentions", "candidate_positions", "candidate_ids",
          "candidate_probs", "chosen_probs")
META = ("tokens", "n_input", "model_name", "activation_layers", "attention_layers", "candidate_tokens", "settings")
# Written by every save, optional when reading: files saved before texts were stored lack them.
TEXT_META = ("decoded_input", "decoded_output")
CAPTURES = ("activations", "hidden_states", "attentions")

ActivationMode = Literal["seed", "response"]
R = TypeVar("R", bound="Record")


class ModelLink(Protocol):
    """What analyses read of the loaded model (a :class:`~lmscope.scope.Scope` is one).

    Typing against this instead of ``Scope`` keeps the analyses below the layer that loads
    models: they never import ``scope.py``, not even for type checking.
    """

    model: Any
    tokenizer: Any
    anatomy: Any
    name: str

    @property
    def device(self) -> Any: ...

    @property
    def n_layers(self) -> int: ...

    @property
    def is_masked(self) -> bool: ...

    @property
    def context_length(self) -> int | None: ...


class RunFileError(archive.ArchiveError):
    """A saved run that cannot be read (corrupted, truncated or not an lmscope run)."""


@dataclass(eq=False)
class Record:
    """Tokens of one sequence (input then output) and the captures of one forward pass.

    Positions index the whole sequence: ``0 .. n_input-1`` are the input tokens, the rest
    were generated. ``activations[l, n, p]`` is neuron ``n`` of captured layer
    ``activation_layers[l]`` *at position p*, i.e. the model's response to token ``p``.
    The token that position ``p`` *produced* is ``p + 1``; see :meth:`token_activations`.

    ``tokens`` are display strings, one per token (a partial character shows its bytes,
    ``<0xE6>``); ``decoded_input`` / ``decoded_output`` are the text as the tokenizer decodes
    it, stored when the record is made (a record has no tokenizer), and what
    :attr:`input_text`, :attr:`output_text` and :attr:`text` return (see
    :func:`lmscope.core.tokens.decoded_texts`).
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
    decoded_input: str | None = None           # tokenizer.decode of the input part (None: join display strings)
    decoded_output: str | None = None          # the rest of the decoded text, so input + output == text
    scope: ModelLink | None = field(default=None, repr=False)   # the Scope that made it, to run the model again

    # ------------------------------------------------------------------ tokens
    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def n_output(self) -> int:
        return self.n_tokens - self.n_input

    @property
    def input_text(self) -> str:
        """The input as the tokenizer decodes it (a character split at the boundary belongs to the output).

        Records without stored texts (files saved by older versions) join the display
        strings instead, which is the text only when :mod:`lmscope.core.tokens` says so.
        """
        if self.decoded_input is not None:
            return self.decoded_input
        return "".join(self.tokens[: self.n_input])

    @property
    def output_text(self) -> str:
        """The generated text as the tokenizer decodes it; ``input_text + output_text == text``."""
        if self.decoded_output is not None:
            return self.decoded_output
        return "".join(self.tokens[self.n_input:])

    @property
    def text(self) -> str:
        """The whole sequence as ``tokenizer.decode(token_ids, skip_special_tokens=False)`` gives it."""
        return self.input_text + self.output_text

    @property
    def token_types(self) -> list[str]:
        """"input" or "output" for every position."""
        return ["input"] * self.n_input + ["output"] * self.n_output

    def token_table(self) -> list[dict[str, Any]]:
        """``[{token, token_id, type, position}]``: the token list every view starts from."""
        return token_table(self.tokens, self.token_ids, self.n_input)

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

    # ------------------------------------------------------------------ position conventions
    def source_positions(self, mode: ActivationMode = "seed") -> np.ndarray:
        """For each token, the position whose activation stands for it.

        ``"response"``: every token reads its own position (how the model responded to it).
        ``"seed"`` (the seed article's convention): input tokens read their own position,
        output tokens read the previous position, the one that produced them; so the last
        input token and the first output token share a value.
        """
        MODE.check("mode", mode)
        positions = np.arange(self.n_tokens)
        if mode == "seed":
            positions[self.n_input:] -= 1
        return positions

    def token_activations(self, mode: ActivationMode = "seed", *, layers: list[int] | None = None) -> np.ndarray:
        """Activations ``(layers, neurons, tokens)`` arranged per token by ``mode`` (see :meth:`source_positions`)."""
        acts = self.require("activations")
        return acts[self.layer_rows(layers)][:, :, self.source_positions(mode)]

    def captured_layers(self, layers: Any, *, name: str = "layers") -> list[int]:
        """``layers=`` resolved against the model and what this record captured (None: every captured layer)."""
        self.require("activations")
        n_model = self.scope.n_layers if self.scope is not None else max(self.activation_layers) + 1
        return resolve_layers(layers, n_model, name=name, captured=self.activation_layers)

    def layer_rows(self, layers: list[int] | None) -> list[int]:
        """Rows of :attr:`activations` holding ``layers`` (None: all)."""
        if layers is None:
            return list(range(len(self.activation_layers)))
        return [self.activation_layers.index(layer) for layer in self.captured_layers(layers)]

    def require(self, name: str) -> np.ndarray:
        """The captured array ``name``, or an error saying how to capture it."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"this run was captured without {name}; pass capture=(..., {name!r}) "
                             f"to generate() or analyze()")
        return value

    def require_scope(self) -> ModelLink:
        """The scope that made this record, needed by analyses that run the model again."""
        if self.scope is None:
            raise ValueError("this run is not attached to a model (it was loaded from disk?); "
                             "attach one with lmscope.load_run(path, scope=lmscope.load(...))")
        return self.scope

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the record to one ``.lms`` file (a zip of numpy arrays and JSON); exact round trip."""
        meta = {"format": FORMAT, "version": FORMAT_VERSION,
                **{name: getattr(self, name) for name in META + TEXT_META}}
        arrays = {name: getattr(self, name) for name in ARRAYS if getattr(self, name) is not None}
        return archive.write(path, meta, arrays)

    @classmethod
    def load(cls: type[R], path: str | Path, *, scope: ModelLink | None = None) -> R:
        """Read a record written by :meth:`save`; attach ``scope`` to explain it further.

        Files written before the decoded texts were stored load too: their texts are the
        joined display strings (as those versions showed them).
        """
        meta, arrays = archive.read(path, kind="run", fmt=FORMAT, version=FORMAT_VERSION, error=RunFileError)
        missing = [name for name in META if name not in meta]
        if missing or "token_ids" not in arrays:
            raise RunFileError(f"{path} is inconsistent: it lacks {missing or ['token_ids']}")
        if len(arrays["token_ids"]) != len(meta["tokens"]):
            raise RunFileError(f"{path} is inconsistent: token ids and tokens differ in length")
        texts = {name: meta.get(name) for name in TEXT_META}
        if any(value is not None and not isinstance(value, str) for value in texts.values()) or \
                (texts["decoded_input"] is None) != (texts["decoded_output"] is None):
            raise RunFileError(f"{path} is inconsistent: its decoded texts are not two strings")
        known = {f.name for f in fields(cls)}
        return cls(**{name: meta[name] for name in META}, **texts,
                   **{k: v for k, v in arrays.items() if k in known}, scope=scope)


def token_table(tokens: list[str], token_ids: Any, n_input: int) -> list[dict[str, Any]]:
    """``[{token, token_id, type, position}]`` for tokens whose first ``n_input`` are input."""
    return [{"token": t, "token_id": int(i), "type": "input" if p < n_input else "output", "position": p}
            for p, (t, i) in enumerate(zip(tokens, token_ids))]
