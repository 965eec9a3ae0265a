"""Cost of collecting corpus top examples, as a ratio against a plain batched forward pass.

For a tiny random Llama (many texts) and the embedded SmolLM2 (a few dozen short texts,
all 30 layers), prints tokens per second of ``scope.corpus(texts)`` (tokenising, batched
forward passes with activation hooks, incremental top-k for every neuron of every layer)
divided by tokens per second of a plain batched forward pass over the very same batches:
the same ``run_forward`` without hooks, projecting only one position onto the vocabulary,
after tokenising the same texts (headline ratio, goal >= 0.8); the ratio against the
forward passes alone, without tokenising, is printed too (the strictest baseline).
Best of alternating repeats in one process. Run:
`.venv/bin/python benchmarks/corpus.py [--no-real]`.
"""

from __future__ import annotations

import sys
import time

import torch

import lmscope
from lmscope.capture import run_forward
from lmscope.corpus import make_batches, pad_id
from lmscope.testing import tiny_scope

REPEATS = 5
BATCH_SIZE = 8

SHORT_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12",
    "William Shakespeare was born in the year 1564 in Stratford-upon-Avon.",
    "Austria, Belgium, Bulgaria, Croatia, Cyprus, Czechia, Denmark, Estonia, Finland, France",
    "<item>one</item> <item>two</item> <item>three</item>",
    "def add(a, b):\n    return a + b\n",
    "The capital of France is Paris, and the capital of Italy is Rome.",
    "She opened the window and let the cold morning air into the room.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "In 1969 two astronauts walked on the Moon while a third orbited above.",
    "for i in range(10):\n    print(i * i)",
    "The recipe needs two eggs, a cup of flour and a pinch of salt.",
    "Rain is expected tomorrow afternoon, with clearer skies by the evening.",
    "Prime numbers: 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31",
    "He said he would call back later, but the phone never rang.",
    "The mitochondria is often called the powerhouse of the cell.",
    "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday",
    "A journey of a thousand miles begins with a single step.",
    "The train to Berlin leaves from platform four at half past nine.",
    "SELECT name, age FROM users WHERE age > 30 ORDER BY name;",
    "Water boils at one hundred degrees Celsius at sea level.",
    "The orchestra tuned their instruments before the concert began.",
    "January, February, March, April, May, June, July, August",
    "Our meeting has been moved to Thursday at three o'clock.",
    "The library closes early on public holidays and weekends.",
    "<html><body><p>Hello, world!</p></body></html>",
    "Elephants are the largest land animals alive today.",
    "The stock market rose sharply after the announcement.",
    "Please remember to bring your passport and your ticket.",
    "x = [n ** 2 for n in range(5) if n % 2 == 0]",
    "The old lighthouse still guides ships along the rocky coast.",
    "Red, orange, yellow, green, blue, indigo, violet",
    "Dostoevsky wrote Crime and Punishment in the 1860s.",
    "The cat slept on the warm windowsill all afternoon.",
    "A triangle has three sides and its angles add up to 180 degrees.",
    "Thank you for your order; it will ship within two business days.",
]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name: str, scope, texts: list[str], layers=None) -> float:
    corpus = scope.corpus(texts, layers=layers, batch_size=BATCH_SIZE, progress=False)
    batches = [(torch.as_tensor(ids, device=scope.device), torch.as_tensor(mask, device=scope.device))
               for ids, mask, _c, _g in make_batches(corpus, BATCH_SIZE, pad_id(scope.tokenizer))]
    n_tokens = sum(int(mask.sum()) for _ids, mask in batches)

    def forward() -> None:
        for ids, mask in batches:
            run_forward(scope.anatomy, ids, attention_mask=mask, capture=(), logits_from=None)

    def plain() -> None:
        scope.tokenizer(texts, verbose=False)
        forward()

    def collect() -> None:
        scope.corpus(texts, layers=layers, batch_size=BATCH_SIZE, progress=False)

    forward(), plain(), collect()  # warm-up
    # Alternate the runs so that load from other processes hits all alike, and keep the best
    # of each (as timeit does): the least disturbed measurement of each.
    runs = [(timed(forward), timed(plain), timed(collect)) for _ in range(REPEATS)]
    t_forward, t_plain, t_collect = (min(r[i] for r in runs) for i in range(3))
    ratio, strict = t_plain / t_collect, t_forward / t_collect
    print(f"{name}: {len(texts)} texts, {n_tokens} tokens, {len(batches)} batches of <= {BATCH_SIZE}, "
          f"{len(corpus.layers)} layers x {corpus.n_neurons} neurons, top-{corpus.k}")
    print(f"  forward passes only          : {n_tokens / t_forward:10.0f} tokens/s")
    print(f"  tokenise + forward (plain)   : {n_tokens / t_plain:10.0f} tokens/s")
    print(f"  corpus top examples          : {n_tokens / t_collect:10.0f} tokens/s")
    print(f"  ratio collect / plain        : {ratio:.3f}  (goal >= 0.8; best of {REPEATS} alternating runs)")
    print(f"  ratio collect / forward only : {strict:.3f}")
    return ratio


def main() -> None:
    torch.manual_seed(0)
    tiny = tiny_scope("llama")
    tiny_texts = [" ".join(SHORT_TEXTS[(i * 7 + j) % len(SHORT_TEXTS)] for j in range(1 + i % 2))
                  for i in range(240)]
    measure("tiny llama", tiny, tiny_texts)
    if "--no-real" not in sys.argv:
        measure("SmolLM2-135M", lmscope.load(), SHORT_TEXTS)


if __name__ == "__main__":
    main()
