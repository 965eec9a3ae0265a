"""`make demo`: the seed article's explorables, rebuilt on the embedded model as one offline HTML gallery.

Every caption is written from the numbers of this run (which tokens carry the saliency,
where each factor dominates, at which layer each token reaches rank 1), so the gallery
says what *this* model does rather than what the article found for GPT-2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .run import Run
from .scope import Scope, load
from .core.tokens import tick_label
from .views import combined, save_html

COUNTING = "1, 2, 3,"
SHAKESPEARE = "William Shakespeare was born in the year"
ONES = " 1, 1, 1,"
EU_LIST = "A list of the countries of the European Union:\n1. Austria\n2. Belgium\n3."
QUESTION = "What is the answer to the ultimate question of life, the universe, and everything?"

# In the spirit of the RNN-generated XML the seed factorised (Karpathy et al. 2015): tags,
# attributes, indentation and text, written for this gallery.
XML = """<page>
  <title>Antarctica</title>
  <id>12</id>
  <revision>
    <id>15900676</id>
    <timestamp>2002-02-25T15:43:11Z</timestamp>
    <contributor>
      <username>Conversion script</username>
      <id>1226483</id>
    </contributor>
    <minor />
    <comment>Automated conversion</comment>
  </revision>
</page>
"""

# The opening of Notes from Underground (Dostoevsky, 1864; Constance Garnett's 1918
# translation, in the public domain).
UNDERGROUND = (
    "I am a sick man.... I am a spiteful man. I am an unattractive man. I believe my liver is diseased. "
    "However, I know nothing at all about my disease, and do not know for certain what ails me. I don't "
    "consult a doctor for it, and never have, though I have a respect for medicine and doctors. Besides, "
    "I am extremely superstitious, sufficiently so to respect medicine, anyway (I am well-educated enough "
    "not to be superstitious, but I am superstitious). No, I refuse to consult a doctor from spite. That "
    "you probably will not understand. Well, I understand it, though. Of course, I can't explain who it is "
    "precisely that I am mortifying in this case by my spite: I am perfectly well aware that I cannot "
    "\"pay out\" the doctors by not consulting them; I know better than anyone that by all this I am only "
    "injuring myself and no one else. But still, if I don't consult a doctor it is from spite. My liver is "
    "bad, well--let it get worse!"
)

Item = dict[str, Any]


# ---------------------------------------------------------------------- caption helpers
def shown(token: str) -> str:
    """A token as a caption shows it: quoted, with spaces and newlines made visible."""
    return f"'{tick_label(token)}'"


def percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def top_shares(run: Run, row: np.ndarray, k: int = 3) -> str:
    """'' Shakespeare' (42%), 'William' (18%) and ...': the k positions with the largest share of a row."""
    order = np.argsort(-row, kind="stable")[:k]
    parts = [f"{shown(run.tokens[p])} ({percent(row[p])})" for p in order]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]


def saliency_caption(run: Run, matrix: np.ndarray, *, steps: int = 2) -> str:
    """Who the first ``steps`` generated tokens owe most to, from the saliency rows."""
    lines = [f"The model continued with {run.output_text!r}."]
    for i in range(min(steps, len(matrix))):
        position = run.n_input + i
        lines.append(f"Generating output token {i + 1}, {shown(run.tokens[position])}, the largest shares of "
                     f"gradient × input go to {top_shares(run, matrix[i, :position])}.")
    lines.append("Hover or tap an output token to see its own saliency.")
    return " ".join(lines)


def dominated(factors, f: int) -> Counter[str]:
    """How often factor ``f`` is the dominant factor of each token string."""
    return Counter(factors.tokens[t]["token"] for t in np.flatnonzero(factors.dominant == f))


def factor_summary(factors, *, limit: int = 3) -> list[str]:
    """Per factor: the tokens where it dominates, most frequent first (what the sparkline tracks)."""
    out = []
    for f in range(factors.n_factors):
        counts = dominated(factors, f)
        common = ", ".join(f"{shown(tok)} ×{n}" for tok, n in counts.most_common(limit))
        out.append(f"{counts.total()} tokens, mostly {common}" if counts else "dominant nowhere")
    return out


def label_factors(factors) -> None:
    """Name each factor by the token it dominates most often, so the sparklines say what they track."""
    labels = []
    for f, name in enumerate(factors.factor_labels()):
        top = dominated(factors, f).most_common(1)
        labels.append(f"{name}: {shown(top[0][0])}" if top and name.startswith("factor") else name)
    factors.labels = labels


def factors_caption(factors, intro: str) -> str:
    """What each factor tracks on this run, plus how many neurons make it up."""
    stats = factors.stats()
    total = factors.components.shape[1]
    parts = []
    for f, summary in enumerate(factor_summary(factors)):
        size = (f"; {int(stats['neurons'].iloc[f]):,} neurons ({percent(stats['share'].iloc[f])} of {total:,})"
                if factors.n_factors <= 5 else "")     # ten factors: what they track is caption enough
        parts.append(f"{factors.factor_labels()[f]} — {summary}{size}")
    left = (" The first token is left out (its activations are outsized: an attention sink)."
            if factors.excluded else "")
    return f"{intro}{left} " + "; ".join(parts) + ". Hover a sparkline to isolate its factor."


def _is_digit(token: str) -> bool:
    return token.strip().isdigit()


def _is_comma(token: str) -> bool:
    return token.strip() == ","


def lens_caption(lens) -> str:
    """When commas and digits reach rank 1, from the lens rankings."""
    first = lens.first_top_layer()
    groups = {"commas": [], "digits": [], "spaces": []}
    for i, answer in enumerate(lens.answers):
        key = "commas" if _is_comma(answer) else "digits" if _is_digit(answer) else \
            "spaces" if answer.strip() == "" else None
        if key is not None and first[i] >= 0:
            groups[key].append(int(first[i]))
    said = [f"{name} reach rank 1 by layer {np.median(layers):.0f} (median over {len(layers)})"
            for name, layers in groups.items() if layers]
    return ("Rank of each produced token after every layer (logit lens, final norm applied). "
            + "; ".join(said) + ". Hover a cell for that layer's top predictions.")


def clusters_caption(clusters) -> str:
    """For each cluster: its size and the kind of token where its neurons fire most on average."""
    parts = []
    tokens = [t["token"] for t in clusters.tokens]
    for c in range(clusters.k):
        peak = int(np.argmax(clusters.centers[c]))
        mean = float(clusters.centers[c].mean())
        parts.append(f"cluster {c}: {int(clusters.sizes[c])} neurons, mean {mean:+.2f}, "
                     f"strongest at {shown(tokens[peak])} (position {peak})")
    return (f"k-means (k={clusters.k}) groups the neurons of layer {clusters.layer} by their firing across the "
            "tokens; rows are sorted by cluster. " + "; ".join(parts) + ".")


def split_share(factors) -> dict[str, tuple[int, float]]:
    """For generated digits and commas: the factor that dominates most of them, and the share it dominates."""
    outputs = [t for t in factors.tokens if t["type"] == "output" and factors.dominant[t["position"]] >= 0]
    out = {}
    for kind, test in (("digits", _is_digit), ("commas", _is_comma)):
        where = [int(factors.dominant[t["position"]]) for t in outputs if test(t["token"])]
        if where:
            factor, count = Counter(where).most_common(1)[0]
            out[kind] = (factor, count / len(where))
    return out


# ---------------------------------------------------------------------- the exhibits
def _section(heading: str, caption: str, view: Any) -> Item:
    return {"view": view, "heading": heading, "caption": caption}


def saliency_exhibits(scope: Scope) -> list[Item]:
    """Shakespeare's birth year, the EU list (detailed), the repeated ' 1,' and a chat answer."""
    items = []
    run = scope.generate(SHAKESPEARE, max_new_tokens=5, capture=())
    sal = run.saliency()
    items.append(_section("Input saliency: Shakespeare's birth year", saliency_caption(run, sal.matrix), sal))

    run = scope.generate(EU_LIST, max_new_tokens=24, capture=())
    sal = dataclasses.replace(run.saliency(), variant="detailed")
    items.append(_section("Input saliency, detailed: a numbered list of EU countries",
                          saliency_caption(run, sal.matrix) + " The percentages under each token are the "
                          "attribution to the selected output token.", sal))

    run = scope.generate(ONES, max_new_tokens=12, capture=())
    sal = run.saliency()
    items.append(_section("Input saliency: the repeated ' 1,' pattern", saliency_caption(run, sal.matrix), sal))

    messages = [{"role": "user", "content": QUESTION}]
    run = scope.generate(messages, max_new_tokens=24, capture=())
    sal = run.saliency()
    items.append(_section("Input saliency of a chat answer (the model's chat template)",
                          saliency_caption(run, sal.matrix) + " The prompt includes the chat template's system "
                          "and role tokens, which take part in the attribution like any other token.", sal))
    items.append(_section("Candidates of the chat answer",
                          "For each generated token, the model's top alternatives and their probabilities.", run))
    return items


def counting_exhibits(scope: Scope) -> list[Item]:
    """Counting: saliency, lens rankings, layer activations and clusters, two and five factors."""
    items = []
    run = scope.generate(COUNTING, max_new_tokens=30)
    sal = run.saliency()
    items.append(_section("Input saliency: counting '1, 2, 3,'", saliency_caption(run, sal.matrix), sal))

    lens = run.lens()
    items.append(_section("How the prediction forms: logit-lens rankings", lens_caption(lens), lens))

    layer = 4
    acts = run.neuron_activations(layer=layer, neurons=400)
    items.append(_section(f"Neuron activations of layer {layer}",
                          f"The first 400 of {scope.anatomy.n_neurons:,} FFN neurons of layer {layer}, one row per "
                          "neuron, one column per token; only positive activations are coloured. Input tokens "
                          "show the response to them, output tokens the activation that produced them.", acts))
    clusters = run.clusters(layer=layer, k=5)
    items.append(_section(f"Neurons of layer {layer} clustered by their firing", clusters_caption(clusters),
                          clusters))

    two = run.factors(n=2)
    label_factors(two)
    # The split is measured on each token's own activation (its response): in the seed's
    # reading an output comma shows the activation of the digit position that produced it.
    split = split_share(run.factors(n=2, mode="response"))
    said = " and ".join(f"factor {factor} dominates {percent(share)} of the generated {kind}"
                        for kind, (factor, share) in split.items())
    intro = (f"NMF over all {len(two.layers)} layers' FFN activations ({two.components.shape[1]:,} neurons) "
             f"into two factors. Read as each token's own activation, {said} (this tokenizer writes "
             "' 4' as a space token then a digit).")
    items.append(_section("Two activation factors of a counting sequence", factors_caption(two, intro), two))

    items.append(_section("Saliency and factors together",
                          "The counting run once: hover an output token to tint earlier tokens by its saliency; "
                          "the bars under each token are its factor activity (full colour: the dominant factor). "
                          "The seed's conclusion asked for combined techniques and word-sized graphics beside "
                          "tokens.",
                          combined(sal, two)))

    kept = run.factors(n=2, exclude=None)
    label_factors(kept)
    items.append(_section("Two factors with the first token kept",
                          factors_caption(kept, "The same factorisation with the first token kept: one factor "
                                                "becomes the first token alone, the seed's first-token factor "
                                                "taken to the extreme."), kept))

    five = run.factors(n=5)
    label_factors(five)
    items.append(_section("Five activation factors of a counting sequence",
                          factors_caption(five, "Five NMF factors over all layers."), five))
    return items


def text_factor_exhibits(scope: Scope) -> list[Item]:
    """Factors of the EU list, of XML, and of layer 0 on a passage of Notes from Underground."""
    items = []
    run = scope.generate(EU_LIST, max_new_tokens=30)
    eu = run.factors(n=6)
    label_factors(eu)
    items.append(_section("Six activation factors of a list of EU countries",
                          factors_caption(eu, f"The model continued with {run.output_text!r}. Six NMF factors "
                                              "over all layers."), eu))

    run = scope.analyze(XML)
    xml = run.factors(n=10)
    label_factors(xml)
    items.append(_section("Ten activation factors of XML",
                          factors_caption(xml, "Existing XML read by the model (no generation); ten NMF factors "
                                               "over all layers."), xml))

    run = scope.analyze(UNDERGROUND, layers=[0])
    under = run.factors(n=10, layers=[0])
    label_factors(under)
    items.append(_section("Ten factors from the Underground (layer 0)",
                          factors_caption(under, "The opening of Dostoevsky's Notes from Underground; ten NMF "
                                                 "factors of layer 0 alone, before any layer has mixed much "
                                                 "context in."), under))
    return items


SECTIONS: list[tuple[str, Callable[[Scope], list[Item]]]] = [
    ("saliency", saliency_exhibits),
    ("counting", counting_exhibits),
    ("factors", text_factor_exhibits),
]


def build_gallery(scope: Scope | None = None, path: str | Path = "lmscope-gallery.html", *,
                  progress: bool = True) -> Path:
    """Run every exhibit on ``scope`` (default: the embedded SmolLM2) and write one offline HTML page."""
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    start = time.perf_counter()
    if scope is None:
        scope = load()
        say(f"loaded {scope.name} in {time.perf_counter() - start:.1f} s")
    if scope.is_masked:
        raise ValueError(f"the gallery needs a causal LM that generates; {scope.name} is a masked LM")
    items: list[Item] = []
    for name, build in SECTIONS:
        began = time.perf_counter()
        items.extend(build(scope))
        say(f"{name}: {time.perf_counter() - began:.1f} s")
    out = save_html(items, path, title=f"lmscope gallery: {scope.name}")
    say(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(items)} explorables) "
        f"in {time.perf_counter() - start:.1f} s")
    return out


def main(argv: list[str] | None = None) -> None:
    """Build the gallery on the embedded default model and say where it is."""
    parser = argparse.ArgumentParser(prog="python -m lmscope.demo", description=build_gallery.__doc__)
    parser.add_argument("--out", default="lmscope-gallery.html", help="where to write the HTML gallery")
    parser.add_argument("--quiet", action="store_true", help="print only the path of the gallery")
    args = parser.parse_args(argv)
    out = build_gallery(path=args.out, progress=not args.quiet)
    print(out.resolve())


if __name__ == "__main__":
    main()
