"""Damaged, crafted and mismatched run and corpus files: every one refused with the file's error class, never a crash.

Fuzzing uses a fixed seed: a few hundred copies of a good file with bytes flipped or cut
off must each either load identically (the byte was one the format never reads) or raise
``RunFileError`` / ``CorpusFileError``; a bare ``zlib.error``, ``struct.error`` or
``MemoryError`` is a failure.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import lmscope
from lmscope.core import archive
from lmscope.core.record import FORMAT, FORMAT_VERSION, META, TEXT_META, RunFileError
from lmscope.corpus.store import FORMAT as CORPUS_FORMAT
from lmscope.corpus.store import FORMAT_VERSION as CORPUS_VERSION
from lmscope.corpus.store import CorpusFileError
from lmscope.testing import sample_run, tiny_scope

SEED = 18


def _meta(run) -> dict:
    return {"format": FORMAT, "version": FORMAT_VERSION, **{name: getattr(run, name) for name in META + TEXT_META}}


def _arrays(run) -> dict:
    names = ("token_ids", "activations", "hidden_states", "attentions", "candidate_positions", "candidate_ids",
             "candidate_probs", "chosen_probs")
    return {name: getattr(run, name) for name in names if getattr(run, name) is not None}


def _same(a, b) -> bool:
    if (a.tokens, a.n_input, a.model_name, a.settings, a.candidates, a.text) != \
            (b.tokens, b.n_input, b.model_name, b.settings, b.candidates, b.text):
        return False
    return all((x is None and y is None) or (x is not None and y is not None and x.dtype == y.dtype
                                             and np.array_equal(x, y))
               for x, y in ((getattr(a, n), getattr(b, n)) for n in _arrays(a)))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    scope = tiny_scope("llama")
    run = sample_run(scope, capture=("activations", "hidden_states", "attentions"))
    path = run.save(tmp_path_factory.mktemp("good") / "run.lms")
    return scope, run, path


def _fuzz(data: bytes, rng: np.random.Generator) -> bytes:
    """A damaged copy: 1-4 flipped bytes, a cut, or a run of bytes overwritten."""
    out = bytearray(data)
    kind = rng.integers(3)
    if kind == 0:
        for _ in range(rng.integers(1, 5)):
            out[rng.integers(len(out))] ^= int(rng.integers(1, 256))
    elif kind == 1:
        out = out[: rng.integers(len(out))]
    else:
        start = int(rng.integers(len(out)))
        out[start:start + 16] = rng.integers(0, 256, size=len(out[start:start + 16]), dtype=np.uint8).tobytes()
    return bytes(out)


def test_fuzzed_run_files_load_identically_or_raise_run_file_error(good, tmp_path):
    _, run, path = good
    data = path.read_bytes()
    rng = np.random.default_rng(SEED)
    outcomes = {"refused": 0, "identical": 0}
    for i in range(300):
        damaged = tmp_path / f"d{i}.lms"
        damaged.write_bytes(_fuzz(data, rng))
        try:
            back = lmscope.load_run(damaged)
        except RunFileError:
            outcomes["refused"] += 1
            continue
        assert _same(back, run), f"copy {i} loaded but differs from the saved run"
        outcomes["identical"] += 1
    assert outcomes["refused"] >= 200, outcomes   # most damage is seen (CRC, sizes, headers)


def test_fuzzed_corpus_files_raise_corpus_file_error(tmp_path):
    corpus = tiny_scope("gpt2").corpus(["one two three four", "five six seven"], layers=[0], k=2, progress=False)
    data = corpus.save(tmp_path / "c.lmc").read_bytes()
    rng = np.random.default_rng(SEED)
    for i in range(150):
        damaged = tmp_path / f"d{i}.lmc"
        damaged.write_bytes(_fuzz(data, rng))
        try:
            back = lmscope.load_corpus(damaged)
        except CorpusFileError:
            continue
        np.testing.assert_array_equal(back.ids, corpus.ids)
        np.testing.assert_array_equal(back.top_values, corpus.top_values)


def _zip(members: dict[str, bytes], *, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_decompressed(tmp_path, monkeypatch):
    header = _npy(np.frombuffer(json.dumps({"format": FORMAT, "version": FORMAT_VERSION}).encode(), np.uint8))
    bomb = tmp_path / "bomb.lms"
    # 64 MiB of zeros compress to ~64 KiB; with the bound at 1 MiB the declared size alone refuses it.
    bomb.write_bytes(_zip({"__meta__.npy": header, "token_ids.npy": _npy(np.zeros(8 * 2**20, np.int64))}))
    assert bomb.stat().st_size < 2**20
    monkeypatch.setattr(archive, "MAX_BYTES", 2**20)
    with pytest.raises(RunFileError, match=r"declares 0\.1 GiB of arrays.*MAX_BYTES"):
        lmscope.load_run(bomb)
    assert archive.MAX_BYTES == 2**20


def _npy_header(shape: str) -> bytes:
    """A version 1.0 .npy header declaring ``shape`` of int64, padded as numpy pads it."""
    text = "{'descr': '<i8', 'fortran_order': False, 'shape': " + shape + ", }"
    text = text.ljust(64 * ((len(text) + 10) // 64 + 1) - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


def test_an_array_header_larger_than_its_member_is_refused(tmp_path):
    """A .npy header claiming a huge shape over a few bytes: refused from the declared sizes, nothing allocated."""
    header = _npy(np.frombuffer(json.dumps({"format": FORMAT, "version": FORMAT_VERSION}).encode(), np.uint8))
    for payload in (_npy_header("(10000000000000,)") + bytes(32), _npy_header("(3,)") + bytes(32),
                    _npy(np.zeros(4, np.int64))[:-8]):
        path = tmp_path / "lying.lms"
        path.write_bytes(_zip({"__meta__.npy": header, "token_ids.npy": payload}))
        with pytest.raises(RunFileError, match="does not match its size"):
            lmscope.load_run(path)


def test_pickled_objects_and_foreign_members_are_refused(tmp_path):
    header = _npy(np.frombuffer(json.dumps({"format": FORMAT, "version": FORMAT_VERSION}).encode(), np.uint8))
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for members in ({"__meta__.npy": header, "token_ids.npy": buffer.getvalue()},
                    {"__meta__.npy": header, "evil.py": b"print(1)"},
                    {"token_ids.npy": _npy(np.zeros(3, np.int64))}):
        path = tmp_path / "x.lms"
        path.write_bytes(_zip(members))
        with pytest.raises(RunFileError, match="not a readable lmscope run"):
            lmscope.load_run(path)
    (tmp_path / "folder.lms").mkdir()
    with pytest.raises(RunFileError, match="is a folder"):
        lmscope.load_run(tmp_path / "folder.lms")


BAD_META = [
    ("tokens", "abc", "tokens is not a list of strings"),
    ("tokens", [1, 2], "tokens is not a list of strings"),
    ("n_input", 1.5, "n_input=1.5 is not a count"),
    ("n_input", True, "n_input=True is not a count"),
    ("n_input", 10**6, "not a count within"),
    ("n_input", -1, "not a count within"),
    ("model_name", 3, "model_name is not a string"),
    ("settings", [], "settings is not a JSON object"),
    ("activation_layers", "0", "activation_layers is not a list"),
    ("activation_layers", [0, 0], "activation_layers is not a list of distinct"),
    ("activation_layers", [0], "activations .* one row per layer"),
    ("attention_layers", [-1, 1], "attention_layers is not a list"),
    ("candidate_tokens", [[1]], "candidate_tokens is not a list of lists of strings"),
    ("candidate_tokens", [["a"]], "candidate arrays do not have one row per step"),
    ("decoded_input", 3, "decoded texts"),
]


@pytest.mark.parametrize("field,value,match", BAD_META, ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD_META])
def test_every_header_field_is_checked(good, tmp_path, field, value, match):
    _, run, _ = good
    meta = _meta(run)
    meta[field] = value
    path = archive.write(tmp_path / "bad.lms", meta, _arrays(run))
    with pytest.raises(RunFileError, match=match):
        lmscope.load_run(path)


def _with(run, **changes) -> dict:
    arrays = _arrays(run)
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def test_array_shapes_must_fit_the_tokens_and_layers(good, tmp_path):
    _, run, _ = good
    n = run.n_tokens
    for arrays, match in [
        (_with(run, token_ids=run.token_ids[:-1]), "token_ids .* one per token"),
        (_with(run, token_ids=run.token_ids.astype(np.float32)), "token_ids"),
        (_with(run, token_ids=-run.token_ids - 1), "non-negative"),
        (_with(run, activations=run.activations[:, :, :-1]), "activations have shape .* does not fit"),
        (_with(run, activations=run.activations[0]), "activations .* one row per layer"),
        (_with(run, activations=None), "activation_layers lists layers but activations are missing"),
        (_with(run, attentions=run.attentions[..., :-1]), "attentions have shape"),
        (_with(run, hidden_states=run.hidden_states[:, :-1]), f"hidden_states .* {n} tokens"),
        (_with(run, candidate_probs=None), "not all of"),
        (_with(run, candidate_positions=run.candidate_positions + n), "outside the"),
        (_with(run, candidate_ids=run.candidate_ids[:, :1]), "one row per step"),
    ]:
        path = archive.write(tmp_path / "bad.lms", _meta(run), arrays)
        with pytest.raises(RunFileError, match=match):
            lmscope.load_run(path)


def test_an_attached_model_must_be_the_one_that_made_the_run(good, tmp_path):
    scope, run, path = good
    assert lmscope.load_run(path, scope=scope).scope is scope
    meta = _meta(run)
    meta["model_name"] = "someone/else"
    other = archive.write(tmp_path / "other.lms", meta, _arrays(run))
    with pytest.raises(RunFileError, match=r"made by 'someone/else', not by the attached .*lmscope.load\('someone/else'\)"):
        lmscope.load_run(other, scope=scope)
    assert lmscope.load_run(other).model_name == "someone/else"       # without a model it reads fine
    ids = run.token_ids.copy()
    ids[0] = 10**6
    outside = archive.write(tmp_path / "ids.lms", _meta(run), _with(run, token_ids=ids))
    with pytest.raises(RunFileError, match=r"token id 1000000, outside the \d+-token vocabulary"):
        lmscope.load_run(outside, scope=scope)
    # same name, different shapes (another tiny llama with other sizes would share the class name)
    smaller = _with(run, hidden_states=run.hidden_states[:2], activations=run.activations[:1])
    meta = _meta(run)
    meta["activation_layers"] = run.activation_layers[:1]
    shaped = archive.write(tmp_path / "shape.lms", meta, smaller)
    with pytest.raises(RunFileError, match="captures do not fit"):
        lmscope.load_run(shaped, scope=scope)


def test_corpus_header_and_arrays_are_checked(tmp_path):
    corpus = tiny_scope("gpt2").corpus(["one two three four", "five six seven"], layers=[0], k=2, progress=False)
    path = corpus.save(tmp_path / "c.lmc")
    meta, arrays = archive.read(path, kind="corpus", fmt=CORPUS_FORMAT, version=CORPUS_VERSION)
    for field, value in [("layers", "0"), ("n_neurons", -1), ("k", 2.5), ("model_name", None),
                         ("token_strings", {"x": "a"}), ("n_counted", "3"), ("settings", 1)]:
        bad = dict(meta, **{field: value})
        with pytest.raises(CorpusFileError, match=field):
            lmscope.load_corpus(archive.write(tmp_path / "bad.lmc", bad, arrays))
    for name, value in [("doc_offsets", arrays["doc_offsets"][::-1]), ("ids", arrays["ids"].astype(np.float32)),
                        ("top_values", arrays["top_values"][:, :1]), ("top_index", arrays["top_index"] + 10**6)]:
        with pytest.raises(CorpusFileError, match=name):
            lmscope.load_corpus(archive.write(tmp_path / "bad.lmc", meta, dict(arrays, **{name: value})))
