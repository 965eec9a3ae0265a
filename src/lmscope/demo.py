"""`make demo`: run the embedded default model on the seed's counting prompt and show what was captured."""

from __future__ import annotations

import time

import lmscope


def main() -> None:
    """Load SmolLM2 (offline), continue "1, 2, 3," and print the continuation and capture shapes."""
    start = time.perf_counter()
    scope = lmscope.load()
    print(f"loaded {scope} in {time.perf_counter() - start:.1f} s")
    run = scope.generate("1, 2, 3,", max_new_tokens=12)
    print(f"prompt      : {run.input_text!r}")
    print(f"continuation: {run.output_text!r}")
    print(f"tokens      : {run.tokens}")
    print(f"activations : {run.activations.shape}  (layers, neurons, positions)")
    print(f"hidden      : {run.hidden_states.shape}  (layers + 1, positions, hidden)")
    first = run.candidates[0]
    top = ", ".join(f"{c['token']!r} {c['prob']:.2f}" for c in first["top"][:3])
    print(f"step 1 top-3: {top}")


if __name__ == "__main__":
    main()
