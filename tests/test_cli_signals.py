"""Ctrl-C (SIGINT) in a real process: at any moment of a command, one line and exit 130, never a
traceback; on `lmscope serve` while a job runs, the job stops, its client gets a 503 and the
server exits 130 within seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest


ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
# What the console script does (`from lmscope.cli import main; sys.exit(main())`), with a line once the
# import is done: everything after it (the commands' imports, parsing, loading, work) is main's.
LAUNCH = "import sys; from lmscope.cli import main; print('imported', flush=True); sys.exit(main(sys.argv[1:]))"


def collect(stream, lines: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.5])
def test_ctrl_c_early_in_a_command_prints_one_line_and_exits_130(model_dir, tmp_path, delay):
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "explain", "1, 2, 3,", "--model", model_dir,
                             "--saliency", "integrated_gradients", "--out", str(tmp_path / "r.html")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "imported"
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:                     # finished before the signal: nothing to check
        return
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "lmscope: interrupted", err


def test_ctrl_c_on_serve_stops_the_running_job_and_exits_130(model_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "lmscope.cli", "serve", "--model", model_dir, "--port", str(port),
                             "--max-cost", "100000000"], stderr=subprocess.PIPE, text=True, env=ENV)
    lines: list[str] = []
    reader = collect(proc.stderr, lines)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/api/info", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        answer: dict = {}
        heavy = {"prompt": " ".join(map(str, range(45))), "mode": "analyze", "saliency": "lime"}   # ~10 s
        client = threading.Thread(target=lambda: answer.update(r=httpx.post(url + "/api/explain", json=heavy,
                                                                            timeout=120)))
        client.start()
        time.sleep(1.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        took = time.monotonic() - start
        client.join(60)
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(lines)
    assert code == 130, err
    assert took < 6, f"serve took {took:.1f} s to stop"
    assert answer["r"].status_code == 503 and "shutting down" in answer["r"].json()["detail"]
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "lmscope: interrupted", err
