import numpy as np
import pytest

import lmscope
from lmscope.testing import sample_run


def test_round_trip_is_exact(any_family, tmp_path):
    run = sample_run(any_family, capture=("activations", "hidden_states", "attentions"))
    path = run.save(tmp_path / "run.lms")
    back = lmscope.load_run(path)
    for name in ("token_ids", "activations", "hidden_states", "attentions", "candidate_ids", "candidate_probs",
                 "chosen_probs", "candidate_positions"):
        a, b = getattr(run, name), getattr(back, name)
        if a is None:
            assert b is None
        else:
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert back.tokens == run.tokens and back.n_input == run.n_input
    assert back.candidates == run.candidates and back.settings == run.settings
    assert back.activation_layers == run.activation_layers and back.model_name == run.model_name
    assert back.scope is None


def test_float16_round_trip(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("1, 2,", max_new_tokens=3, activation_dtype="float16", layers=[1])
    back = lmscope.load_run(run.save(tmp_path / "r.lms"))
    assert back.activations.dtype == np.float16 and back.activation_layers == [1]
    np.testing.assert_array_equal(back.activations, run.activations)


def test_loaded_run_without_model_says_how_to_attach(tiny_scopes, tmp_path):
    scope = tiny_scopes("gpt2")
    back = lmscope.load_run(scope.generate("a b", max_new_tokens=2).save(tmp_path / "r.lms"))
    with pytest.raises(ValueError, match="load_run\\(path, scope="):
        back.require_scope()
    assert lmscope.load_run(tmp_path / "r.lms", scope=scope).require_scope() is scope


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupted_run_file(tiny_scopes, tmp_path, damage):
    path = tiny_scopes("gpt2").generate("a b", max_new_tokens=2).save(tmp_path / "r.lms")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a run" * 10, "empty": b""}[damage])
    with pytest.raises(lmscope.RunFileError, match="save it again"):
        lmscope.load_run(path)


def test_not_an_lmscope_file(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(lmscope.RunFileError):
        lmscope.load_run(tmp_path / "other.npz")


def test_missing_run_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        lmscope.load_run(tmp_path / "nope.lms")
