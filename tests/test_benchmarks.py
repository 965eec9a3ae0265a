"""The saliency benchmark script on a tiny model: it runs end to end, and its per-token
baselines (the Ecco/Inseq-style loop, Captum's integrated gradients per token) give the
same rows as lmscope, so the ratios it prints compare equal work."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "saliency.py"


@pytest.fixture
def bench(monkeypatch, tiny_scopes):
    """benchmarks/saliency.py as a module, on the tiny llama with few tokens and steps."""
    spec = importlib.util.spec_from_file_location("benchmark_saliency", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scope = tiny_scopes("llama")
    monkeypatch.setattr(module.lmscope, "load", lambda *a, **k: scope)
    monkeypatch.setattr(module, "NEW_TOKENS", 4)
    monkeypatch.setattr(module, "IG_STEPS", 8)
    monkeypatch.setattr(module, "LONG_TOKENS", 60)
    monkeypatch.setattr(module, "LONG_TARGETS", 10)
    module.scope = scope
    return module


def test_the_loops_give_lmscopes_rows(bench):
    scope = bench.scope
    run = scope.generate(bench.PROMPT, max_new_tokens=bench.NEW_TOKENS, capture=())
    ours = run.saliency("grad_x_input").matrix
    for lean in (False, True):
        assert np.abs(bench.loop_grad_x_input(scope, run, lean=lean) - ours).max() < 1e-5
    ig = run.saliency("integrated_gradients", n_steps=bench.IG_STEPS)
    rows, deltas = bench.loop_integrated_gradients(scope, run)
    assert np.abs(rows - ig.matrix).max() < 1e-4
    np.testing.assert_allclose(deltas, ig.deltas, rtol=1e-3, atol=1e-4)


def test_main_prints_every_ratio_with_agreeing_rows(bench, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["saliency.py", "--skip-long", "--repeats", "1"])
    bench.main()
    out = capsys.readouterr().out
    for label in ("per-token loop (Ecco/Inseq)", "per-token loop, lean head", "per-token Captum IG loop"):
        line = next(line for line in out.splitlines() if line.startswith(label))
        assert float(re.search(r"ratio ([0-9.]+)x", line).group(1)) > 0
    differences = [float(x) for x in re.findall(r"max \|difference\| of rows\s*:?\s*([0-9.e+-]+)", out)]
    assert len(differences) == 2 and max(differences) < 1e-4
    assert re.search(r"completeness \|delta\|, max  : ours [0-9.e+-]+, loop [0-9.e+-]+", out)
    assert re.search(r"peak resident memory\s+: [0-9.]+ GiB", out)
    assert "long text" not in out


def test_long_text_reports_time_and_memory(bench, capsys):
    bench.long_text(bench.scope)
    line = capsys.readouterr().out.strip()
    match = re.fullmatch(r"long text\s+: (\d+) tokens, (\d+) targets, grad_x_input [0-9.]+ s, "
                         r"peak resident memory [0-9.]+ GiB", line)
    assert match and int(match.group(1)) == bench.LONG_TOKENS and int(match.group(2)) == bench.LONG_TARGETS
