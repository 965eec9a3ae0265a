"""The explorer's request body and its checks, derived from :mod:`lmscope.report`'s declarations.

The generation and view fields of :class:`ExplainRequest` are not re-declared here: they are
made from :class:`~lmscope.report.GenerationOptions` and :class:`~lmscope.report.ViewChoice`
(defaults, descriptions, and a JSON Schema drawn from each constraint), and :func:`plan`
checks them with the same constraints, so a bad value gets the same message (HTTP 422) as
from the Python API and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from ..core.checks import Constraint, Flag, Indexes, Integer, Options, Real
from ..report import MODE, GenerationOptions, SaliencyMethod, ViewChoice, constraints_of, docs_of, explain_cost
from ..saliency import saliency_methods

if TYPE_CHECKING:  # pragma: no cover
    from ..scope import Scope

DEFAULT_NEW_TOKENS = GenerationOptions.max_new_tokens


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; larger requests are refused with 413 or 422."""

    max_prompt_chars: int = 4000        # prompt, or all chat messages together
    max_new_tokens: int = 200
    max_body_bytes: int = 64 * 1024     # whole request body
    max_factors: int = 16
    max_messages: int = 32
    max_queue: int = 64                 # requests waiting for the model before 503
    max_beams: int = 8
    max_cost: float = 3000.0            # tokens x the views' per-token cost (lmscope.report.explain_cost)
    request_timeout: float = 30.0       # seconds a client may take to send a request (headers, then body)


def json_schema(constraint: Constraint) -> dict[str, Any]:
    """The JSON Schema of what ``constraint`` accepts (for the OpenAPI description)."""
    if isinstance(constraint, Integer):
        schema: dict[str, Any] = {"type": "integer"}
        if constraint.lo is not None:
            schema["minimum"] = constraint.lo
        if constraint.hi is not None:
            schema["maximum"] = constraint.hi
    elif isinstance(constraint, Real):
        schema = {"type": "number"}
        if constraint.lo is not None:
            schema["exclusiveMinimum" if constraint.lo_open else "minimum"] = constraint.lo
        if constraint.hi is not None:
            schema["exclusiveMaximum" if constraint.hi_open else "maximum"] = constraint.hi
    elif isinstance(constraint, SaliencyMethod):
        schema = {"type": "string", "enum": saliency_methods()}
    elif isinstance(constraint, Options):
        schema = {"type": "string", "enum": list(constraint.values)}
    elif isinstance(constraint, Flag):
        schema = {"type": "boolean"}
    elif isinstance(constraint, Indexes):
        schema = {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]}
    else:
        schema = {}
    if constraint.none:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _checked_field(constraint: Constraint, default: Any, doc: str) -> tuple[Any, Any]:
    """A request field pydantic passes through as-is (any JSON value), documented by ``constraint``."""
    return (Annotated[Any, WithJsonSchema(json_schema(constraint))],
            Field(default, description=f"{doc[:1].upper()}{doc[1:]}: {constraint.describe()}."))


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["system", "user", "assistant"]
    content: str


def _request_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        "prompt": (str | None, Field(None, description="Text to continue (or to analyse with mode='analyze').")),
        "messages": (list[Message] | None, Field(None, description="Chat messages, rendered with the chat "
                                                                   "template.")),
        "mode": _checked_field(MODE, "generate", "generate a continuation or read the text"),
    }
    for cls in (GenerationOptions, ViewChoice):
        docs = docs_of(cls)
        for name, constraint in constraints_of(cls).items():
            fields[name] = _checked_field(constraint, getattr(cls, name), docs[name])
    fields["max_new_tokens"][1].description += (f" Default {DEFAULT_NEW_TOKENS}, or the server's limit if lower; "
                                                "ignored with mode='analyze'.")
    model = create_model("ExplainRequest", __config__=ConfigDict(extra="forbid", strict=True), **fields)
    model.__doc__ = "A prompt (or chat messages) to run, how to generate, and which views to compute."
    return model


ExplainRequest = _request_model()


class ExplainResponse(BaseModel):
    """The run's tokens and settings, and the view data the page renders with the lmscope bundle."""

    model: str
    text: str
    output_text: str
    n_input: int
    tokens: list[dict[str, Any]]
    settings: dict[str, Any]
    views: list[dict[str, Any]]
    timings: dict[str, float]


class ErrorResponse(BaseModel):
    detail: Any


@dataclass(frozen=True)
class Plan:
    """A checked request: what :func:`lmscope.report.explain` is called with."""

    prompt: str | list[dict[str, str]]
    mode: str
    generation: GenerationOptions
    choice: ViewChoice

    @property
    def streams(self) -> bool:
        """Whether tokens can stream (transformers streams greedy and sampled generation, not beams)."""
        return self.mode == "generate" and self.generation.num_beams == 1


def plan(req: Any, scope: Scope, limits: Limits) -> Plan:
    """Check ``req`` with the library's constraints and the server's limits before queueing (422)."""
    if (req.prompt is None) == (req.messages is None):
        raise HTTPException(422, "pass exactly one of 'prompt' (a string) or 'messages' (chat messages)")
    if req.prompt is not None:
        chars = len(req.prompt)
        if not req.prompt.strip():
            raise HTTPException(422, "the prompt is empty; type some text")
    else:
        if not req.messages:
            raise HTTPException(422, "messages is empty; pass at least one {role, content} message")
        if len(req.messages) > limits.max_messages:
            raise HTTPException(422, f"too many messages ({len(req.messages)}); the limit is {limits.max_messages}")
        chars = sum(len(m.content) for m in req.messages)
    texts = [("prompt", req.prompt)] if req.prompt is not None else \
        [(f"messages[{i}].content", m.content) for i, m in enumerate(req.messages)]
    for name, text in texts:
        not_text(name, text)
    if chars > limits.max_prompt_chars:
        raise HTTPException(422, f"the prompt has {chars} characters; the limit is {limits.max_prompt_chars}")
    values = req.model_dump(exclude={"prompt", "messages", "mode"})
    if "max_new_tokens" not in req.model_fields_set:
        values["max_new_tokens"] = min(DEFAULT_NEW_TOKENS, limits.max_new_tokens)
    try:
        mode = MODE.check("mode", req.mode)
        generation = GenerationOptions(**{k: values[k] for k in constraints_of(GenerationOptions)})
        choice = ViewChoice(**{k: values[k] for k in constraints_of(ViewChoice)})
        choice.layers(scope.n_layers)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if mode == "generate" and generation.max_new_tokens > limits.max_new_tokens:
        raise HTTPException(422, f"max_new_tokens={generation.max_new_tokens} is over the limit of "
                                 f"{limits.max_new_tokens}")
    if mode == "generate" and generation.num_beams > limits.max_beams:
        raise HTTPException(422, f"num_beams={generation.num_beams} is over the limit of {limits.max_beams}")
    if choice.factors is not None and choice.factors > limits.max_factors:
        raise HTTPException(422, f"factors={choice.factors} is over the limit of {limits.max_factors}")
    if mode == "generate" and scope.is_masked:
        raise HTTPException(422, f"{scope.name} is a masked LM and does not generate; use mode='analyze'")
    prompt = req.prompt if req.prompt is not None else [m.model_dump() for m in req.messages]
    within_budget(scope, prompt, mode, generation, choice, limits)
    return Plan(prompt, mode, generation, choice)


def not_text(name: str, text: str) -> None:
    """Refuse (422) a string holding a lone surrogate (a JSON ``\\ud800`` escape), which is no text a tokenizer reads."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HTTPException(422, f"{name} holds a lone surrogate ({text[exc.start]!r} at character {exc.start}), "
                                 "which is not text; send valid Unicode (a surrogate pair escapes one emoji)") from None


def within_budget(scope: Scope, prompt: Any, mode: str, generation: GenerationOptions, choice: ViewChoice,
                  limits: Limits) -> None:
    """Refuse (422) a request whose work (tokens x the views' per-token cost) is over ``limits.max_cost``."""
    try:
        n_prompt = int(scope.encode(prompt).shape[-1])
    except ValueError:
        return                          # the model refuses the prompt itself; the worker says why (400)
    n_new = generation.max_new_tokens if mode == "generate" else 0
    cost = explain_cost(n_prompt + n_new, choice)
    if cost > limits.max_cost:
        what = f"saliency={choice.saliency!r}" if choice.saliency else "these views"
        raise HTTPException(422, f"this request would cost {cost:.0f} units ({n_prompt} prompt + {n_new} new tokens "
                                 f"with {what}), over the limit of {limits.max_cost:.0f}; use fewer tokens or a "
                                 "cheaper saliency method (lmscope.saliency.method_info(name).cost gives each method's cost)")
