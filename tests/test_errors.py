import pytest

import lmscope


@pytest.mark.parametrize("prompt", ["", "   ", [], 42])
def test_empty_or_wrong_prompt(tiny_scopes, prompt):
    with pytest.raises(ValueError, match="prompt"):
        tiny_scopes("llama").generate(prompt, max_new_tokens=2)


def test_empty_text_for_analyze(tiny_scopes):
    with pytest.raises(ValueError, match="empty"):
        tiny_scopes("bert").analyze("")


def test_prompt_plus_new_tokens_longer_than_context(tiny_scopes):
    scope = tiny_scopes("llama")  # context of 128 positions
    with pytest.raises(ValueError, match="context of 128.*max_new_tokens"):
        scope.generate("1, 2, 3,", max_new_tokens=200)
    with pytest.raises(ValueError, match="context of 128"):
        scope.analyze("1, 2, 3, " * 100)


@pytest.mark.parametrize("layers", [[2], [-3], 5, ["0"], []])
def test_layer_out_of_range(tiny_scopes, layers):
    with pytest.raises(ValueError, match="layer"):
        tiny_scopes("gpt2").generate("1, 2,", max_new_tokens=2, layers=layers)


@pytest.mark.parametrize("capture", ["logits", ("logits",), ("activations", 3), 5, None])
def test_unknown_capture(tiny_scopes, capture):
    with pytest.raises(ValueError, match="capture must be a name or a list of names from 'activations'.*; got"):
        tiny_scopes("gpt2").analyze("hi", capture=capture)


@pytest.mark.parametrize("options,match", [
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"num_beams": 0}, "num_beams"),
    ({"do_sample": True, "temperature": 0}, "temperature"),
    ({"activation_dtype": "int8"}, "activation_dtype"),
])
def test_bad_generation_options(tiny_scopes, options, match):
    with pytest.raises(ValueError, match=match):
        tiny_scopes("gpt2").generate("1, 2,", **{"max_new_tokens": 2, **options})


def test_bad_chat_messages(tiny_scopes):
    with pytest.raises(ValueError, match="role"):
        tiny_scopes("llama").generate([{"content": "hi"}], max_new_tokens=2)


def test_unknown_model_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model folder"):
        lmscope.load(str(tmp_path / "missing-model"))
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        lmscope.load(str(tmp_path / "missing.gguf"))


def test_model_object_needs_tokenizer():
    from lmscope.testing import tiny_model

    model, _ = tiny_model("gpt2")
    with pytest.raises(ValueError, match="tokenizer="):
        lmscope.load(model)


def test_bad_dtype_and_device():
    with pytest.raises(ValueError, match="dtype"):
        lmscope.load(None, dtype="float8")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            lmscope.load(None, device="cuda")
