"""The ``explain``, ``analyze``, ``models``, ``demo`` and ``serve`` commands: adapters over
:mod:`lmscope.report`, :mod:`lmscope.demo` and :mod:`lmscope.server`."""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from typing import Any

from .options import generation_options, view_choice
from .output import Progress, UsageError, check_output, read_text, short, utf8, write_json

DEFAULT_REPORT = "lmscope-report.html"
DEFAULT_GALLERY = "lmscope-gallery.html"
SERVE_INSTALL = "pip install 'lmscope[serve]'"


def load_scope(args: argparse.Namespace, progress: Progress):
    """The model named by ``--model`` (default: the embedded one) on ``--device`` in ``--dtype``."""
    import lmscope
    from ..loading import DEFAULT_NAME

    progress.say(f"loading {args.model or DEFAULT_NAME} …")
    start = time.perf_counter()
    scope = lmscope.load(args.model, device=args.device, dtype=args.dtype)
    progress.say(f"loaded {scope.name} ({scope.n_layers} layers) in {time.perf_counter() - start:.1f} s")
    return scope


def model_checked(what: Any, scope: Any) -> None:
    """Checks that need the loaded model (layer ranges): their ``ValueError`` is a usage error (exit 2)."""
    try:
        what.layers(scope.n_layers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_outputs(args: argparse.Namespace) -> None:
    """``--out`` and ``--json`` can be written (checked before the model loads: exit 2, not 1 after the work)."""
    check_output("--out", args.out if args.out is not None or args.json is not None else DEFAULT_REPORT)
    check_output("--json", args.json)


def _report(explained, args: argparse.Namespace, progress: Progress, default_title: str) -> None:
    from ..views import save_html

    out, json_target = args.out, args.json
    if out is None and json_target is None:
        out = DEFAULT_REPORT
    if out is not None:
        path = save_html(explained.views(), out, title=args.title or default_title)
        progress.say(f"wrote {path}")
    if json_target is not None:
        write_json(explained.data(), json_target, progress)


def cmd_explain(args: argparse.Namespace, progress: Progress) -> int:
    """Generate from a prompt and write the report."""
    from ..report import TokenStreamer, explain

    choice, generation = view_choice(args), generation_options(args)
    prompt_text = read_text(args.prompt) if args.prompt == "-" else utf8(args.prompt, "the prompt")
    if args.system is not None:
        utf8(args.system, "--system")
    check_outputs(args)
    if not prompt_text.strip():
        raise UsageError("the prompt is empty; pass some text (or - to read it from stdin)")
    if generation.seed is not None and not generation.do_sample:
        raise UsageError("--seed only matters with --sample")
    prompt: Any = prompt_text
    if args.chat or args.system:
        prompt = ([{"role": "system", "content": args.system}] if args.system else []) + \
                 [{"role": "user", "content": prompt_text}]
    scope = load_scope(args, progress)
    model_checked(choice, scope)
    streams = generation.num_beams == 1 and not progress.quiet
    streamer = TokenStreamer(scope.tokenizer, lambda i, _d, text: text and progress.token(i, text)) if streams else None
    explained = explain(scope, prompt, choice, generation=generation, mode="generate", streamer=streamer,
                        step=progress.step)
    progress.close()
    if args.json != "-":
        print(explained.run.output_text)
    _report(explained, args, progress, f"lmscope: {short(prompt_text)}")
    progress.done("done")
    return 0


def cmd_analyze(args: argparse.Namespace, progress: Progress) -> int:
    """Explain existing text without generating."""
    from ..report import explain

    choice = view_choice(args)
    text = read_text(args.file)
    check_outputs(args)
    if not text.strip():
        raise UsageError(f"{args.file} holds no text")
    scope = load_scope(args, progress)
    model_checked(choice, scope)
    explained = explain(scope, text, choice, mode="analyze", step=progress.step)
    _report(explained, args, progress, f"lmscope: {short(text)}")
    progress.done(f"done: {explained.run.n_tokens} tokens")
    return 0


def list_models() -> list[dict[str, Any]]:
    """What loads offline: the embedded default, cached conversions and hub downloads; nothing is loaded."""
    from .. import loading

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
    check_output("--json", args.json)
    found = list_models()
    if args.json is not None:
        write_json(found, args.json, progress)
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
    from .. import demo

    check_output("--out", args.out)
    scope = load_scope(args, progress) if args.model else None
    progress.say(f"building the gallery into {args.out} (a few minutes on a CPU) …")
    path = demo.build_gallery(scope, args.out, progress=not progress.quiet)
    print(path)
    progress.done("done")
    return 0


def serve_missing() -> list[str]:
    """The web packages ``lmscope serve`` needs that are not installed (found without importing them)."""
    return [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]


def cmd_serve(args: argparse.Namespace, progress: Progress) -> int:
    """Serve the web explorer until interrupted."""
    missing = serve_missing()
    if missing:
        raise UsageError(f"the web explorer needs FastAPI and uvicorn ({', '.join(missing)} not installed); "
                         f"install them with: {SERVE_INSTALL}")
    from ..server import Limits, is_loopback, serve

    scope = load_scope(args, progress)
    limits = Limits(max_new_tokens=args.max_new_tokens, max_prompt_chars=args.max_prompt_chars,
                    max_cost=float(args.max_cost))
    host = f"[{args.host}]" if ":" in args.host else args.host
    where = host if is_loopback(args.host) else "127.0.0.1" if args.host in ("0.0.0.0", "::") else host
    progress.say(f"explorer at http://{where}:{args.port}/  (Ctrl+C to stop)")
    serve(scope, host=args.host, port=args.port, limits=limits, log_level="warning" if progress.quiet else "info")
    return 0
