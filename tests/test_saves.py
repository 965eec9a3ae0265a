"""Saves are atomic: a save killed or failing half-way leaves the previous file whole and loadable.

Runs, corpora and HTML pages all go through a temporary file in the target's folder and a
rename (``lmscope.core.archive.write`` / ``write_text``).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import lmscope
from lmscope.core import archive
from lmscope.testing import sample_run, tiny_scope
from lmscope.views import save_html

# A child process that saves a large run (about 100 MB of random activations, seconds to
# compress) over the file given, forever, so the parent can kill it mid-write.
SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    from lmscope.core.record import Record
    n = 400
    rng = np.random.default_rng(0)
    record = Record(token_ids=np.arange(n, dtype=np.int64), tokens=[f"t{i}" for i in range(n)], n_input=n,
                    activations=rng.standard_normal((4, 16000, n), dtype=np.float32), activation_layers=[0, 1, 2, 3])
    print("ready", flush=True)
    while True:
        record.save(sys.argv[1])
""")


def _temp_files(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".tmp")]


def test_a_save_killed_mid_write_leaves_the_old_run_whole(tmp_path):
    run = sample_run(tiny_scope("llama"))
    target = run.save(tmp_path / "run.lms")
    before = target.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", SAVER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while True:   # wait until the child is half-way through writing its temporary file
            partial = _temp_files(tmp_path, "run.lms")
            if partial and partial[0].stat().st_size > 2**20:
                break
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert target.read_bytes() == before           # the rename never happened: the good file is untouched
    back = lmscope.load_run(target)
    assert back.tokens == run.tokens and np.array_equal(back.activations, run.activations)
    # what the killed save left is only its own temporary file, which is never mistaken for the run
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["run.lms"]


def _fail_during_write(monkeypatch, exc: BaseException) -> None:
    """Make the next atomic write die after writing some bytes, as a full disk or Ctrl-C would."""
    real = os.fsync

    def broken(fd: int) -> None:
        real(fd)
        raise exc

    monkeypatch.setattr(os, "fsync", broken)


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_saves_of_runs_corpora_and_pages_keep_the_old_file(tmp_path, monkeypatch, exc):
    scope = tiny_scope("llama")
    run = sample_run(scope)
    corpus = scope.corpus(["one two three", "four five six"], layers=[0], k=2, progress=False)
    lens = run.lens()
    saves = {"run.lms": lambda path: run.save(path), "corpus.lmc": lambda path: corpus.save(path),
             "lens.html": lambda path: lens.to_html(path),
             "page.html": lambda path: save_html([lens], path, title="t"),
             "plain.txt": lambda path: archive.write_text(path, "new text")}
    for name, save in saves.items():
        path = tmp_path / name
        save(path)
        before = path.read_bytes()
        with monkeypatch.context() as patch:
            _fail_during_write(patch, exc)
            with pytest.raises(type(exc)):
                save(path)
        assert path.read_bytes() == before, name
        assert not _temp_files(tmp_path, name), f"{name}: the temporary file was left behind"
    assert lmscope.load_run(tmp_path / "run.lms").tokens == run.tokens
    assert lmscope.load_corpus(tmp_path / "corpus.lmc").n_docs == 2


def test_saved_files_get_ordinary_permissions_and_replace_the_old_one(tmp_path):
    old_umask = os.umask(0o022)
    try:
        page = archive.write_text(tmp_path / "a.html", "<p>one</p>")
        run_file = sample_run(tiny_scope("gpt2")).save(tmp_path / "r.lms")
    finally:
        os.umask(old_umask)
    for path in (page, run_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path   # not tempfile's private 0600
    archive.write_text(page, "<p>two \u00e9\u6f22</p>")
    assert page.read_text(encoding="utf-8") == "<p>two \u00e9\u6f22</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "r.lms"]
    with pytest.raises(FileNotFoundError):
        archive.write_text(tmp_path / "missing" / "x.txt", "x")
