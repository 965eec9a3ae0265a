"""The ``lmscope`` command: explain a prompt into an HTML report, analyse text, scan a corpus,
list offline models, build the demo gallery, or serve the web explorer.

Exit codes: 0 ok, 2 usage error (bad arguments, missing files, unknown method, reported
before any model loads; layer ranges, which need the model, right after it loads), 1 failure
(one line on stderr; ``--debug`` shows the traceback), 130 when interrupted. Progress goes
to stderr (``--quiet`` hides it); results go to files or stdout. Options are checked by the
library's own constraints, so a bad value gets the message the Python API gives.

Only ``serve`` imports the web packages (the ``lmscope[serve]`` extra); ``explain`` runs
on :mod:`lmscope.report` alone. The commands (and torch, through them) are imported inside
:func:`main`'s interrupt handler, so Ctrl-C at any moment prints one line and exits 130.

>>> main(["explain", "1, 2, 3,", "--max-new-tokens", "6", "--out", "report.html"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .output import PROG, Progress, UsageError

__all__ = ["DEFAULT_GALLERY", "DEFAULT_REPORT", "PROG", "UsageError", "build_parser", "list_models", "main"]


def __getattr__(name: str) -> Any:
    """The commands' names, imported when first asked for (importing them imports torch)."""
    if name in ("DEFAULT_GALLERY", "DEFAULT_REPORT", "list_models"):
        from . import commands
        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    """The ``lmscope`` argument parser (one sub-command per capability)."""
    from .. import __version__
    from ..core.checks import Integer, Layers
    from .commands import DEFAULT_GALLERY, DEFAULT_REPORT, cmd_analyze, cmd_demo, cmd_explain, cmd_models, cmd_serve
    from .corpus import cmd_corpus, corpus_constraint, neuron_type
    from .options import LAYERS_HELP, add_generation, add_views, layers_action, saliency_epilog, typed

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
    add_views(views)
    group = views.add_argument_group("output")
    group.add_argument("--out", "-o", metavar="REPORT.html",
                       help=f"self-contained HTML report (default {DEFAULT_REPORT} unless --json is given)")
    group.add_argument("--json", nargs="?", const="-", metavar="OUT.json",
                       help="write the data as JSON (no file name, or -, writes to stdout)")
    group.add_argument("--title", help="title of the HTML report")

    parser = argparse.ArgumentParser(
        prog=PROG, description="See why a transformer language model wrote what it wrote.",
        epilog="Run `lmscope COMMAND --help` for a command's options. Exit codes: 0 ok, 2 usage error, 1 failure.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", default=False, help="no progress output")
    parser.add_argument("--debug", action="store_true", default=False, help="tracebacks on failure")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    raw = argparse.RawDescriptionHelpFormatter

    p = commands.add_parser("explain", parents=[common, model, views], help="generate from a prompt; HTML report",
                            description="Generate a continuation of PROMPT and write the chosen views as one "
                                        "self-contained HTML report (and/or JSON).",
                            epilog=saliency_epilog(), formatter_class=raw)
    p.add_argument("prompt", metavar="PROMPT", help="the prompt text; - reads it from stdin")
    p.add_argument("--chat", action="store_true", help="send PROMPT as a user message through the chat template")
    p.add_argument("--system", metavar="TEXT", help="a system message before the prompt (implies --chat)")
    add_generation(p)
    p.set_defaults(run=cmd_explain)

    p = commands.add_parser("analyze", aliases=["analyse"], parents=[common, model, views],
                            help="explain existing text (no generation)",
                            description="Read FILE (every token is input) and write the chosen views. For masked "
                                        "LMs, mask tokens get candidates.",
                            epilog=saliency_epilog(), formatter_class=raw)
    p.add_argument("file", metavar="FILE", help="a UTF-8 text file; - reads stdin")
    p.set_defaults(run=cmd_analyze)

    p = commands.add_parser("corpus", parents=[common, model], help="neuron and factor statistics over many texts",
                            description="Read many texts in batches and report which contexts make FFN neurons "
                                        "(and NMF factors) fire most.")
    p.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files (.txt) or JSON lines (.jsonl)")
    p.add_argument("--split", choices=["file", "lines", "paragraphs"], default="file",
                   help="one document per file (default), per non-empty line, or per blank-line paragraph")
    p.add_argument("--text-key", default="text", help="the field holding the text in .jsonl files")
    p.add_argument("--layers", nargs="+", metavar="L", action=layers_action("layers", corpus_constraint("layers", Layers())),
                   help="layers to watch: 0 2 4, 0-5 or all (default)" + LAYERS_HELP)
    positive = Integer(1)
    for flag, name, default, metavar, text in (
            ("--batch-size", "batch_size", 8, "N", "texts per forward pass (default 8)"),
            ("--max-length", "max_length", None, "N", "tokens per text (default: the context)"),
            ("--k", "k", 10, "K", "top examples kept per neuron (default 10)")):
        p.add_argument(flag, type=typed(name, corpus_constraint(name, Integer(2) if name == "max_length" else
                                                                positive)),
                       default=default, metavar=metavar, help=text)
    p.add_argument("--window", action="store_true", help="cover long texts in overlapping windows, not truncated")
    p.add_argument("--factors", type=typed("factors", positive), metavar="N", help="fit N streaming NMF factors")
    p.add_argument("--top-examples", nargs="?", type=typed("top_examples", positive), const=5, metavar="K",
                   help="print the top K contexts (default 5) of each factor and of each --neuron")
    p.add_argument("--neuron", type=neuron_type, action="append", metavar="L:I",
                   help="a neuron to show top examples of (repeatable); default: the strongest of each layer. "
                        "Checked against the model once it has loaded (exit code 2)")
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

    p = commands.add_parser("serve", parents=[common, model], help="the local web explorer (needs lmscope[serve])",
                            description="Serve the web explorer: type a prompt, watch tokens stream, explore the "
                                        "views. Binds to 127.0.0.1 unless --host says otherwise. Needs the serve "
                                        "extra: pip install 'lmscope[serve]'.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=typed("port", Integer(0, 65535)), default=8000, help="default 8000")
    p.add_argument("--max-new-tokens", type=typed("max_new_tokens", positive), default=200, metavar="N",
                   help="most tokens one request may generate (default 200)")
    p.add_argument("--max-prompt-chars", type=typed("max_prompt_chars", positive), default=4000, metavar="N",
                   help="longest prompt accepted (default 4000 characters)")
    p.add_argument("--max-cost", type=typed("max_cost", Integer(1)), default=3000, metavar="UNITS",
                   help="most work one request may ask for: tokens x the views' per-token cost "
                        "(lmscope.saliency.method_info(name).cost; default 3000)")
    p.set_defaults(run=cmd_serve)
    return parser


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
    """Run the ``lmscope`` command line; returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:            # while importing, parsing, or reporting another failure
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
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
        progress.close()
        print(f"{PROG} {sub}: error: {exc}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return 2
    except KeyboardInterrupt:
        progress.close()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line (the trace with --debug)
        progress.close()
        if args.debug:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
