"""Factors of FFN activations: NMF (or PCA) over one layer, a range, or every layer.

Each token is a point whose coordinates are the activations of every FFN neuron of the
chosen layers; a factorisation writes those points as a few *factors*, each a pattern of
neurons (``components``) and how strongly it fires at each token (``token_activity``).
That is the seed article's "two factors of a counting sequence": one factor for the commas,
one for the digits.

**The first position is left out by default** (``exclude="first"``). Most models use the
first position as an attention sink and its FFN activations are outsized (on SmolLM2
about 50 times any other position's); kept in, it takes a factor of its own (the seed's
"first-token factor", which its blue factor showed on GPT-2) and, with few factors, leaves
one factor for everything else. Pass ``exclude=None`` to keep it: the result then reports
that factor as :attr:`Factors.first_token_factor` and labels it "first token".

>>> f = run.factors(n=2)                      # doctest: +SKIP
>>> f.token_activity.shape, f.dominant        # doctest: +SKIP
>>> f.stats()                                 # doctest: +SKIP

The modules: :mod:`.components` (the base shared with :class:`lmscope.corpus.CorpusFactors`:
contributing neurons, statistics, where factors lie across layers) and :mod:`.run_factors`
(:func:`factorize` and :class:`Factors`).
"""

from .components import MASS, FactorComponents, contributing, contribution_stats
from .run_factors import FIRST_TOKEN_SHARE, METHODS, Factors, Method, factorize

__all__ = ["FIRST_TOKEN_SHARE", "MASS", "METHODS", "FactorComponents", "Factors", "Method", "contributing",
           "contribution_stats", "factorize"]
