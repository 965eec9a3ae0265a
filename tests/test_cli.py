"""The ``lmscope`` command line: every command through ``main([...])`` on a tiny model saved to a
folder (loaded offline the way a user's own model is), plus the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lmscope
from lmscope.cli import main

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------- explain / analyze
def test_explain_writes_report_and_json_matching_the_library(model_dir, tmp_path, capsys):
    html, data = tmp_path / "report.html", tmp_path / "out.json"
    code, out, err = run_cli(capsys, "explain", "1, 2, 3,", "--model", model_dir, "-n", "5", "--factors", "2",
                             "--lens", "--out", str(html), "--json", str(data), "--quiet")
    assert code == 0, err
    assert err == ""                                   # --quiet: no progress
    result = json.loads(data.read_text())
    assert [v["kind"] for v in result["views"]] == ["candidates", "saliency", "factors", "lens"]

    # Same model through the library: same tokens, same saliency.
    scope = lmscope.load(model_dir)
    run = scope.generate("1, 2, 3,", max_new_tokens=5)
    assert [t["token_id"] for t in result["tokens"]] == run.token_ids.tolist()
    assert out == run.output_text + "\n"
    assert result["output_text"] == run.output_text
    expected = run.saliency("grad_x_input").matrix
    assert np.allclose(result["results"]["saliency"]["attributions"][-1], expected[-1][: len(
        result["results"]["saliency"]["attributions"][-1])], atol=1e-5)
    assert result["results"]["lens"]["kind"] == "lens"

    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for kind in ("candidates", "saliency", "factors", "lens"):
        assert f'data-kind="{kind}"' in page
    assert "http://" not in page.split("<script>", 1)[0] and "src=" not in page   # nothing fetched


def test_progress_and_streamed_tokens_go_to_stderr(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "explain", "1, 2, 3,", "--model", model_dir, "-n", "3", "--saliency", "none")
    assert code == 0, err
    assert (tmp_path / "lmscope-report.html").exists()           # the default report
    lines = err.splitlines()
    assert any("loading" in line for line in lines) and any("generating" in line for line in lines)
    streamed = next(line for line in lines if line.startswith("lmscope: > "))
    assert streamed[len("lmscope: > "):] == out.rstrip("\n").replace("\n", "\\n")
    assert "saliency" not in err


def test_json_to_stdout_is_pure_json(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "explain", "1, 2,", "--model", model_dir, "-n", "2", "--json", "-q")
    assert code == 0, err
    data = json.loads(out)
    assert data["views"][1]["kind"] == "saliency"
    assert not (tmp_path / "lmscope-report.html").exists()       # --json alone writes no report


def test_sampling_with_a_seed_is_reproducible_and_chat_uses_the_template(model_dir, tmp_path, capsys):
    outs = []
    for i in range(2):
        path = tmp_path / f"s{i}.json"
        code, _, err = run_cli(capsys, "explain", "hello", "--chat", "--model", model_dir, "-n", "6", "--sample",
                               "--seed", "7", "--saliency", "none", "--json", str(path), "-q")
        assert code == 0, err
        outs.append(json.loads(path.read_text()))
    assert outs[0]["tokens"] == outs[1]["tokens"]
    assert outs[0]["settings"]["do_sample"] is True and outs[0]["settings"]["seed"] == 7
    assert outs[0]["settings"]["prompt"] == [{"role": "user", "content": "hello"}]
    assert outs[0]["text"].startswith("<user>hello\n<assistant>")


def test_analyze_reads_a_file_without_generating(model_dir, tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("The quick brown fox jumps over the lazy dog.", encoding="utf-8")
    out = tmp_path / "a.json"
    code, _, err = run_cli(capsys, "analyze", str(text), "--model", model_dir, "--json", str(out), "-q")
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["n_input"] == len(data["tokens"]) and data["output_text"] == ""
    assert [v["kind"] for v in data["views"]] == ["saliency"]
    assert data["views"][0]["targets"] == list(range(1, len(data["tokens"])))


# ---------------------------------------------------------------------------- corpus
def test_corpus_reports_top_examples_and_factors(model_dir, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("1, 2, 3, 4, 5, 6\nThe quick brown fox jumps over the lazy dog.\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "William Shakespeare was born in the year 1564."}) + "\n")
    out, saved = tmp_path / "c.json", tmp_path / "c.npz"
    code, _, err = run_cli(capsys, "corpus", str(tmp_path / "a.txt"), str(tmp_path / "b.jsonl"), "--split", "lines",
                           "--model", model_dir, "--layers", "1", "--factors", "2", "--top-examples", "3",
                           "--neuron", "1:5", "--save", str(saved), "--json", str(out), "-q")
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["docs"] == 3 and data["layers"] == [1]
    assert set(data["top_examples"]) == {"neuron 1:5", "factor 0", "factor 1"}
    assert len(data["factors"]) == 2
    corpus = lmscope.load_corpus(saved)
    expected = corpus.top_examples(neuron=(1, 5), k=3)
    got = data["top_examples"]["neuron 1:5"]
    assert [row["token"] for row in got] == expected["token"].tolist()
    assert [row["activation"] for row in got] == pytest.approx(expected["activation"].tolist(), rel=1e-5)

    code, printed, err = run_cli(capsys, "corpus", str(tmp_path / "a.txt"), "--model", model_dir, "--top-examples",
                                 "-q")
    assert code == 0, err
    assert "1 documents" in printed and "top examples of neuron 0:" in printed and "top examples of neuron 1:" in printed


# ---------------------------------------------------------------------------- models / demo
def test_models_lists_what_loads_offline_without_loading(tmp_path, capsys, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "models" / "my-model-1234").mkdir(parents=True)
    (cache / "models" / "my-model-1234" / "config.json").write_text("{}")
    (cache / "models" / ".converting-x").mkdir()                   # half-written: not listed
    hub = tmp_path / "hub" / "models--owner--tiny" / "snapshots" / "abc"
    hub.mkdir(parents=True)
    (hub / "config.json").write_text("{}")
    monkeypatch.setenv("LMSCOPE_CACHE", str(cache))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    def no_loading(*args, **kwargs):
        raise AssertionError("lmscope models must not load a model")

    import transformers

    monkeypatch.setattr(lmscope, "load", no_loading)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_loading)

    code, out, err = run_cli(capsys, "models", "--json")
    assert code == 0, err
    found = {entry["name"]: entry for entry in json.loads(out)}
    assert found["SmolLM2-135M-Instruct"]["kind"] == "default"
    assert found["my-model-1234"]["path"] == str(cache / "models" / "my-model-1234")
    assert found["owner/tiny"]["kind"] == "hub cache"
    assert ".converting-x" not in found

    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and "* SmolLM2-135M-Instruct" in out and "owner/tiny" in out


def test_demo_calls_the_gallery_builder(tmp_path, capsys, monkeypatch):
    import lmscope.demo

    calls = []

    def fake(scope=None, path="lmscope-gallery.html", *, progress=True):
        calls.append((scope, path, progress))
        Path(path).write_text("<html></html>")
        return Path(path)

    monkeypatch.setattr(lmscope.demo, "build_gallery", fake, raising=False)
    target = tmp_path / "g.html"
    code, out, err = run_cli(capsys, "demo", "--out", str(target), "-q")
    assert code == 0, err
    assert calls == [(None, str(target), False)] and out.strip() == str(target)

    def broken(*args, **kwargs):
        raise RuntimeError("the gallery broke\nsecond line")

    monkeypatch.setattr(lmscope.demo, "build_gallery", broken, raising=False)
    code, _, err = run_cli(capsys, "demo", "--out", str(target))
    assert code == 1 and err.strip().splitlines()[-1] == "lmscope: error: the gallery broke"


def test_serve_loads_the_model_and_passes_the_limits(model_dir, capsys, monkeypatch):
    import lmscope.server

    seen = {}
    monkeypatch.setattr(lmscope.server, "serve", lambda scope, **kw: seen.update(kw, scope=scope))
    code, _, err = run_cli(capsys, "serve", "--model", model_dir, "--port", "8123", "--max-new-tokens", "7")
    assert code == 0, err
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123 and seen["limits"].max_new_tokens == 7
    assert "http://127.0.0.1:8123/" in err


# ---------------------------------------------------------------------------- exit codes
@pytest.mark.parametrize("argv, message", [
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice"),
    (["explain"], "PROMPT"),
    (["explain", "hi", "--max-new-tokens", "0"], "max_new_tokens must be a positive integer; got 0"),
    (["explain", "hi", "--saliency", "magic"], "saliency must be one of 'grad_x_input', "),
    (["explain", "hi", "--layers", "1"], "factor_layers chooses the layers to factorise, so it needs factors"),
    (["explain", "hi", "--factors", "2", "--layers", "x"], "factor_layers must be an int or a non-empty list of "
                                                           "ints (layer indexes), or None; got ['x']"),
    (["explain", "hi", "--top-p", "1.5"], "top_p must be a number > 0 and <= 1, or None; got 1.5"),
    (["corpus", "a.txt", "--neuron", "x"], "expected LAYER:INDEX"),
    (["explain", "   "], "prompt is empty"),
    (["explain", "hi", "--seed", "3"], "--seed only matters with --sample"),
    (["analyze", "/no/such/file.txt"], "no file"),
    (["corpus", "/no/such/file.txt"], "no file"),
    (["serve", "--port", "70000"], "port must be an integer from 0 to 65535; got 70000"),
])
def test_usage_errors_exit_2_before_loading(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(lmscope, "load", lambda *a, **k: pytest.fail("a usage error must not load a model"))
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize("argv, message", [
    (["explain", "hi", "--factors", "2", "--layers", "5"], "factor_layers: layer 5 is out of range: this model has 2 "
                                                            "layers (0..1)"),
    (["analyze", "TEXT", "--factors", "2", "--layers", "-3"], "factor_layers: layer -3 is out of range"),
    (["corpus", "TEXT", "--layers", "7"], "layers: layer 7 is out of range"),
    (["corpus", "TEXT", "--layers", "1", "--neuron", "0:3"], "--neuron 0:3: layer 0 is not collected (layers: [1]); "
                                                             "add it to --layers"),
    (["corpus", "TEXT", "--neuron", "4:3"], "--neuron 4:3: layer 4 is out of range"),
    (["corpus", "TEXT", "--neuron", "1:64"], "--neuron 1:64: the neuron index must be an integer from 0 to 63; got 64"),
])
def test_layer_ranges_need_the_model_and_still_exit_2(argv, message, model_dir, tmp_path, capsys, monkeypatch):
    """Layer ranges are checked right after the model loads, with the library's message and exit code 2."""
    text = tmp_path / "t.txt"
    text.write_text("1, 2, 3, 4", encoding="utf-8")
    calls = []
    monkeypatch.setattr(lmscope.Scope, "corpus", lambda *a, **k: calls.append("corpus"))
    monkeypatch.setattr(lmscope.Scope, "generate", lambda *a, **k: calls.append("generate"))
    monkeypatch.setattr(lmscope.Scope, "analyze", lambda *a, **k: calls.append("analyze"))
    argv = [str(text) if a == "TEXT" else a for a in argv]
    code, out, err = run_cli(capsys, *argv, "--model", model_dir, "-q")
    assert code == 2, err
    assert err.strip() == f"lmscope {argv[0]}: error: {message}" or message in err
    assert calls == [] and out == ""


def test_serve_without_the_serve_extra_exits_2_with_the_install_line(capsys, monkeypatch):
    monkeypatch.setattr(lmscope, "load", lambda *a, **k: pytest.fail("must not load a model"))
    monkeypatch.setitem(sys.modules, "fastapi", None)          # what an install without the extra looks like
    code, out, err = run_cli(capsys, "serve")
    assert code == 2 and out == ""
    assert "pip install 'lmscope[serve]'" in err and "fastapi" in err


def test_a_local_explain_does_not_import_the_web_packages(model_dir, tmp_path):
    """`lmscope explain` runs on lmscope.report alone: FastAPI, uvicorn and pydantic stay unimported."""
    script = ("import sys; from lmscope.cli import main; "
              f"code = main(['explain', '1, 2,', '--model', {model_dir!r}, '-n', '2', '--factors', '2', '--lens', "
              f"'--out', {str(tmp_path / 'r.html')!r}, '-q']); "
              "print(code, sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'lmscope.server') "
              "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **OFFLINE})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_saliency_help_lists_the_registry_with_summaries(capsys):
    from lmscope.saliency import registry, saliency_methods

    assert main(["explain", "--help"]) == 0
    text = capsys.readouterr().out
    for name in saliency_methods():
        summary = registry.get(name).summary
        assert any(line.split() and line.split()[0] == name and summary[:30] in line for line in text.splitlines()), \
            name


def test_failures_exit_1_with_one_line_and_traceback_only_with_debug(model_dir, capsys):
    code, _, err = run_cli(capsys, "explain", "hi", "--model", "/no/such/model-folder", "-q")
    assert code == 1
    assert err.splitlines() == [err.strip()] and err.startswith("lmscope: error: no model folder at")

    code, _, err = run_cli(capsys, "explain", "1, 2, " * 80, "--model", model_dir, "-n", "10", "-q")
    assert code == 1 and "context of 128" in err and len(err.strip().splitlines()) == 1

    code, _, err = run_cli(capsys, "explain", "hi", "--model", "/no/such/model-folder", "--debug", "-q")
    assert code == 1 and "Traceback (most recent call last)" in err


def test_help_and_version_exit_0(capsys):
    assert main(["--version"]) == 0
    assert lmscope.__version__ in capsys.readouterr().out
    assert main(["explain", "--help"]) == 0
    assert "--max-new-tokens" in capsys.readouterr().out


# ---------------------------------------------------------------------------- the installed script
def test_console_script_smoke(model_dir, tmp_path):
    script = shutil.which("lmscope", path=str(Path(sys.executable).parent))
    assert script, "the lmscope console script is not installed next to this Python (pip install -e .)"
    env = {**os.environ, **OFFLINE}
    done = subprocess.run([script, "explain", "1, 2, 3,", "--model", model_dir, "-n", "3", "--out",
                           str(tmp_path / "r.html"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and done.stderr == ""
    assert 'data-kind="saliency"' in (tmp_path / "r.html").read_text()

    done = subprocess.run([script, "analyze", str(tmp_path / "missing.txt")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 2 and done.stderr.strip() == "lmscope analyze: error: no file " + repr(
        str(tmp_path / "missing.txt"))
