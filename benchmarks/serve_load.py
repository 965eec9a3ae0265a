"""Load test of the web explorer on loopback: requests/s and latency percentiles for N concurrent
clients, against the same work called in-process (the baseline, measured in this process first).

The model serves one request at a time (requests queue), so the server cannot beat the
in-process throughput; the ratio shows what HTTP, JSON and queueing cost on top, and the
latency percentiles show how long a client waits behind the others.

    .venv/bin/python benchmarks/serve_load.py                       # tiny Llama, 8 clients
    .venv/bin/python benchmarks/serve_load.py --model default --requests 16 --max-new-tokens 8

Then the dropped-work scenario: ``--dropped`` heavy requests (lime saliency over ~100 tokens,
about ten seconds each on the tiny model) whose clients hang up after a second, then one small
request: how long it waits is what work nobody waits for costs (goal: under 2 s on the tiny
model; before the explorer skipped and stopped such work it waited 292 s behind five of them).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

import lmscope
from lmscope.server import Limits, create_app, running
from lmscope.report import GenerationOptions, ViewChoice, explain
from lmscope.testing import tiny_scope

# Without TCP_NODELAY the client's separate header and body writes wait on the server's delayed
# ACK (~40 ms per request on Linux loopback); browsers do not pay that, so neither does this client.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=600, transport=httpx.HTTPTransport(socket_options=NODELAY))


PROMPTS = ["1, 2, 3,", "William Shakespeare was born in the year", "The quick brown fox",
           "Austria, Belgium, Bulgaria,"]


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000
    return {"p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


def show(name: str, n: int, seconds: float, latencies: list[float]) -> float:
    p = percentiles(latencies)
    rate = n / seconds
    print(f"{name:<22} {rate:8.2f} req/s   latency ms: p50 {p['p50']:8.1f}  p90 {p['p90']:8.1f}  "
          f"p99 {p['p99']:8.1f}  mean {p['mean']:8.1f}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (random tiny Llama), 'default' (SmolLM2) or an id/path")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--requests", type=int, default=48, help="requests in all (default 48)")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--saliency", default="grad_x_input", help="saliency method, or 'none'")
    parser.add_argument("--stream", action="store_true", help="use /api/stream (NDJSON) instead of /api/explain")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--dropped", type=int, default=5, help="heavy requests dropped after a second (default 5)")
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)

    if args.model == "tiny":
        scope = tiny_scope("llama")
    else:
        scope = lmscope.load(None if args.model == "default" else args.model)
    saliency = None if args.saliency == "none" else args.saliency
    bodies = [{"prompt": PROMPTS[i % len(PROMPTS)], "max_new_tokens": args.max_new_tokens, "saliency": saliency}
              for i in range(args.requests)]
    print(f"model {scope.name} · {args.requests} requests · {args.clients} clients · max_new_tokens "
          f"{args.max_new_tokens} · saliency {saliency} · {'/api/stream' if args.stream else '/api/explain'} · "
          f"torch threads {__import__('torch').get_num_threads()}")

    # Baseline: the same work, called in-process one after another (after warm-up calls), on one
    # worker thread as the server runs it (torch's CPU threading behaves differently on the main
    # thread of a busy machine, which would make the baseline unfair either way).
    def work(body):
        return explain(scope, body["prompt"], ViewChoice(saliency=body["saliency"]),
                       generation=GenerationOptions(max_new_tokens=body["max_new_tokens"])).to_dict()

    worker = ThreadPoolExecutor(1)
    for body in bodies[:3]:
        worker.submit(work, body).result()

    def baseline(label: str) -> tuple[float, float]:
        latencies = []
        start = time.perf_counter()
        for body in bodies:
            t = time.perf_counter()
            worker.submit(work, body).result()
            latencies.append(time.perf_counter() - t)
        return show(label, len(bodies), time.perf_counter() - start, latencies), statistics.mean(latencies)

    # Measured before and after the server runs; the ratio uses the faster (a busy machine slows either).
    first = baseline("in-process, before")

    app = create_app(scope, limits=Limits(max_queue=max(64, args.clients * 2), max_new_tokens=args.max_new_tokens,
                                          max_cost=1e9))    # the dropped scenario's heavy requests pass
    with running(app) as url:
        path = "/api/stream" if args.stream else "/api/explain"

        def call(client: httpx.Client, body: dict) -> float:
            t = time.perf_counter()
            if args.stream:
                with client.stream("POST", path, json=body) as r:
                    lines = [line for line in r.iter_lines() if line]
                assert r.status_code == 200 and '"event":"result"' in lines[-1], lines[-1][:200]
            else:
                r = client.post(path, json=body)
                assert r.status_code == 200, r.text
            return time.perf_counter() - t

        with client(url) as c:        # warm-up, and requests one at a time
            for body in bodies[:3]:
                call(c, body)
            alone = [call(c, body) for body in bodies[: min(8, len(bodies))]]
        show("server, 1 client", len(alone), sum(alone), alone)

        queue = list(bodies)
        lock = threading.Lock()
        server_latencies: list[float] = []

        def client_loop() -> None:
            with client(url) as c:
                while True:
                    with lock:
                        if not queue:
                            return
                        body = queue.pop()
                    took = call(c, body)
                    with lock:
                        server_latencies.append(took)

        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            for f in [pool.submit(client_loop) for _ in range(args.clients)]:
                f.result()
        rate = show(f"server, {args.clients} clients", len(server_latencies), time.perf_counter() - start,
                    server_latencies)

        if args.dropped:
            dropped_scenario(url, args.dropped, "/api/stream" if args.stream else "/api/explain")

    base_rate, base_mean = max(first, baseline("in-process, after"))
    print(f"throughput ratio server/in-process: {rate / base_rate:.3f}  "
          f"(1.0 = no cost over calling the library)")
    print(f"1-client overhead per request: {1000 * (statistics.mean(alone) - base_mean):+.1f} ms over "
          f"{1000 * base_mean:.1f} ms of model work")


HEAVY = {"prompt": " ".join(map(str, range(45))), "mode": "analyze", "saliency": "lime"}
SMALL = {"prompt": "1, 2, 3,", "max_new_tokens": 2, "saliency": None}


def dropped_scenario(url: str, n: int, path: str, hang_up_after: float = 1.0) -> float:
    """``n`` heavy requests whose clients hang up after ``hang_up_after`` s, then one small request: its wait."""
    def drop() -> None:
        try:
            with client(url) as c:
                c.post(path, json=HEAVY, timeout=hang_up_after)
        except httpx.TimeoutException:
            pass

    with ThreadPoolExecutor(n) as pool:
        for f in [pool.submit(drop) for _ in range(n)]:
            f.result()
    with client(url) as c:
        start = time.perf_counter()
        r = c.post("/api/explain", json=SMALL)
        waited = time.perf_counter() - start
        assert r.status_code == 200, r.text
    print(f"next request after {n} dropped heavy requests ({path}) waited: {waited:.2f} s  (goal < 2 s)")
    return waited


if __name__ == "__main__":
    main()
