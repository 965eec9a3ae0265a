"""One explorable for two techniques: saliency tints and factor bars over the text of one run.

The seed article's conclusion asks for techniques combined and for word-sized graphics
beside tokens. :func:`combined` puts a run's saliency and its factors on the same text:
hovering an output token tints the earlier tokens by saliency, every token carries a tiny
bar chart of its factors' activity, and hovering a factor isolates it.

>>> sal, fac = run.saliency(), run.factors(n=3)                     # doctest: +SKIP
>>> view = lmscope.views.combined(saliency=sal, factors=fac)        # doctest: +SKIP
>>> view                       # in a notebook: the explorable      # doctest: +SKIP
>>> view.to_html("why.html")   # a standalone offline page          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.checks import Integer, Text, validated
from ..core.results import Result, with_info
from .mixin import HTMLView
from .schema import validate_view

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Combined", "combined"]

_SALIENCY_KEYS = ("targets", "attributions", "method")
_FACTOR_KEYS = ("factors", "dominant", "excluded", "labels")


def _source(value: Any, kind: str, name: str) -> dict[str, Any]:
    """The view data of a result (``view_data()``) or of a view dict, checked to be of ``kind``."""
    if hasattr(value, "view_data") and not isinstance(value, Mapping):
        data = value.view_data()
    elif isinstance(value, Mapping):
        data = dict(value)
    else:
        raise TypeError(f"{name} must be a {kind} result (run.{kind}(...)) or its view data, "
                        f"got {type(value).__name__}")
    if data.get("kind") != kind:
        raise ValueError(f"{name} must be {kind} (run.{kind}(...)), got a {data.get('kind')!r} view; "
                         f"pass it as {data.get('kind')}=... if that is what it is")
    return validate_view(data, digits=None)


def _check_same_tokens(sal: Mapping[str, Any], fac: Mapping[str, Any]) -> None:
    a, b = sal["tokens"], fac["tokens"]
    if len(a) != len(b):
        raise ValueError(f"saliency covers {len(a)} tokens and factors {len(b)}; both must come from the same run "
                         "(run.saliency() and run.factors() on one run)")
    for p, (x, y) in enumerate(zip(a, b)):
        if (x["token"], x["token_id"], x["type"]) != (y["token"], y["token_id"], y["type"]):
            raise ValueError(f"saliency and factors describe different tokens: at position {p} saliency has "
                             f"{x['token']!r} (id {x['token_id']}, {x['type']}) and factors {y['token']!r} "
                             f"(id {y['token_id']}, {y['type']}); compute both from the same run")


@dataclass(eq=False)
class Combined(Result, HTMLView):
    """Saliency and factors of one run, shown over the text once (see :func:`combined`)."""

    saliency: dict[str, Any]      # the saliency view's data
    factors: dict[str, Any]       # the factors view's data
    title: str | None = None
    caption: str | None = None

    @property
    def tokens(self) -> list[dict[str, Any]]:
        return self.saliency["tokens"]

    def view_data(self) -> dict[str, Any]:
        """The ``combined`` explorable: the token list once, the saliency and factor fields side by side."""
        data: dict[str, Any] = {"kind": "combined", "tokens": self.tokens}
        data.update({k: self.saliency[k] for k in _SALIENCY_KEYS if self.saliency.get(k) is not None})
        data.update({k: self.factors[k] for k in _FACTOR_KEYS if self.factors.get(k) is not None})
        n_factors = len(self.factors["factors"])
        method = self.saliency.get("method") or "saliency"
        data["title"] = self.title or f"Saliency ({method}) and {n_factors} factors"
        factor_note = self.factors.get("caption")
        data["caption"] = self.caption or ("Hover an output token: earlier tokens are tinted by their saliency for it. "
                                           "Bars under each token: its factors' activity"
                                           + (f" ({factor_note})." if factor_note else "."))
        return data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the combined view's data."""
        from .schema import to_plain

        return to_plain(self.view_data())

    def to_frame(self) -> pd.DataFrame:
        """One row per token: position, token, type, dominant factor, each factor's activity, each target's saliency."""
        import pandas as pd

        data = self.view_data()
        labels = data.get("labels") or [f"factor {f}" for f in range(len(data["factors"]))]
        frame = pd.DataFrame({"position": [t["position"] for t in data["tokens"]],
                              "token": [t["token"] for t in data["tokens"]],
                              "type": [t["type"] for t in data["tokens"]],
                              "dominant": list(data["dominant"])})
        for label, row in zip(labels, data["factors"]):
            frame[label] = np.asarray(row, dtype=float)
        for target, row in zip(data["targets"], data["attributions"]):
            frame[f"saliency @{target}"] = np.asarray(row, dtype=float)
        return frame

    @validated(target=Integer(none=True))
    def plot(self, ax: Axes | None = None, *, target: int | None = None) -> Figure:
        """Static figure: saliency of ``target`` (a position; default the first output) above one bar row per factor.

        Bars of a factor are opaque where it dominates the token, faint elsewhere, as in the
        explorable. Drawn in ``ax``'s place when given (split into one row per panel), else
        on a new figure that pyplot does not track.
        """
        import matplotlib

        from ..core.figures import new_figure, split_axes, tick_rotation
        from ..core.tokens import tick_label

        data = self.view_data()
        targets = list(data["targets"])
        if not targets:
            raise ValueError("this saliency explains no tokens, so there is nothing to plot; "
                             "compute it on a run with output tokens")
        if target is None:
            target = targets[0]
        if target not in targets:
            raise ValueError(f"target must be one of the explained positions {targets}, got {target!r}")
        row = np.asarray(data["attributions"][targets.index(target)], dtype=float)
        factors = np.asarray(data["factors"], dtype=float)
        dominant = np.asarray(data["dominant"])
        k, n = factors.shape
        labels = data.get("labels") or [f"factor {f}" for f in range(k)]
        x = np.arange(n)
        ratios = [2] + [1] * k
        if ax is None:
            fig = new_figure(min(3.0 + 0.3 * n, 16.0), 1.6 + 0.7 * k)
            axes = fig.subplots(k + 1, 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": ratios})[:, 0]
        else:
            fig, grid = split_axes(ax, k + 1, 1, what="Combined.plot (saliency and factor rows)",
                                   height_ratios=ratios)
            first = fig.add_subplot(grid[0])
            axes = [first] + [fig.add_subplot(grid[i], sharex=first) for i in range(1, k + 1)]
            for upper in axes[:-1]:
                upper.tick_params(labelbottom=False)
        peak = float(row[:target].max()) if target > 0 and row[:target].max() > 0 else 1.0
        viridis, tab10 = matplotlib.colormaps["viridis"], matplotlib.colormaps["tab10"]
        colours = [viridis(v / peak) if p < target else (0, 0, 0, 0) for p, v in enumerate(row)]
        axes[0].bar(x, np.where(x < target, row, 0), color=colours, width=0.85)
        axes[0].axvline(target, color="0.3", linewidth=1, linestyle=":")
        axes[0].set_ylabel(f"saliency\nfor @{target}", fontsize=8)
        for f in range(k):
            ax = axes[f + 1]
            alpha = np.where(dominant == f, 1.0, 0.3)
            ax.bar(x, factors[f], width=0.85, color=[(*tab10(f % 10)[:3], a) for a in alpha])
            ax.set_ylabel(labels[f], rotation=0, ha="right", va="center", fontsize=8, color=tab10(f % 10))
            ax.set_yticks([])
        for ax in axes:
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        ticks = [tick_label(t["token"]) for t in data["tokens"]]
        axes[-1].set_xticks(x)
        axes[-1].set_xticklabels(ticks, rotation=tick_rotation(ticks), fontsize=8, family="monospace")
        axes[-1].set_xlim(-0.5, n - 0.5)
        fig.suptitle(data["title"], fontsize=9)
        return fig

    def __repr__(self) -> str:
        return (f"Combined(tokens={len(self.tokens)}, targets={len(self.saliency['targets'])}, "
                f"factors={len(self.factors['factors'])})")


@validated(title=Text(empty=True, none=True), caption=Text(empty=True, none=True))
def combined(saliency: Any, factors: Any, *, title: str | None = None, caption: str | None = None) -> Combined:
    """Saliency and factors of one run in one explorable (text once, saliency tints, factor bars per token).

    ``saliency`` is a :class:`~lmscope.saliency.result.Saliency` (``run.saliency()``) and
    ``factors`` a :class:`~lmscope.factors.Factors` (``run.factors(n=...)``), or either's
    view data. Both must describe the same tokens (one run); otherwise a ``ValueError``
    names the first position where they differ. Nothing is recomputed.
    """
    sal = _source(saliency, "saliency", "saliency")
    fac = _source(factors, "factors", "factors")
    _check_same_tokens(sal, fac)
    view = Combined(saliency=sal, factors=fac, title=title, caption=caption)
    validate_view(view.view_data(), digits=None)
    return with_info(view, {"saliency": sal.get("method") or "saliency", "factors": len(fac["factors"]),
                            "title": title, "caption": caption})
