"""Cost of capture on the embedded model, as ratios measured in one process.

Prints: generation with capture / generation alone (goal <= 1.15), peak memory, and the
cold (GGUF conversion, fresh cache) and warm (cached) load times of the default model
(goal: warm <= 3 s). Run: `.venv/bin/python benchmarks/capture.py`.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

import lmscope

PROMPT, NEW_TOKENS, REPEATS = "1, 2, 3,", 30, 5


def timed(fn, repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_time(cache: str | None) -> float:
    """Seconds for lmscope.load() in a fresh process (imports excluded), with the given cache folder."""
    env = dict(os.environ, **({"LMSCOPE_CACHE": cache} if cache else {}))
    code = ("import time, lmscope, transformers; t = time.perf_counter(); lmscope.load(); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    scope = lmscope.load()
    ids = scope.encode(PROMPT)
    mask = torch.ones_like(ids)

    def plain() -> None:
        with torch.no_grad():
            scope.model.generate(ids, attention_mask=mask, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                 do_sample=False, pad_token_id=0)

    def with_capture() -> None:
        scope.generate(PROMPT, max_new_tokens=NEW_TOKENS)

    t_plain, t_capture = timed(plain), timed(with_capture)
    print(f"generation alone          : {t_plain:.3f} s  ({NEW_TOKENS} tokens, median of {REPEATS})")
    print(f"generation + capture      : {t_capture:.3f} s  (activations + hidden states, 30 layers)")
    print(f"ratio capture/plain       : {t_capture / t_plain:.3f}  (goal <= 1.15)")
    print(f"peak RSS                  : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    with tempfile.TemporaryDirectory() as fresh:
        cold = load_time(fresh)
    warm = load_time(None)
    print(f"cold load (convert GGUF)  : {cold:.1f} s")
    print(f"warm load (cached)        : {warm:.1f} s  (goal <= 3 s); cold/warm = {cold / warm:.1f}x")


if __name__ == "__main__":
    main()
