"""Output paths that cannot be written (a folder, a path under a file, a folder without write
permission) and input that is not UTF-8 are usage errors (exit 2, one line) found before any
model loads."""

from __future__ import annotations

import io
import os

import pytest

import lmscope
from lmscope.cli import main


@pytest.fixture(autouse=True)
def no_model(monkeypatch):
    monkeypatch.setattr(lmscope, "load", lambda *a, **k: pytest.fail("a usage error must not load a model"))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("command", [["explain", "hi"], ["analyze", "TEXT"]])
@pytest.mark.parametrize("flag", ["--out", "--json"])
def test_unwritable_outputs_exit_2_before_loading(command, flag, tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("some text")
    argv = [a if a != "TEXT" else str(text) for a in command]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = [(tmp_path, "is a folder"), (a_file / "out.json", "is a file, not a folder"),
             (a_file / "deeper" / "out.json", "is a file, not a folder")]
    if os.geteuid() != 0:                        # root writes anywhere
        cases.append((locked / "out.json", "permission denied"))
    try:
        for target, message in cases:
            assert main([*argv, flag, str(target)]) == 2
            line = one_line_error(capsys)
            assert f"{flag} {target}" in line and message in line, line
    finally:
        locked.chmod(0o700)


def test_corpus_save_and_json_checked_before_loading(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("some text")
    for flag in ("--save", "--json"):
        assert main(["corpus", str(text), flag, str(tmp_path)]) == 2
        assert "is a folder" in one_line_error(capsys)


def test_models_json_and_demo_out_checked(tmp_path, capsys):
    assert main(["models", "--json", str(tmp_path)]) == 2
    assert "is a folder" in one_line_error(capsys)
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "is a folder" in one_line_error(capsys)


def test_binary_stdin_and_undecodable_arguments_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe\x00binary")))
    assert main(["explain", "-", "--out", str(tmp_path / "r.html")]) == 2
    assert "stdin is not UTF-8 text (byte 0xff at offset 0)" in one_line_error(capsys)
    undecodable = b"caf\xe9".decode("utf-8", "surrogateescape")        # how Python hands over such argv bytes
    assert main(["explain", undecodable, "--out", str(tmp_path / "r.html")]) == 2
    assert "the prompt is not UTF-8 text (byte 0xe9 at character 3)" in one_line_error(capsys)
    assert main(["explain", "hi", "--system", "\ud800", "--out", str(tmp_path / "r.html")]) == 2
    assert "--system is not UTF-8 text" in one_line_error(capsys)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9")
    assert main(["analyze", str(latin)]) == 2
    assert "is not UTF-8 text (byte 0xe9 at offset 3)" in one_line_error(capsys)
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"text": "ok \\ud800"}\n')
    assert main(["corpus", str(jsonl)]) == 2
    assert f"{jsonl}:1 is not UTF-8 text" in one_line_error(capsys)
