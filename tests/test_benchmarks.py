"""The benchmark scripts on a tiny model, so they cannot rot unnoticed: each runs end to end
and prints its ratios, and the saliency benchmark's per-token baselines (the Ecco/Inseq-style
loop, Captum's integrated gradients per token) give lmscope's rows, so the ratios it prints
compare equal work."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    """benchmarks/<name>.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ratio(out: str, label: str) -> float:
    """The number after ``label`` and a colon in the printed output."""
    return float(re.search(re.escape(label) + r"\s*:\s*([0-9.]+)", out).group(1))


@pytest.fixture
def bench(monkeypatch, tiny_scopes):
    """benchmarks/saliency.py as a module, on the tiny llama with few tokens and steps."""
    module = load_benchmark("saliency")
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


def test_capture_benchmark(monkeypatch, tiny_scopes, capsys):
    module = load_benchmark("capture")
    monkeypatch.setattr(module.lmscope, "load", lambda *a, **k: tiny_scopes("llama"))
    monkeypatch.setattr(module, "NEW_TOKENS", 3)
    monkeypatch.setattr(module, "REPEATS", 1)
    loads = []       # the load times run the real model in child processes; here only the calls are checked
    monkeypatch.setattr(module, "load_time", lambda cache: loads.append(cache) or 2.0)
    module.main()
    out = capsys.readouterr().out
    assert ratio(out, "ratio capture/plain") > 0
    assert len(loads) == 2 and loads[0] is not None and loads[1] is None      # a fresh cache, then the user's
    assert "cold/warm = 1.0x" in out


def test_corpus_benchmark(monkeypatch, capsys):
    module = load_benchmark("corpus")
    monkeypatch.setattr(module, "REPEATS", 1)
    monkeypatch.setattr(sys, "argv", ["corpus.py", "--no-real"])
    module.main()
    out = capsys.readouterr().out
    assert out.startswith("tiny llama: 240 texts") and "SmolLM2" not in out
    assert ratio(out, "ratio collect / plain") > 0 and ratio(out, "ratio collect / forward only") > 0


@pytest.mark.parametrize("stream", [False, True])
def test_serve_load_benchmark(monkeypatch, capsys, stream):
    module = load_benchmark("serve_load")
    argv = ["serve_load.py", "--requests", "4", "--clients", "2", "--max-new-tokens", "2"]
    monkeypatch.setattr(sys, "argv", argv + (["--stream"] if stream else []))
    module.main()
    out = capsys.readouterr().out
    assert ("/api/stream" in out) == stream
    assert "server, 2 clients" in out and ratio(out, "throughput ratio server/in-process") > 0
    assert re.search(r"1-client overhead per request: [+-][0-9.]+ ms", out)
