"""The report pipeline behind ``lmscope explain`` and the web explorer, with no web imports.

- :class:`~lmscope.generation.GenerationOptions` (defined one layer down, in
  :mod:`lmscope.generation`, because :meth:`lmscope.Scope.generate` reads it too): how to
  generate, declared once.
- :class:`ViewChoice`: which views to compute, with its own checks; what the run must
  capture comes from the saliency registry (:func:`lmscope.saliency.capture_for`).
- :func:`explain`: run a prompt (or read text) and compute the chosen views into an
  :class:`Explained`, whose :meth:`~Explained.to_dict` is what the CLI writes and the
  explorer sends.
- :class:`TokenStreamer`: hands each generated token to a callback as it is generated.

The CLI and the explorer are thin adapters over this module: their argument types and
request checks call the same constraints, so a bad value gets the same message from the
Python API, the command line and the HTTP API.

>>> out = explain(scope, "1, 2, 3,", ViewChoice(lens=True), generation=GenerationOptions(max_new_tokens=5))  # doctest: +SKIP
>>> out.to_dict()["views"]                                                                                # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .core.cancel import Cancelled, cancellable, checkpoint
from .core.checks import Constraint, Flag, Integer, Layers, Options, names_in, resolve_layers
from .core.options import check_fields, constraints_of, docs_of, option
from .core.tokens import REPLACEMENT, decoded_texts, display_tokens
from .generation import GENERATION, GenerationOptions
from .saliency import capture_for, method_info, saliency_methods

if TYPE_CHECKING:  # pragma: no cover
    from .run import Run
    from .scope import Scope

__all__ = ["GENERATION", "MODE", "VIEW_COST", "Cancelled", "Explained", "GenerationOptions",
           "TokenStreamer", "ViewChoice", "constraints_of", "docs_of", "explain", "explain_cost", "saliency_cost",
           "saliency_summaries"]

Prompt = str | Sequence[dict[str, str]]
MODE = Options(("generate", "analyze"), ("generate a continuation", "read the text without generating"))
TITLES = {"saliency": "Input saliency ({method})"}   # for views whose result gives none


# ---------------------------------------------------------------------------- the choice of views
def saliency_summaries() -> dict[str, str]:
    """Every saliency method with its one-line summary, from the saliency registry (CLI help, explorer)."""
    return {name: method_info(name).summary for name in saliency_methods()}


@dataclass(frozen=True)
class SaliencyMethod(Constraint):
    """A name from :func:`lmscope.saliency_methods` (read when checked, so new methods count)."""

    none: bool = True

    def describe(self) -> str:
        return self._or_none(f"one of {names_in(saliency_methods())}")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in saliency_methods()

    def invalid(self) -> list[Any]:
        return ["not-a-method", 1] + ([] if self.none else [None])


@dataclass(frozen=True)
class ViewChoice:
    """Which views to compute for a run; ``None``/``False`` leaves a view out. Checked when made."""

    saliency: str | None = option("grad_x_input", SaliencyMethod(), "saliency method, or None for none")
    factors: int | None = option(None, Integer(1, none=True), "number of NMF factors of FFN activations")
    factor_layers: list[int] | None = option(None, Layers(), "layers to factorise (default: every layer)")
    lens: bool = option(False, Flag(), "logit lens: rank of each token after every layer")
    candidates: bool = option(True, Flag(), "top-k candidates of every generated token")

    def __post_init__(self) -> None:
        check_fields(self)
        if self.factor_layers is not None and not self.factors:
            raise ValueError("factor_layers chooses the layers to factorise, so it needs factors; "
                             "set factors to a number of factors too, or leave factor_layers out")

    def capture(self) -> tuple[str, ...]:
        """What the capture pass must record for these views (nothing more)."""
        need = []
        if self.factors:
            need.append("activations")
        if self.lens:
            need.append("hidden_states")
        if self.saliency:
            need.extend(capture_for(self.saliency))
        return tuple(dict.fromkeys(need))

    def layers(self, n_layers: int) -> list[int] | None:
        """The layers to capture activations of, checked against a model of ``n_layers`` layers."""
        if not self.factors:
            return None
        return resolve_layers(self.factor_layers, n_layers, name="factor_layers")


# ---------------------------------------------------------------------------- what a request costs
# Work per token of the run, in units of one token through grad_x_input (one forward pass and
# one backward pass per chunk of targets); each saliency method declares its own cost when it
# registers (lmscope.saliency.method_info(name).cost).
VIEW_COST: dict[str, float] = {"run": 0.1, "factors": 0.5, "lens": 0.5}   # the same units, per token


def saliency_cost(method: str) -> float:
    """Work per token of ``method``, as its registration declares it (relative to grad_x_input)."""
    return method_info(method).cost


def explain_cost(n_tokens: int, choice: ViewChoice) -> float:
    """What :func:`explain` of ``n_tokens`` tokens (prompt + new tokens) costs for ``choice``: tokens x the
    views' per-token costs (the explorer refuses requests over its ``Limits.max_cost``)."""
    per_token = VIEW_COST["run"] + (saliency_cost(choice.saliency) if choice.saliency else 0.0)
    per_token += VIEW_COST["factors"] if choice.factors else 0.0
    per_token += VIEW_COST["lens"] if choice.lens else 0.0
    return n_tokens * per_token


# ---------------------------------------------------------------------------- the pipeline
@dataclass
class Explained:
    """A run and the view results computed from it (result objects, in display order)."""

    run: Run
    results: list[tuple[str, Any]] = field(default_factory=list)   # (name, result or view dict)
    timings: dict[str, float] = field(default_factory=dict)

    def views(self) -> list[dict[str, Any]]:
        """Plain, validated view dicts (what the JS bundle renders), in display order."""
        from .views.schema import validate_view

        views = []
        for name, result in self.results:
            view = validate_view(result if isinstance(result, dict) else result.view_data())
            if name in TITLES and "title" not in view:
                view["title"] = TITLES[name].format(method=view.get("method", ""))
            views.append(view)
        return views

    def to_dict(self) -> dict[str, Any]:
        """Everything the page or a JSON file needs: text, tokens, settings, views, timings."""
        run = self.run
        return {"model": run.model_name, "text": run.text, "output_text": run.output_text,
                "n_input": run.n_input, "tokens": run.token_table(), "settings": _plain_settings(run.settings),
                "views": self.views(), "timings": {k: round(v, 4) for k, v in self.timings.items()}}

    def data(self) -> dict[str, Any]:
        """Like :meth:`to_dict`, with each result's own export (``to_dict``) instead of view data."""
        from .views.schema import to_plain

        out = self.to_dict()
        out["results"] = {name: (result if isinstance(result, dict) else to_plain(result.to_dict()))
                          for name, result in self.results}
        return out


def _plain_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if v is None or isinstance(v, (str, int, float, bool, list, dict))}


def explain(scope: Scope, prompt: Prompt, choice: ViewChoice | None = None, *,
            generation: GenerationOptions | None = None, mode: str = "generate", streamer: Any = None,
            step: Callable[[str], None] | None = None, cancelled: Callable[[], bool] | None = None) -> Explained:
    """Generate from (or, with ``mode="analyze"``, read) ``prompt`` and compute the views ``choice`` names.

    Masked LMs always read. ``streamer`` receives tokens as they are generated (see
    :class:`TokenStreamer`); ``step(name)`` is called before each stage (progress display).
    ``cancelled()`` returning true (a client that left, a server stopping) raises
    :class:`Cancelled` at the next stage boundary, and inside a stage at the model's next
    block (every forward pass of generation and of each saliency chunk goes through them) or
    the next :func:`lmscope.core.cancel.checkpoint`. Every option is checked before any model work.
    """
    if cancelled is None:
        return _explain(scope, prompt, choice, generation=generation, mode=mode, streamer=streamer, step=step)
    with cancellable(cancelled), _checkpoints_in_blocks(scope):
        checkpoint()
        return _explain(scope, prompt, choice, generation=generation, mode=mode, streamer=streamer, step=step)


@contextlib.contextmanager
def _checkpoints_in_blocks(scope: Scope) -> Iterator[None]:
    """A :func:`~lmscope.core.cancel.checkpoint` before every transformer block runs, for the duration."""
    from .capture import hooks

    with hooks((block, "pre", lambda _module, _args, _kwargs: checkpoint()) for block in scope.anatomy.blocks):
        yield


def _explain(scope: Scope, prompt: Prompt, choice: ViewChoice | None, *, generation: GenerationOptions | None,
             mode: str, streamer: Any, step: Callable[[str], None] | None) -> Explained:
    mode = MODE.check("mode", mode)
    choice = choice if choice is not None else ViewChoice()
    generation = generation if generation is not None else GenerationOptions()
    layers = choice.layers(scope.n_layers)
    note = step or (lambda name: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    capture = choice.capture()
    if mode == "generate" and not scope.is_masked:
        note("generate")
        run = scope.generate(prompt, capture=capture, layers=layers, streamer=streamer, **generation.kwargs())
    else:
        note("analyze")
        run = scope.analyze(prompt, capture=capture, layers=layers)
    timings["run"] = time.perf_counter() - start
    out = Explained(run=run, timings=timings)
    if choice.candidates and run.candidate_ids is not None:
        out.results.append(("candidates", run.view_data()))   # a Run shows itself as candidates
    stages: list[tuple[str, Callable[[], Any]]] = []
    if choice.saliency:
        stages.append(("saliency", lambda: run.saliency(choice.saliency)))
    if choice.factors:
        stages.append(("factors", lambda: run.factors(n=choice.factors, layers=choice.factor_layers)))
    if choice.lens:
        stages.append(("lens", lambda: run.lens()))
    for name, compute in stages:
        checkpoint()
        note(name)
        begin = time.perf_counter()
        out.results.append((name, compute()))
        timings[name] = time.perf_counter() - begin
    return out


# ---------------------------------------------------------------------------- token streaming
class TokenStreamer:
    """A ``model.generate`` streamer that hands each new token to ``emit(token_id, display, text)``.

    ``display`` is the token's display string (a partial character shows as its bytes,
    ``<0xE6>``); ``text`` is what the token adds to the text as the tokenizer decodes it:
    the whole sequence is decoded again (so SentencePiece spaces and characters split over
    several tokens come out right) and ``text`` is empty while a character is still being
    spelled out byte by byte, then holds the whole character. The ``text`` of all tokens
    joined equals ``run.output_text``. The first ``put`` (the prompt) is skipped.
    ``cancelled()`` returning true stops generation at the next token (by raising
    :class:`Cancelled`), for clients that left.
    """

    def __init__(self, tokenizer: Any, emit: Callable[[int | None, str, str], None],
                 cancelled: Callable[[], bool] = lambda: False) -> None:
        self.tokenizer = tokenizer
        self.emit = emit
        self.cancelled = cancelled
        self.prompt: list[int] | None = None
        self.ids: list[int] = []
        self.shown = ""

    def put(self, value: Any) -> None:
        if self.cancelled():
            raise Cancelled("the client went away")
        ids = [int(i) for i in value.reshape(-1).tolist()]
        if self.prompt is None:          # the first put is the prompt
            self.prompt = ids
            return
        for token_id, display in zip(ids, display_tokens(self.tokenizer, ids)):
            self.ids.append(token_id)
            self.emit(token_id, display, self._added(final=False))

    def end(self) -> None:
        """Generation is over: text held back for an incomplete character goes out as the tokenizer
        decodes it, in one last call with ``token_id`` None (no new token)."""
        if self.prompt is not None and self.ids:
            rest = self._added(final=True)
            if rest:
                self.emit(None, "", rest)

    def _added(self, *, final: bool) -> str:
        _, text = decoded_texts(self.tokenizer, self.prompt + self.ids, len(self.prompt))
        if not final and text.endswith(REPLACEMENT):
            return ""                    # a character still being spelled out byte by byte
        same = len(self.shown) if text.startswith(self.shown) else 0
        self.shown = text
        return text[same:]

