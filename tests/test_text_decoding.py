"""Texts are what the tokenizer decodes (every script, WordPiece too); token display strings say when a
token is only part of a character (its bytes, ``<0xE6>``) instead of showing U+FFFD (issues 17.4, 18.1)."""

from __future__ import annotations

import json

import pytest

import lmscope
from lmscope.cli import main
from lmscope.core import archive
from lmscope.core.record import FORMAT, FORMAT_VERSION, META, RunFileError
from lmscope.core.tokens import decoded_texts, display_tokens, token_id
from lmscope.report import ViewChoice, explain

FFFD = "\ufffd"
SCRIPTS = {"cjk": "日本語のテキスト", "emoji": "🍨🍨🍨🍨", "arabic": "مرحبا بالعالم",
           "combining": "e\u0301te\u0301 n\u0303o a\u0308"}
MIXED = "日本語 🍨🍨 مرحبا e\u0301"
NO_VIEWS = ViewChoice(saliency=None, candidates=True)


def decode(scope, ids) -> str:
    return scope.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)


def check_run_text(scope, run) -> None:
    """The invariants every run's text keeps, whatever the script."""
    assert run.text == decode(scope, run.token_ids)
    assert run.input_text + run.output_text == run.text
    if FFFD not in decode(scope, run.token_ids):
        assert FFFD not in run.text + run.input_text + run.output_text
        assert not any(FFFD in t for t in run.tokens)


# ---------------------------------------------------------------------------- tiny models, every family
def test_analysed_text_in_every_script_is_the_tokenizers_decode(any_family):
    for name, text in SCRIPTS.items():
        run = any_family.analyze(text, capture=("hidden_states",))
        check_run_text(any_family, run)
        assert text in run.text, name
        assert run.output_text == "" and run.input_text == run.text


def test_generated_text_splits_into_input_and_output_at_the_prompt(causal_family):
    run = causal_family.generate(MIXED, max_new_tokens=6, capture=("hidden_states",))
    check_run_text(causal_family, run)
    assert run.input_text == MIXED    # the tiny tokenizer adds no BOS
    assert run.output_text == run.text[len(MIXED):]


def test_partial_characters_show_their_bytes_and_whole_ones_their_text(tiny_scopes):
    tokenizer = tiny_scopes("llama").tokenizer
    ids = tokenizer("🍨 a日", add_special_tokens=False)["input_ids"]
    shown = display_tokens(tokenizer, ids)
    assert not any(FFFD in s for s in shown)
    joined = "".join(shown)
    # every byte of the two split characters is shown, in order, and nothing else is invented
    assert joined.replace(" a", "") == "".join(f"<0x{b:02X}>" for b in "🍨日".encode())
    # a byte tag is a display string like any other: it resolves back to its token
    assert token_id(tokenizer, shown[0], "token") == ids[0]
    # tokens of whole characters keep joining back to the text
    plain = tokenizer("a b, c", add_special_tokens=False)["input_ids"]
    assert "".join(display_tokens(tokenizer, plain)) == "a b, c"


def test_a_character_split_at_the_input_boundary_belongs_to_the_output(tiny_scopes):
    tokenizer = tiny_scopes("llama").tokenizer
    ids = tokenizer("a🍨b", add_special_tokens=False)["input_ids"]
    full = tokenizer.decode(ids)
    for n in range(len(ids) + 1):
        head, tail = decoded_texts(tokenizer, ids, n)
        assert head + tail == full == "a🍨b"
        assert FFFD not in head + tail
        assert head in ("", "a", "a🍨", "a🍨b")   # never a part of the emoji
    assert decoded_texts(tokenizer, ids, 2) == ("a", "🍨b")    # 'a' then the emoji's first byte


def test_saved_runs_keep_their_text_and_old_files_still_load(tiny_scopes, tmp_path):
    scope = tiny_scopes("gpt2")
    run = scope.generate(MIXED, max_new_tokens=4, capture=())
    back = lmscope.load_run(run.save(tmp_path / "run.lms"))
    assert (back.text, back.input_text, back.output_text) == (run.text, run.input_text, run.output_text)
    assert back.tokens == run.tokens
    # a file written before the texts were stored: the texts fall back to the joined display strings
    meta = {"format": FORMAT, "version": FORMAT_VERSION, **{name: getattr(run, name) for name in META}}
    old = archive.write(tmp_path / "old.lms", meta, {"token_ids": run.token_ids})
    legacy = lmscope.load_run(old)
    assert legacy.text == "".join(run.tokens) and legacy.output_text == "".join(run.tokens[run.n_input:])
    # texts that are not strings are a corrupt file, not a crash later
    meta.update(decoded_input=3, decoded_output="x")
    with pytest.raises(RunFileError, match="decoded texts"):
        lmscope.load_run(archive.write(tmp_path / "bad.lms", meta, {"token_ids": run.token_ids}))


def test_explained_json_carries_the_decoded_text(tiny_scopes):
    scope = tiny_scopes("llama")
    out = explain(scope, MIXED, NO_VIEWS, mode="analyze")
    data = json.loads(json.dumps(out.to_dict(), ensure_ascii=False))
    assert data["text"] == decode(scope, out.run.token_ids) and MIXED in data["text"]
    assert data["output_text"] == "" and FFFD not in json.dumps(data, ensure_ascii=False)
    assert [t["token"] for t in data["tokens"]] == out.run.tokens


def test_corpus_documents_read_as_decoded(tiny_scopes):
    scope = tiny_scopes("llama")
    corpus = scope.corpus([SCRIPTS["cjk"], SCRIPTS["emoji"]], layers=[0], k=2, progress=False)
    for doc, text in enumerate([SCRIPTS["cjk"], SCRIPTS["emoji"]]):
        assert corpus.text(doc) == text
        record = corpus.document(doc)
        assert record.text == text and record.output_text == "" and FFFD not in "".join(record.tokens)


# ---------------------------------------------------------------------------- the command line
def test_cli_prints_and_streams_the_decoded_text(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = tmp_path / "out.json"
    code = main(["explain", MIXED, "--model", model_dir, "-n", "8", "--saliency", "none", "--out",
                 str(tmp_path / "r.html"), "--json", str(data)])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(data.read_text(encoding="utf-8"))
    ids = [t["token_id"] for t in result["tokens"]]
    scope = lmscope.load(model_dir)
    output = decode(scope, ids[result["n_input"]:])
    assert out == result["output_text"] + "\n" and result["output_text"] == output
    assert result["text"] == decode(scope, ids) and result["text"].startswith(MIXED)
    streamed = next(line for line in err.splitlines() if line.startswith("lmscope: > "))
    assert streamed[len("lmscope: > "):] == output.replace("\n", "\\n")    # the stream shows text, not bytes

    source = tmp_path / "text.txt"
    source.write_text(MIXED, encoding="utf-8")
    code = main(["analyze", str(source), "--model", model_dir, "--json", "-", "--quiet"])
    out, _ = capsys.readouterr()
    read = json.loads(out)
    assert code == 0 and read["text"] == MIXED and FFFD not in out


# ---------------------------------------------------------------------------- WordPiece
@pytest.fixture
def tiny_bert(tmp_path):
    """A tiny random BERT with a real WordPiece tokenizer read from a vocab file."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cap", "##ital", "of", "france", "is", ".",
             "paris", ",", "日", "本"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(str(tmp_path))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)
    return lmscope.load(BertForMaskedLM(config), tokenizer=tokenizer)


def test_wordpiece_text_reads_as_decode_does_and_tokens_keep_their_pieces(tiny_bert):
    run = tiny_bert.analyze("The capital of France is [MASK]. 日本", capture=("hidden_states",))
    assert run.text == tiny_bert.tokenizer.decode(run.token_ids.tolist())
    assert run.text == "[CLS] the capital of france is [MASK]. 日 本 [SEP]"   # spaces back, ## joined
    assert run.tokens[:4] == ["[CLS]", "the", "cap", "##ital"]
    assert run.input_text == run.text and run.output_text == ""
    data = explain(tiny_bert, "The capital of France is [MASK].", NO_VIEWS).to_dict()
    assert data["text"] == "[CLS] the capital of france is [MASK]. [SEP]"


# ---------------------------------------------------------------------------- the real tokenizer
@pytest.mark.real_model
def test_real_tokenizer_every_script_round_trips(smol, tmp_path):
    for name, text in SCRIPTS.items():
        run = smol.analyze(text, capture=())
        check_run_text(smol, run)
        assert run.text == text, name
        back = lmscope.load_run(run.save(tmp_path / f"{name}.lms"))
        assert back.text == text and back.tokens == run.tokens
    tokens = smol.analyze(SCRIPTS["cjk"], capture=()).tokens
    assert tokens[:3] == ["<0xE6><0x97>", "<0xA5>", "本"]    # 日 spans two tokens: shown as its bytes
    data = json.loads(json.dumps(explain(smol, MIXED, NO_VIEWS, mode="analyze").to_dict(), ensure_ascii=False))
    assert data["text"] == MIXED and FFFD not in json.dumps(data, ensure_ascii=False)


@pytest.mark.real_model
def test_real_chat_answer_of_emoji_splits_cleanly(smol):
    """A chat answer of emoji (each emoji three byte-level tokens): the output text is the emoji, at any cut."""
    messages = [{"role": "user", "content": "Four ice creams, in emoji only?"}]
    prompt = smol.encode(messages)[0].tolist()
    answer = smol.tokenizer("🍨🍨🍨🍨", add_special_tokens=False)["input_ids"]
    ids = prompt + answer
    head, tail = decoded_texts(smol.tokenizer, ids, len(prompt))
    assert tail == "🍨🍨🍨🍨" and head + tail == smol.tokenizer.decode(ids)
    for n in range(len(prompt), len(ids) + 1):        # cut inside an emoji: the emoji goes to the output
        head, tail = decoded_texts(smol.tokenizer, ids, n)
        assert head + tail == smol.tokenizer.decode(ids) and FFFD not in head + tail
    run = smol.analyze(messages + [{"role": "assistant", "content": "🍨🍨🍨🍨"}], capture=())
    check_run_text(smol, run)
    assert "🍨🍨🍨🍨" in run.text and FFFD not in "".join(run.tokens)
