"""Synthetic view data for the view tests (no model needed), shaped exactly like the contracts."""

from __future__ import annotations

import numpy as np

HOSTILE = "</script><img src=x onerror=alert(1)>"

# The seed article's Shakespeare example (GPT2-XL, gradient x input).
SHAKESPEARE_TOKENS = ["William", " Shakespeare", " was", " born", " in", " the", " year", " 15", "64"]
SHAKESPEARE_IDS = [17121, 22197, 373, 4642, 287, 262, 614, 1315, 2414]
SHAKESPEARE_ROWS = [
    [0.19848251342773438, 0.32942917943000793, 0.05011766031384468, 0.13882650434970856,
     0.03504488989710808, 0.03160524368286133, 0.21649402379989624],
    [0.20338013768196106, 0.40688660740852356, 0.027534732595086098, 0.07486312091350555,
     0.018689097836613655, 0.025199878960847855, 0.07319901138544083, 0.1702473908662796],
]


def token_table(strings: list[str], n_input: int, ids: list[int] | None = None) -> list[dict]:
    """The common token list: the first n_input tokens are input, the rest output."""
    ids = ids or list(range(100, 100 + len(strings)))
    return [{"token": s, "token_id": int(i), "type": "input" if p < n_input else "output", "position": p}
            for p, (s, i) in enumerate(zip(strings, ids))]


def shakespeare(variant: str = "minimal") -> dict:
    """Explorable 'Shakespeare's birth year' with the seed's own numbers."""
    n = len(SHAKESPEARE_TOKENS)
    rows = [row + [0.0] * (n - len(row)) for row in SHAKESPEARE_ROWS]
    return {"kind": "saliency", "tokens": token_table(SHAKESPEARE_TOKENS, 7, SHAKESPEARE_IDS),
            "targets": [7, 8], "attributions": rows, "variant": variant, "method": "grad_x_input",
            "title": "William Shakespeare was born in the year 1564", "caption": "Gradient x input, GPT2-XL."}


def random_saliency(n_input: int, n_output: int, seed: int = 0, words: list[str] | None = None) -> dict:
    """Saliency over n_input + n_output tokens with random normalised rows (zeros from the target on)."""
    rng = np.random.default_rng(seed)
    n = n_input + n_output
    words = words or [(" w" if i % 7 else "\n") if i % 13 else " " for i in range(n)]
    strings = [w + (str(i) if w.strip() else "") for i, w in enumerate(words)][:n]
    targets = list(range(n_input, n))
    attributions = np.zeros((n_output, n))
    for r, t in enumerate(targets):
        row = rng.random(t) ** 3
        attributions[r, :t] = row / row.sum()
    return {"kind": "saliency", "tokens": token_table(strings, n_input), "targets": targets,
            "attributions": attributions, "variant": "minimal", "method": "grad_x_input"}


def counting_factors(n_factors: int = 3, seed: int = 1) -> dict:
    """Factors of a counting sequence "1, 2, 3, … 9,": a comma factor, a digit factor, a start factor."""
    rng = np.random.default_rng(seed)
    strings = []
    for i in range(1, 10):
        strings += [(" " if i > 1 else "") + str(i), ","]
    n = len(strings)
    f = np.zeros((n_factors, n))
    for p, s in enumerate(strings):
        f[0, p] = 1.0 + rng.random() if s == "," else 0.1 * rng.random()
        f[1, p] = 0.6 + 0.1 * p if s != "," else 0.05 * rng.random()
        if n_factors > 2:
            f[2:, p] = rng.random(n_factors - 2) * (2.0 if p < 3 else 0.2)
    excluded = [0]
    dominant = [-1 if p in excluded else int(np.argmax(f[:, p])) for p in range(n)]
    return {"kind": "factors", "tokens": token_table(strings, 6), "factors": f, "dominant": dominant,
            "excluded": excluded, "labels": [f"Factor {k + 1}" for k in range(n_factors)],
            "title": "Factors of a counting sequence"}


def lens(n_layers: int = 6) -> dict:
    """Rankings of the produced tokens of " 4, 5," after every layer."""
    strings = ["1", ",", " 2", ",", " 3", ",", " 4", ",", " 5", ","]
    tokens = token_table(strings, 6)
    targets = [6, 7, 8, 9]
    ranks = np.ones((n_layers, len(targets)), dtype=int)
    probs = np.zeros((n_layers, len(targets)))
    top = []
    for layer in range(n_layers):
        row = []
        for j, t in enumerate(targets):
            rank = max(1, int(30000 / 8 ** (layer + (j % 2) * 2))) if layer < n_layers - 1 else 1
            ranks[layer, j] = rank
            probs[layer, j] = 0.9 if rank == 1 else 1.0 / (rank + 10)
            preds = [{"token": strings[t], "prob": float(probs[layer, j])}] if rank == 1 else []
            preds += [{"token": f" x{layer}{j}{k}", "prob": 0.05 / (k + 1)} for k in range(4)]
            row.append(preds)
        top.append(row)
    return {"kind": "lens", "tokens": tokens, "targets": targets,
            "layers": [f"Layer {i}" for i in range(n_layers)], "ranks": ranks, "probs": probs, "top": top,
            "title": "Logit lens: rank of each produced token"}


def activations(rows: int = 60, seed: int = 2) -> dict:
    """Neurons x tokens with three clusters, rows sorted by cluster."""
    rng = np.random.default_rng(seed)
    strings = ["1", ",", " 2", ",", " 3", ",", " 4", ",", " 5", ","]
    n = len(strings)
    clusters = np.sort(rng.integers(0, 3, rows))
    values = rng.normal(0, 1, (rows, n))
    values[clusters == 1, 1::2] += 3  # a comma cluster
    return {"kind": "activations", "tokens": token_table(strings, 6), "values": values,
            "row_labels": [f"L4 neuron {i}" for i in range(rows)], "clusters": clusters,
            "title": "Layer 4 activations"}


def candidates(k: int = 5) -> dict:
    """Top-k alternatives at each generated step of " 4, 5,"."""
    strings = ["1", ",", " 2", ",", " 3", ",", " 4", ",", " 5", ","]
    steps = []
    for p in range(6, len(strings)):
        probs = [0.7 / (i + 1) ** 2 for i in range(k)]
        top = [{"token": strings[p] if i == 0 else f" alt{i}", "token_id": 500 + p * 10 + i, "prob": pr}
               for i, pr in enumerate(probs)]
        steps.append({"position": p, "chosen": dict(top[0]), "top": top})
    # The last step was sampled outside the top-k.
    steps[-1]["chosen"] = {"token": strings[-1], "token_id": 9, "prob": 0.01}
    return {"kind": "candidates", "tokens": token_table(strings, 6), "steps": steps,
            "title": "Candidates at each step"}


def combined(n_factors: int = 3, seed: int = 3) -> dict:
    """Saliency and factors of the counting sequence in one view (fields of both kinds side by side)."""
    fac = counting_factors(n_factors)
    n = len(fac["tokens"])
    rng = np.random.default_rng(seed)
    targets = [p for p in range(n) if fac["tokens"][p]["type"] == "output"]
    attributions = np.zeros((len(targets), n))
    for r, t in enumerate(targets):
        row = rng.random(t) ** 2
        attributions[r, :t] = row / row.sum()
    return {"kind": "combined", "tokens": fac["tokens"], "targets": targets, "attributions": attributions,
            "method": "grad_x_input", "factors": fac["factors"], "dominant": fac["dominant"],
            "excluded": fac["excluded"], "labels": fac["labels"], "title": "Saliency and factors"}
