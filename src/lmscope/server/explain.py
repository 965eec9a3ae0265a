"""The work behind ``lmscope explain`` and the web explorer: run a prompt, compute the chosen views.

One function, :func:`explain`, turns a prompt (or chat messages, or existing text) plus a
:class:`ViewChoice` into plain JSON-ready data: the tokens, the generation settings and
the view dicts the JS bundle renders. The CLI writes that data to HTML/JSON files; the
server sends it to the page. Nothing here touches the network or the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.tokens import display_tokens
from ..saliency import capture_for
from ..views.schema import validate_view

if TYPE_CHECKING:  # pragma: no cover
    from ..run import Run
    from ..scope import Scope

Prompt = str | Sequence[dict[str, str]]
TITLES = {"saliency": "Input saliency ({method})"}   # for views whose result gives none


@dataclass
class ViewChoice:
    """Which views to compute for a run; ``None``/``False`` leaves a view out."""

    saliency: str | None = "grad_x_input"      # a name from lmscope.saliency_methods()
    factors: int | None = None                  # number of NMF factors
    factor_layers: list[int] | None = None      # layers to factorise (default: every captured layer)
    lens: bool = False                          # logit lens (hidden-state evolution)
    candidates: bool = True                     # top-k candidates of every generated token

    def capture(self) -> tuple[str, ...]:
        """What the capture pass must record for these views (nothing more)."""
        need = []
        if self.factors:
            need.append("activations")
        if self.lens:
            need.append("hidden_states")
        if self.saliency:
            need.extend(capture_for(self.saliency))
        return tuple(need)


@dataclass
class Generation:
    """Options of ``Scope.generate`` that a user may set from the CLI or the page."""

    max_new_tokens: int = 20
    do_sample: bool = False
    seed: int | None = None
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    num_beams: int = 1

    def kwargs(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample, "seed": self.seed,
                "temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p,
                "num_beams": self.num_beams}


@dataclass
class Explained:
    """A run and the view results computed from it (result objects, in display order)."""

    run: Run
    results: list[tuple[str, Any]] = field(default_factory=list)   # (name, result or view dict)
    timings: dict[str, float] = field(default_factory=dict)

    def views(self) -> list[dict[str, Any]]:
        """Plain, validated view dicts (what the JS bundle renders), in display order."""
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
        out = self.to_dict()
        out["results"] = {name: (result if isinstance(result, dict) else _export(result))
                          for name, result in self.results}
        return out


def _export(result: Any) -> dict[str, Any]:
    from ..views.schema import to_plain
    return to_plain(result.to_dict())


def _plain_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if v is None or isinstance(v, (str, int, float, bool, list, dict))}


def check_choice(scope: Scope, choice: ViewChoice) -> None:
    """Reject unknown saliency methods and out-of-range factor settings before any model work."""
    from ..capture import check_layers
    from ..saliency import saliency_methods

    if choice.saliency is not None and choice.saliency not in saliency_methods():
        raise ValueError(f"saliency method {choice.saliency!r} is not known; choose one of: "
                         f"{', '.join(saliency_methods())}")
    if choice.factors is not None and (not isinstance(choice.factors, int) or choice.factors < 1):
        raise ValueError(f"factors must be a positive number of factors, got {choice.factors!r}")
    if choice.factor_layers is not None:
        check_layers(choice.factor_layers, scope.n_layers)


def explain(scope: Scope, prompt: Prompt, choice: ViewChoice, *, generation: Generation | None = None,
            mode: str = "generate", streamer: Any = None,
            step: Callable[[str], None] | None = None) -> Explained:
    """Generate from (or, with ``mode="analyze"``, read) ``prompt`` and compute the views ``choice`` names.

    ``streamer`` receives tokens as they are generated (see :meth:`lmscope.Scope.generate`);
    ``step(name)`` is called before each stage (for progress display).
    """
    if mode not in ("generate", "analyze"):
        raise ValueError(f"mode={mode!r} is not known; choose 'generate' or 'analyze'")
    check_choice(scope, choice)
    generation = generation or Generation()
    note = step or (lambda name: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    layers = choice.factor_layers if choice.factors else None
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
        note(name)
        begin = time.perf_counter()
        out.results.append((name, compute()))
        timings[name] = time.perf_counter() - begin
    return out


class TokenStreamer:
    """A ``model.generate`` streamer that hands each new token (id and display string) to ``emit``.

    The first ``put`` (the prompt) is skipped. ``cancelled()`` returning true stops
    generation at the next token (by raising :class:`Cancelled`), for clients that left.
    """

    def __init__(self, tokenizer, emit: Callable[[int, str], None],
                 cancelled: Callable[[], bool] = lambda: False) -> None:
        self.tokenizer = tokenizer
        self.emit = emit
        self.cancelled = cancelled
        self._prompt_seen = False

    def put(self, value) -> None:
        if self.cancelled():
            raise Cancelled("the client went away")
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        ids = value.reshape(-1).tolist()
        for token_id, text in zip(ids, display_tokens(self.tokenizer, ids)):
            self.emit(int(token_id), text)

    def end(self) -> None:
        pass


class Cancelled(Exception):
    """Generation stopped because nobody is waiting for it any more."""
