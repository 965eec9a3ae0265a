"""The data record every analysis reads: tokens, ids, captures and the position conventions.

A :class:`Record` is what one forward pass over one sequence leaves behind, as numpy. A
:class:`~lmscope.run.Run` is a record plus convenience methods; a corpus document is a
record too. Analyses take a record, so they run on either, and they need nothing above
this layer: the model, when an analysis needs it again, is ``record.require_scope()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol, Self

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
    def load(cls, path: str | Path, *, scope: ModelLink | None = None) -> Self:
        """Read a record written by :meth:`save`; attach ``scope`` to explain it further.

        Files written before the decoded texts were stored load too: their texts are the
        joined display strings (as those versions showed them).
        """
        meta, arrays = archive.read(path, kind="run", fmt=FORMAT, version=FORMAT_VERSION, error=RunFileError)
        _check_file(path, meta, arrays)
        if scope is not None:
            _check_scope(path, meta, arrays, scope)
        texts = {name: meta.get(name) for name in TEXT_META}
        known = {f.name for f in fields(cls)}
        return cls(**{name: meta[name] for name in META}, **texts,
                   **{k: v for k, v in arrays.items() if k in known}, scope=scope)


# ---------------------------------------------------------------------- checking a loaded file
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_file(path: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Refuse a run file whose header fields or arrays do not fit together (``RunFileError`` naming the field)."""
    def bad(what: str) -> RunFileError:
        return RunFileError(f"{path} is inconsistent: {what}; it was not written by lmscope or was altered "
                            "since (save the run again)")

    missing = [name for name in META if name not in meta] + [name for name in ("token_ids",) if name not in arrays]
    if missing:
        raise bad(f"it lacks {missing}")
    tokens, n_input = meta["tokens"], meta["n_input"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise bad("tokens is not a list of strings")
    for name in ("model_name",):
        if not isinstance(meta[name], str):
            raise bad(f"{name} is not a string")
    if not isinstance(meta["settings"], dict):
        raise bad("settings is not a JSON object")
    texts = [meta.get(name) for name in TEXT_META]
    if any(t is not None and not isinstance(t, str) for t in texts) or (texts[0] is None) != (texts[1] is None):
        raise bad("its decoded texts are not two strings")
    ids = arrays["token_ids"]
    n = len(tokens)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or len(ids) != n or (n and int(ids.min()) < 0):
        raise bad(f"token_ids (shape {ids.shape}, {ids.dtype}) are not {n} non-negative integers, one per token")
    if not _is_int(n_input) or not 0 <= n_input <= n:
        raise bad(f"n_input={n_input!r} is not a count within the {n} tokens")
    for array, layers in (("activations", "activation_layers"), ("attentions", "attention_layers")):
        listed = meta[layers]
        if not isinstance(listed, list) or not all(_is_int(v) and v >= 0 for v in listed) or \
                len(set(listed)) != len(listed):
            raise bad(f"{layers} is not a list of distinct layer indexes")
        value = arrays.get(array)
        if value is None:
            if listed:
                raise bad(f"{layers} lists layers but {array} are missing")
            continue
        rank = 3 if array == "activations" else 4
        if value.dtype.kind != "f" or value.ndim != rank or value.shape[0] != len(listed):
            raise bad(f"{array} (shape {value.shape}, {value.dtype}) are not floats with one row per layer of "
                      f"{layers} ({len(listed)})")
        if (array == "activations" and value.shape[2] != n) or (array == "attentions" and value.shape[2:] != (n, n)):
            raise bad(f"{array} have shape {value.shape}, which does not fit {n} tokens")
    hidden = arrays.get("hidden_states")
    if hidden is not None and (hidden.dtype.kind != "f" or hidden.ndim != 3 or hidden.shape[0] < 1
                               or hidden.shape[1] != n):
        raise bad(f"hidden_states (shape {hidden.shape}, {hidden.dtype}) are not (layers + 1, {n} tokens, hidden)")
    _check_candidates(meta, arrays, n, bad)


def _check_candidates(meta: dict[str, Any], arrays: dict[str, np.ndarray], n: int, bad: Any) -> None:
    """The candidate arrays: all or none, one row per step, positions within the tokens."""
    names = ("candidate_positions", "candidate_ids", "candidate_probs", "chosen_probs")
    present = [name for name in names if name in arrays]
    listed = meta["candidate_tokens"]
    if not isinstance(listed, list) or not all(isinstance(row, list) and all(isinstance(t, str) for t in row)
                                               for row in listed):
        raise bad("candidate_tokens is not a list of lists of strings")
    if not present:   # candidate_tokens without the arrays are never read (Record.candidates is empty)
        return
    if len(present) != len(names):
        raise bad(f"it has {present} but not all of {list(names)}")
    positions, ids, probs, chosen = (arrays[name] for name in names)
    steps = positions.shape[0] if positions.ndim == 1 else -1
    if (steps < 0 or positions.dtype.kind not in "iu" or ids.dtype.kind not in "iu" or ids.ndim != 2
            or ids.shape[0] != steps or probs.shape != ids.shape or chosen.shape != (steps,)
            or probs.dtype.kind != "f" or chosen.dtype.kind != "f" or len(listed) != steps
            or any(len(row) != ids.shape[1] for row in listed)):
        raise bad("the candidate arrays do not have one row per step with the same number of candidates")
    if steps and (int(positions.min()) < 0 or int(positions.max()) >= n or int(ids.min()) < 0):
        raise bad(f"candidate positions or ids fall outside the {n} tokens or the vocabulary")


def _vocabulary(scope: ModelLink) -> int:
    """How many token ids the attached model embeds (the tokenizer's count if the model does not say)."""
    get = getattr(scope.model, "get_input_embeddings", None)
    embeddings = get() if callable(get) else None
    rows = getattr(embeddings, "num_embeddings", None)
    return int(rows) if isinstance(rows, int) else len(scope.tokenizer)


def _check_scope(path: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray], scope: ModelLink) -> None:
    """Refuse to attach ``scope`` to a run it did not make: another model's name, vocabulary or shapes."""
    saved = meta["model_name"]
    fix = f"attach the model that made it: lmscope.load_run(path, scope=lmscope.load({saved!r}))"
    if saved and scope.name and saved != scope.name:
        raise RunFileError(f"{path} was made by {saved!r}, not by the attached {scope.name!r}; {fix}")
    vocabulary = _vocabulary(scope)
    top = max([int(arrays["token_ids"].max(initial=0))]
              + [int(arrays["candidate_ids"].max(initial=0))] * ("candidate_ids" in arrays))
    if top >= vocabulary:
        raise RunFileError(f"{path} holds token id {top}, outside the {vocabulary}-token vocabulary of "
                           f"{scope.name!r}; {fix}")
    layers = meta["activation_layers"] + meta["attention_layers"]
    anatomy = scope.anatomy
    hidden = arrays.get("hidden_states")
    acts = arrays.get("activations")
    if (layers and max(layers) >= scope.n_layers) or \
            (hidden is not None and hidden.shape[::2] != (scope.n_layers + 1, anatomy.hidden_size)) or \
            (acts is not None and acts.shape[1] != anatomy.n_neurons):
        raise RunFileError(f"{path}'s captures do not fit {scope.name!r} ({scope.n_layers} layers, "
                           f"{anatomy.n_neurons} neurons per layer, hidden size {anatomy.hidden_size}); {fix}")

def token_table(tokens: list[str], token_ids: Any, n_input: int) -> list[dict[str, Any]]:
    """``[{token, token_id, type, position}]`` for tokens whose first ``n_input`` are input."""
    return [{"token": t, "token_id": int(i), "type": "input" if p < n_input else "output", "position": p}
            for p, (t, i) in enumerate(zip(tokens, token_ids))]
