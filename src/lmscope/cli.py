"""The ``lmscope`` command: explain a prompt into an HTML report, analyse text, scan a corpus,
list offline models, build the demo gallery, or serve the web explorer.

Exit codes: 0 ok, 2 usage error (bad arguments, missing files, unknown method; nothing
was loaded), 1 failure (one line on stderr; ``--debug`` shows the traceback), 130 when
interrupted. Progress goes to stderr (``--quiet`` hides it); results go to files or stdout.

>>> main(["explain", "1, 2, 3,", "--max-new-tokens", "6", "--out", "report.html"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PROG = "lmscope"
DEFAULT_REPORT = "lmscope-report.html"
DEFAULT_GALLERY = "lmscope-gallery.html"


class UsageError(Exception):
    """Arguments that make no sense together; reported with exit code 2 before any model work."""


# ---------------------------------------------------------------------------- output helpers
class Progress:
    """Progress lines on stderr, silent with ``--quiet``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._start = time.perf_counter()
        self._open = False          # a line of streamed tokens is open

    def say(self, text: str) -> None:
        if not self.quiet:
            self._close()
            print(f"{PROG}: {text}", file=sys.stderr, flush=True)

    def step(self, name: str) -> None:
        labels = {"generate": "generating", "analyze": "reading the text", "saliency": "computing saliency",
                  "factors": "factorising activations", "lens": "computing the logit lens"}
        self.say(labels.get(name, name) + " …")

    def token(self, _token_id: int, text: str) -> None:
        """Show a generated token as soon as it exists."""
        if self.quiet:
            return
        if not self._open:
            print(f"{PROG}: > ", end="", file=sys.stderr)
            self._open = True
        print(text.replace("\n", "\\n"), end="", file=sys.stderr, flush=True)

    def _close(self) -> None:
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False

    def done(self, text: str) -> None:
        self.say(f"{text} ({time.perf_counter() - self._start:.1f} s)")


def _finite(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None``, so the JSON written is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _write_json(data: Any, target: str, progress: Progress) -> None:
    """Write ``data`` as JSON to ``target`` (``-``: stdout)."""
    from .views.schema import to_plain

    text = json.dumps(_finite(to_plain(data, None)), indent=1, ensure_ascii=False, allow_nan=False)
    if target == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        progress.say(f"wrote {path}")


# ---------------------------------------------------------------------------- argument types
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}")
    return value


def _layers(values: list[str] | None) -> list[int] | None:
    """``--layers 0 2 4``, ``--layers 0-5``, ``--layers 1,3``; ``None`` (or ``all``) means every layer."""
    if not values or values == ["all"]:
        return None
    out: list[int] = []
    for part in ",".join(values).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                start, end = part.split("-", 1) if not part.startswith("-") else (part, part)
                out.extend(range(int(start), int(end) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise UsageError(f"--layers takes layer numbers or ranges such as 0 2 4 or 0-5, got {part!r}") from None
    return out


def _neuron(text: str) -> tuple[int, int]:
    try:
        layer, index = text.split(":")
        return int(layer), int(index)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LAYER:INDEX such as 4:123, got {text!r}") from None


# ---------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    """The ``lmscope`` argument parser (one sub-command per capability)."""
    from . import __version__
    from .saliency import saliency_methods

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress output (results and errors still appear)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback when something fails")

    model = argparse.ArgumentParser(add_help=False)
    group = model.add_argument_group("model")
    group.add_argument("--model", "-m", metavar="ID|PATH|GGUF",
                       help="hub id, local folder or .gguf file (default: the embedded SmolLM2-135M-Instruct)")
    group.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if present, else cpu)")
    group.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], help="weights' dtype (default float32)")

    views = argparse.ArgumentParser(add_help=False)
    group = views.add_argument_group("views")
    group.add_argument("--saliency", default="grad_x_input", metavar="METHOD",
                       help="saliency method, 'none' to skip (default grad_x_input); one of: "
                            + ", ".join(saliency_methods()))
    group.add_argument("--factors", type=_positive, metavar="N", help="NMF factors of FFN activations")
    group.add_argument("--layers", nargs="+", metavar="L", help="layers to factorise: 0 2 4, 0-5 or all (default)")
    group.add_argument("--lens", action="store_true", help="logit lens: rank of each token after every layer")
    group.add_argument("--no-candidates", dest="candidates", action="store_false",
                       help="leave out the top-k candidates view")
    group = views.add_argument_group("output")
    group.add_argument("--out", "-o", metavar="REPORT.html",
                       help=f"self-contained HTML report (default {DEFAULT_REPORT} unless --json is given)")
    group.add_argument("--json", nargs="?", const="-", metavar="OUT.json",
                       help="write the data as JSON (no file name, or -, writes to stdout)")
    group.add_argument("--title", help="title of the HTML report")

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[], description="See why a transformer language model wrote what it wrote.",
        epilog="Run `lmscope COMMAND --help` for a command's options. Exit codes: 0 ok, 2 usage error, 1 failure.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", default=False, help="no progress output")
    parser.add_argument("--debug", action="store_true", default=False, help="tracebacks on failure")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("explain", parents=[common, model, views], help="generate from a prompt; HTML report",
                            description="Generate a continuation of PROMPT and write the chosen views as one "
                                        "self-contained HTML report (and/or JSON).")
    p.add_argument("prompt", metavar="PROMPT", help="the prompt text; - reads it from stdin")
    p.add_argument("--chat", action="store_true", help="send PROMPT as a user message through the chat template")
    p.add_argument("--system", metavar="TEXT", help="a system message before the prompt (implies --chat)")
    group = p.add_argument_group("generation")
    group.add_argument("--max-new-tokens", "-n", type=_positive, default=20, metavar="N", help="default 20")
    group.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    group.add_argument("--seed", type=int, metavar="S", help="random seed for --sample (reproducible runs)")
    group.add_argument("--temperature", type=float, default=1.0, metavar="T", help="sampling temperature")
    group.add_argument("--top-k", type=_positive, metavar="K", help="sample from the K most likely tokens")
    group.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling threshold")
    group.add_argument("--beams", type=_positive, default=1, metavar="B", help="beam search with B beams")
    p.set_defaults(run=cmd_explain)

    p = commands.add_parser("analyze", aliases=["analyse"], parents=[common, model, views],
                            help="explain existing text (no generation)",
                            description="Read FILE (every token is input) and write the chosen views. For masked "
                                        "LMs, mask tokens get candidates.")
    p.add_argument("file", metavar="FILE", help="a UTF-8 text file; - reads stdin")
    p.set_defaults(run=cmd_analyze)

    p = commands.add_parser("corpus", parents=[common, model], help="neuron and factor statistics over many texts",
                            description="Read many texts in batches and report which contexts make FFN neurons "
                                        "(and NMF factors) fire most.")
    p.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files (.txt) or JSON lines (.jsonl)")
    p.add_argument("--split", choices=["file", "lines", "paragraphs"], default="file",
                   help="one document per file (default), per non-empty line, or per blank-line paragraph")
    p.add_argument("--text-key", default="text", help="the field holding the text in .jsonl files")
    p.add_argument("--layers", nargs="+", metavar="L", help="layers to watch: 0 2 4, 0-5 or all (default)")
    p.add_argument("--batch-size", type=_positive, default=8, help="texts per forward pass (default 8)")
    p.add_argument("--max-length", type=_positive, metavar="N", help="tokens per text (default: the context)")
    p.add_argument("--window", action="store_true", help="cover long texts in overlapping windows, not truncated")
    p.add_argument("--k", type=_positive, default=10, help="top examples kept per neuron (default 10)")
    p.add_argument("--factors", type=_positive, metavar="N", help="fit N streaming NMF factors")
    p.add_argument("--top-examples", nargs="?", type=_positive, const=5, metavar="K",
                   help="print the top K contexts (default 5) of each factor and of each --neuron")
    p.add_argument("--neuron", type=_neuron, action="append", metavar="L:I",
                   help="a neuron to show top examples of (repeatable); default: the strongest of each layer")
    p.add_argument("--save", metavar="CORPUS.npz", help="save the corpus (top examples, factors) for later")
    p.add_argument("--json", nargs="?", const="-", metavar="OUT.json", help="write the statistics as JSON")
    p.set_defaults(run=cmd_corpus)

    p = commands.add_parser("models", parents=[common], help="list the models that load offline",
                            description="List the embedded default model and cached conversions and hub "
                                        "downloads, without loading any of them.")
    p.add_argument("--json", nargs="?", const="-", metavar="OUT.json", help="write the list as JSON")
    p.set_defaults(run=cmd_models)

    p = commands.add_parser("demo", parents=[common, model], help="build the seed article's gallery (one HTML file)",
                            description="Rebuild the seed article's explorables on the model as one offline HTML "
                                        "gallery (takes a few minutes on a CPU).")
    p.add_argument("--out", "-o", default=DEFAULT_GALLERY, metavar="GALLERY.html", help=f"default {DEFAULT_GALLERY}")
    p.set_defaults(run=cmd_demo)

    p = commands.add_parser("serve", parents=[common, model], help="the local web explorer",
                            description="Serve the web explorer: type a prompt, watch tokens stream, explore the "
                                        "views. Binds to 127.0.0.1 unless --host says otherwise.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="default 8000")
    p.add_argument("--max-new-tokens", type=_positive, default=200, metavar="N",
                   help="most tokens one request may generate (default 200)")
    p.add_argument("--max-prompt-chars", type=_positive, default=4000, metavar="N",
                   help="longest prompt accepted (default 4000 characters)")
    p.set_defaults(run=cmd_serve)
    return parser


# ---------------------------------------------------------------------------- commands
def _load(args: argparse.Namespace, progress: Progress):
    import lmscope
    from .loading import DEFAULT_NAME

    progress.say(f"loading {args.model or DEFAULT_NAME} …")
    start = time.perf_counter()
    scope = lmscope.load(args.model, device=args.device, dtype=args.dtype)
    progress.say(f"loaded {scope.name} ({scope.n_layers} layers) in {time.perf_counter() - start:.1f} s")
    return scope


def _view_choice(args: argparse.Namespace):
    """The views asked for, checked before the model loads (unknown method: usage error)."""
    from .saliency import saliency_methods
    from .server.explain import ViewChoice

    method = None if args.saliency in ("none", "") else args.saliency
    if method is not None and method not in saliency_methods():
        raise UsageError(f"--saliency {args.saliency!r} is not known; choose one of: "
                         f"{', '.join(saliency_methods())}, or none")
    layers = _layers(args.layers)
    if layers is not None and not args.factors:
        raise UsageError("--layers chooses the layers to factorise; add --factors N")
    return ViewChoice(saliency=method, factors=args.factors, factor_layers=layers, lens=args.lens,
                      candidates=args.candidates)


def _outputs(args: argparse.Namespace) -> tuple[str | None, str | None]:
    if args.out is None and args.json is None:
        return DEFAULT_REPORT, None
    return args.out, args.json


def _report(explained, args: argparse.Namespace, progress: Progress, default_title: str) -> None:
    from .views import save_html

    out, json_target = _outputs(args)
    if out is not None:
        title = args.title or default_title
        path = save_html(explained.views(), out, title=title)
        progress.say(f"wrote {path}")
    if json_target is not None:
        _write_json(explained.data(), json_target, progress)


def _read_text(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"no file {name!r}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text") from None


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def cmd_explain(args: argparse.Namespace, progress: Progress) -> int:
    """Generate from a prompt and write the report."""
    from .server.explain import Generation, explain

    choice = _view_choice(args)
    prompt_text = _read_text(args.prompt) if args.prompt == "-" else args.prompt
    if not prompt_text.strip():
        raise UsageError("the prompt is empty; pass some text (or - to read it from stdin)")
    if args.seed is not None and not args.sample:
        raise UsageError("--seed only matters with --sample")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UsageError(f"--top-p must be in (0, 1], got {args.top_p}")
    if args.temperature <= 0:
        raise UsageError(f"--temperature must be positive, got {args.temperature}")
    prompt: Any = prompt_text
    if args.chat or args.system:
        prompt = ([{"role": "system", "content": args.system}] if args.system else []) + \
                 [{"role": "user", "content": prompt_text}]
    generation = Generation(max_new_tokens=args.max_new_tokens, do_sample=args.sample, seed=args.seed,
                            temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, num_beams=args.beams)
    scope = _load(args, progress)
    from .server.explain import TokenStreamer

    streamer = TokenStreamer(scope.tokenizer, progress.token) if args.beams == 1 and not progress.quiet else None
    explained = explain(scope, prompt, choice, generation=generation, mode="generate", streamer=streamer,
                        step=progress.step)
    progress._close()
    if args.json != "-":
        print(explained.run.output_text)
    _report(explained, args, progress, f"lmscope: {_short(prompt_text)}")
    progress.done("done")
    return 0


def cmd_analyze(args: argparse.Namespace, progress: Progress) -> int:
    """Explain existing text without generating."""
    from .server.explain import explain

    choice = _view_choice(args)
    text = _read_text(args.file)
    if not text.strip():
        raise UsageError(f"{args.file} holds no text")
    scope = _load(args, progress)
    explained = explain(scope, text, choice, mode="analyze", step=progress.step)
    _report(explained, args, progress, f"lmscope: {_short(text)}")
    progress.done(f"done: {explained.run.n_tokens} tokens")
    return 0


def _documents(args: argparse.Namespace) -> list[str]:
    texts: list[str] = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"no file {name!r}")
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text") from None
        if path.suffix == ".jsonl":
            for number, line in enumerate(content.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{name}:{number} is not JSON ({exc.msg})") from None
                if not isinstance(record, dict) or not isinstance(record.get(args.text_key), str):
                    raise UsageError(f"{name}:{number} has no string field {args.text_key!r}; pick the field "
                                     "with --text-key")
                texts.append(record[args.text_key])
        elif args.split == "lines":
            texts.extend(line for line in content.splitlines() if line.strip())
        elif args.split == "paragraphs":
            texts.extend(p for p in content.split("\n\n") if p.strip())
        else:
            texts.append(content)
    return texts


def cmd_corpus(args: argparse.Namespace, progress: Progress) -> int:
    """Top activating examples of neurons (and factors) over many texts."""
    layers = _layers(args.layers)
    texts = _documents(args)
    if not any(t.strip() for t in texts):
        raise UsageError("the files hold no text")
    scope = _load(args, progress)
    if args.neuron:
        known = set(layers if layers is not None else range(scope.n_layers))
        for layer, index in args.neuron:
            if layer not in known:
                raise ValueError(f"--neuron {layer}:{index}: layer {layer} is not collected (layers: "
                                 f"{sorted(known)}); add it to --layers")
    corpus = scope.corpus(texts, layers=layers, batch_size=args.batch_size, k=args.k, max_length=args.max_length,
                          long_texts="window" if args.window else "truncate", progress=not progress.quiet)
    summary: dict[str, Any] = {"model": corpus.model_name, "docs": corpus.n_docs, "tokens": corpus.n_tokens,
                               "counted": corpus.n_counted, "layers": corpus.layers, "k": corpus.k}
    examples: dict[str, Any] = {}
    if args.factors:
        found = corpus.factors(args.factors, progress=not progress.quiet)
        summary["factors"] = found.stats().reset_index().to_dict(orient="records")
    if args.top_examples:
        k = min(args.top_examples, corpus.k)
        neurons = args.neuron or _strongest(corpus)
        for layer, index in neurons:
            examples[f"neuron {layer}:{index}"] = corpus.top_examples(neuron=(layer, index), k=k)
        if corpus.factor_result is not None:
            for f in range(corpus.factor_result.n_factors):
                examples[f"factor {f}"] = corpus.top_examples(factor=f, k=k)
    if args.save:
        progress.say(f"wrote {corpus.save(args.save)}")
    if args.json is not None:
        summary["top_examples"] = {name: frame.to_dict(orient="records") for name, frame in examples.items()}
        _write_json(summary, args.json, progress)
    if args.json != "-":
        print(f"{corpus.model_name}: {corpus.n_docs} documents, {corpus.n_tokens} tokens "
              f"({corpus.n_counted} counted), layers {_span(corpus.layers)}")
        if "factors" in summary:
            print(f"\n{args.factors} factors:")
            print(found.stats().to_string())
        for name, frame in examples.items():
            print(f"\ntop examples of {name}:")
            for row in frame.itertuples():
                print(f"  {row.activation:9.3f}  doc {row.doc:<4} …{_short(row.left, 40)!s:>40} "
                      f"[{row.token}] {_short(row.right, 40)}…")
    progress.done("done")
    return 0


def _strongest(corpus) -> list[tuple[int, int]]:
    """The neuron with the largest single activation in each collected layer."""
    import numpy as np

    best = np.nan_to_num(corpus.top_values[:, 0, :], neginf=-np.inf).argmax(axis=1)
    return [(layer, int(best[i])) for i, layer in enumerate(corpus.layers)]


def _span(layers: list[int]) -> str:
    if len(layers) > 2 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}"
    return ", ".join(map(str, layers))


def list_models() -> list[dict[str, Any]]:
    """What loads offline: the embedded default, cached conversions and hub downloads; nothing is loaded."""
    from . import loading

    out: list[dict[str, Any]] = []
    converted: Path | None = None
    try:
        gguf = loading.default_gguf()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        out.append({"name": loading.DEFAULT_NAME, "kind": "default", "available": False, "path": None,
                    "load": None, "note": str(exc)})
    else:
        converted = loading.gguf_cache_path(gguf)
        ready = (converted / "config.json").exists()
        out.append({"name": loading.DEFAULT_NAME, "kind": "default", "available": True, "path": str(gguf),
                    "load": "lmscope.load()",
                    "note": "converted and cached" if ready else "converts on first load (about 15 s), then cached"})
    models = loading.cache_dir() / "models"
    if models.is_dir():
        for folder in sorted(models.iterdir()):
            if (folder / "config.json").exists() and folder != converted:
                out.append({"name": folder.name, "kind": "cached conversion", "available": True,
                            "path": str(folder), "load": f"lmscope.load({str(folder)!r})", "note": ""})
    out.extend(_hub_models())
    return out


def _hub_models() -> list[dict[str, Any]]:
    """Models already downloaded into the Hugging Face cache (they load offline by id)."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - transformers depends on it
        return []
    root = Path(constants.HF_HUB_CACHE)
    found = []
    if root.is_dir():
        for folder in sorted(root.glob("models--*")):
            snapshots = sorted((folder / "snapshots").glob("*/config.json"))
            if snapshots:
                name = folder.name[len("models--"):].replace("--", "/")
                found.append({"name": name, "kind": "hub cache", "available": True,
                              "path": str(snapshots[-1].parent), "load": f"lmscope.load({name!r})", "note": ""})
    return found


def cmd_models(args: argparse.Namespace, progress: Progress) -> int:
    """Print the models that load offline."""
    found = list_models()
    if args.json is not None:
        _write_json(found, args.json, progress)
        return 0
    for entry in found:
        mark = "*" if entry["kind"] == "default" else " "
        state = "" if entry["available"] else "  (not installed)"
        print(f"{mark} {entry['name']:<40} {entry['kind']}{state}")
        if entry["path"]:
            print(f"    {entry['path']}")
        if entry["note"]:
            print(f"    {entry['note']}")
    if len(found) == 1 and not found[0]["available"]:
        return 1
    return 0


def cmd_demo(args: argparse.Namespace, progress: Progress) -> int:
    """Build the seed article's gallery."""
    from . import demo

    scope = _load(args, progress) if args.model else None
    progress.say(f"building the gallery into {args.out} (a few minutes on a CPU) …")
    path = demo.build_gallery(scope, args.out, progress=not progress.quiet)
    print(path)
    progress.done("done")
    return 0


def cmd_serve(args: argparse.Namespace, progress: Progress) -> int:
    """Serve the web explorer until interrupted."""
    from .server import Limits, is_loopback, serve

    scope = _load(args, progress)
    limits = Limits(max_new_tokens=args.max_new_tokens, max_prompt_chars=args.max_prompt_chars)
    host = f"[{args.host}]" if ":" in args.host else args.host
    where = host if is_loopback(args.host) else "127.0.0.1" if args.host in ("0.0.0.0", "::") else host
    progress.say(f"explorer at http://{where}:{args.port}/  (Ctrl+C to stop)")
    serve(scope, host=args.host, port=args.port, limits=limits, log_level="warning" if progress.quiet else "info")
    return 0


# ---------------------------------------------------------------------------- entry point
@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Silence transformers' logging and progress bars and Python warnings for the duration (``--quiet``)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lmscope`` command line; returns the exit code (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:            # argparse: --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    progress = Progress(args.quiet)
    sub = args.command
    try:
        with _quiet_libraries() if args.quiet else contextlib.nullcontext():
            return args.run(args, progress)
    except UsageError as exc:
        progress._close()
        print(f"{PROG} {sub}: error: {exc}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return 2
    except KeyboardInterrupt:
        progress._close()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line (the trace with --debug)
        progress._close()
        if args.debug:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
