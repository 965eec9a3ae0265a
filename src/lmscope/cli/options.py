"""Command-line arguments made from the library's declarations, checked by the same constraints.

A flag's type calls the constraint its option declares in :mod:`lmscope.report` (or on the
analysis), so ``--top-p 1.5`` fails with the message ``Scope.generate(top_p=1.5)`` raises,
with exit code 2, before any model loads. Layer ranges need the model: they are checked
right after it loads, still with exit code 2 and the library's message.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..core.checks import Constraint, Integer, Real
from ..report import GENERATION, GenerationOptions, ViewChoice, constraints_of, docs_of, saliency_summaries
from .output import UsageError

# The generation options' flags: option name -> (flags, metavar). --sample is do_sample's switch.
GENERATION_FLAGS = {"max_new_tokens": (("--max-new-tokens", "-n"), "N"), "seed": (("--seed",), "S"),
                    "temperature": (("--temperature",), "T"), "top_k": (("--top-k",), "K"),
                    "top_p": (("--top-p",), "P"), "num_beams": (("--beams",), "B")}
_INT = re.compile(r"-?\d+")
_RANGE = re.compile(r"(-?\d+)-(-?\d+)")


def _number(text: str) -> Any:
    """``text`` as an int, else a float, else the text itself (the constraint says what is wrong)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def typed(name: str, constraint: Constraint) -> Callable[[str], Any]:
    """An argparse ``type=`` that checks the text with ``constraint`` under the option's API name."""
    def parse(text: str) -> Any:
        value = _number(text) if isinstance(constraint, (Integer, Real)) else text
        try:
            return constraint.check(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = name
    return parse


def saliency_type(text: str) -> str | None:
    """``--saliency``: a method name, or ``none`` for no saliency view (checked as ``ViewChoice.saliency``)."""
    return None if text in ("none", "") else typed("saliency", constraints_of(ViewChoice)["saliency"])(text)


def parse_layers(values: Sequence[str], name: str, constraint: Constraint) -> list[int] | None:
    """``0 2 4``, ``0-5``, ``1,3`` or ``all`` (None) as layer indexes, checked as the API checks ``name``."""
    if list(values) == ["all"]:
        return None
    out: list[Any] = []
    for part in ",".join(values).split(","):
        part = part.strip()
        if not part:
            continue
        if _INT.fullmatch(part):
            out.append(int(part))
        elif match := _RANGE.fullmatch(part):
            out.extend(range(int(match[1]), int(match[2]) + 1))
        else:
            out.append(_number(part))
    return constraint.check(name, out)


def layers_action(name: str, constraint: Constraint) -> type[argparse.Action]:
    """An argparse action for ``--layers`` that checks the whole list as the API checks ``name``."""
    class LayersAction(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None) -> None:
            try:
                setattr(namespace, self.dest, parse_layers(values, name, constraint))
            except ValueError as exc:
                raise argparse.ArgumentError(self, str(exc)) from None
    return LayersAction


LAYERS_HELP = ("; negative indexes count from the last layer. Layer ranges are checked once the model has "
               "loaded (still exit code 2)")


def _help(doc: str, constraint: Constraint, default: Any = None) -> str:
    text = f"{doc} ({constraint.describe()}"
    return text + (f"; default {default})" if default is not None else ")")


def add_generation(parser: argparse.ArgumentParser) -> None:
    """The generation options of :class:`lmscope.report.GenerationOptions` as flags."""
    group = parser.add_argument_group("generation")
    constraints, docs = constraints_of(GenerationOptions), docs_of(GenerationOptions)
    group.add_argument("--sample", dest="do_sample", action="store_true", help=docs["do_sample"])
    for name, (flags, metavar) in GENERATION_FLAGS.items():
        default = getattr(GENERATION, name)
        group.add_argument(*flags, dest=name, type=typed(name, constraints[name]), default=default, metavar=metavar,
                           help=_help(docs[name], constraints[name], default).replace("%", "%%"))


def add_views(parser: argparse.ArgumentParser) -> None:
    """The views of :class:`lmscope.report.ViewChoice` as flags (saliency methods from the registry)."""
    group = parser.add_argument_group("views")
    constraints, docs = constraints_of(ViewChoice), docs_of(ViewChoice)
    group.add_argument("--saliency", type=saliency_type, default=ViewChoice.saliency, metavar="METHOD",
                       help=f"saliency method, 'none' to skip (default {ViewChoice.saliency}); one of: "
                            + ", ".join(saliency_summaries()) + " (listed below)")
    group.add_argument("--factors", type=typed("factors", constraints["factors"]), metavar="N",
                       help=_help(docs["factors"], constraints["factors"]))
    group.add_argument("--layers", dest="factor_layers", nargs="+", metavar="L", action=layers_action("factor_layers", constraints["factor_layers"]),
                       help="layers to factorise with --factors: 0 2 4, 0-5 or all (default)" + LAYERS_HELP)
    group.add_argument("--lens", action="store_true", help=docs["lens"])
    group.add_argument("--no-candidates", dest="candidates", action="store_false", help="leave out the top-k "
                                                                                       "candidates view")


def saliency_epilog() -> str:
    """The saliency methods with their one-line summaries, for a command's help."""
    methods = saliency_summaries()
    width = max(map(len, methods))
    return "saliency methods:\n" + "\n".join(f"  {name:<{width}}  {summary}" for name, summary in methods.items())


def generation_options(args: argparse.Namespace) -> GenerationOptions:
    """The parsed flags as :class:`GenerationOptions` (each already checked by its type)."""
    try:
        return GenerationOptions(**{name: getattr(args, name) for name in constraints_of(GenerationOptions)})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def view_choice(args: argparse.Namespace) -> ViewChoice:
    """The parsed flags as :class:`ViewChoice`; options that need one another are usage errors."""
    try:
        return ViewChoice(**{name: getattr(args, name) for name in constraints_of(ViewChoice)})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
