"""The ``corpus`` command: neuron and factor statistics over many texts (:func:`lmscope.Scope.corpus`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..core.checks import Constraint, Integer, resolve_layers
from .commands import load_scope
from .output import Progress, UsageError, check_output, short, utf8, write_json


def corpus_constraint(name: str, fallback: Constraint) -> Constraint:
    """The constraint ``build_corpus`` declares on ``name`` (``fallback`` while it declares none)."""
    from ..corpus import build_corpus

    return getattr(build_corpus, "constraints", {}).get(name, fallback)


def neuron_type(text: str) -> tuple[int, int]:
    """``--neuron L:I`` as (layer, index); ranges are checked once the model has loaded."""
    try:
        layer, index = text.split(":")
        return int(layer), int(index)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LAYER:INDEX such as 4:123, got {text!r}") from None


def documents(args: argparse.Namespace) -> list[str]:
    """The texts of ``args.files``, split as ``--split`` and ``--text-key`` say."""
    texts: list[str] = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"no file {name!r}")
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text") from None
        if path.suffix == ".jsonl":
            for number, line in enumerate(content.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{name}:{number} is not JSON ({exc.msg})") from None
                if not isinstance(record, dict) or not isinstance(record.get(args.text_key), str):
                    raise UsageError(f"{name}:{number} has no string field {args.text_key!r}; pick the field "
                                     "with --text-key")
                texts.append(utf8(record[args.text_key], f"{name}:{number}"))
        elif args.split == "lines":
            texts.extend(line for line in content.splitlines() if line.strip())
        elif args.split == "paragraphs":
            texts.extend(p for p in content.split("\n\n") if p.strip())
        else:
            texts.append(content)
    return texts


def check_with_model(args: argparse.Namespace, scope: Any) -> list[int]:
    """``--layers`` and ``--neuron`` against the loaded model (usage errors, exit 2); returns the layers."""
    try:
        layers = resolve_layers(args.layers, scope.n_layers, name="layers")
        for layer, index in args.neuron or []:
            where = f"--neuron {layer}:{index}"
            if resolve_layers(layer, scope.n_layers, name=where)[0] not in layers:
                raise ValueError(f"{where}: layer {layer} is not collected (layers: {layers}); add it to --layers")
            Integer(0, scope.anatomy.n_neurons - 1).check(f"{where}: the neuron index", index)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return layers


def cmd_corpus(args: argparse.Namespace, progress: Progress) -> int:
    """Top activating examples of neurons (and factors) over many texts."""
    texts = documents(args)
    check_output("--save", args.save)
    check_output("--json", args.json)
    if not any(t.strip() for t in texts):
        raise UsageError("the files hold no text")
    scope = load_scope(args, progress)
    check_with_model(args, scope)
    neurons = [(layer % scope.n_layers, index) for layer, index in args.neuron or []]
    corpus = scope.corpus(texts, layers=args.layers, batch_size=args.batch_size, k=args.k,
                          max_length=args.max_length, long_texts="window" if args.window else "truncate",
                          progress=not progress.quiet)
    summary: dict[str, Any] = {"model": corpus.model_name, "docs": corpus.n_docs, "tokens": corpus.n_tokens,
                               "counted": corpus.n_counted, "layers": corpus.layers, "k": corpus.k}
    examples: dict[str, Any] = {}
    if args.factors:
        found = corpus.factors(args.factors, progress=not progress.quiet)
        summary["factors"] = found.stats().reset_index().to_dict(orient="records")
    if args.top_examples:
        k = min(args.top_examples, corpus.k)
        for layer, index in neurons or strongest(corpus):
            examples[f"neuron {layer}:{index}"] = corpus.top_examples(neuron=(layer, index), k=k)
        if corpus.factor_result is not None:
            for f in range(corpus.factor_result.n_factors):
                examples[f"factor {f}"] = corpus.top_examples(factor=f, k=k)
    if args.save:
        progress.say(f"wrote {corpus.save(args.save)}")
    if args.json is not None:
        summary["top_examples"] = {name: frame.to_dict(orient="records") for name, frame in examples.items()}
        write_json(summary, args.json, progress)
    if args.json != "-":
        print(f"{corpus.model_name}: {corpus.n_docs} documents, {corpus.n_tokens} tokens "
              f"({corpus.n_counted} counted), layers {span(corpus.layers)}")
        if "factors" in summary:
            print(f"\n{args.factors} factors:")
            print(found.stats().to_string())
        for name, frame in examples.items():
            print(f"\ntop examples of {name}:")
            for row in frame.itertuples():
                print(f"  {row.activation:9.3f}  doc {row.doc:<4} …{short(row.left, 40)!s:>40} "
                      f"[{row.token}] {short(row.right, 40)}…")
    progress.done("done")
    return 0


def strongest(corpus: Any) -> list[tuple[int, int]]:
    """The neuron with the largest single activation in each collected layer."""
    import numpy as np

    best = np.nan_to_num(corpus.top_values[:, 0, :], neginf=-np.inf).argmax(axis=1)
    return [(layer, int(best[i])) for i, layer in enumerate(corpus.layers)]


def span(layers: list[int]) -> str:
    """``0-5`` for a contiguous run of layers, else ``0, 2, 4``."""
    if len(layers) > 2 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}"
    return ", ".join(map(str, layers))
