"""A loaded model ready to explain: generate or analyse text into :class:`~lmscope.run.Run` objects."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from . import loading
from .anatomy import Anatomy, discover
from .capture import CAPTURE, DEFAULT_CAPTURE, run_forward, store_captures
from .core.checks import Integer, Layers, Options, resolve_layers, validated
from .core.options import constraints_of
from .core.results import delegate
from .core.tokens import decoded_texts, display_tokens
from .corpus import build_corpus
from .generation import GENERATION, MAX_CANDIDATES, PROMPT, GenerationOptions
from .run import Run

Messages = Sequence[dict[str, str]]
# What generate and analyze check besides the generation options (declared in lmscope.report).
CAPTURE_OPTIONS = {"capture": CAPTURE, "layers": Layers(), "n_candidates": Integer(1, MAX_CANDIDATES),
                   "activation_dtype": Options(("float32", "float16"))}


class Scope:
    """A model, its tokenizer and the map of its parts; the entry point for every analysis.

    Build one with :func:`lmscope.load`. ``scope.model`` and ``scope.tokenizer`` are the raw
    Hugging Face objects.
    """

    def __init__(self, model: nn.Module, tokenizer, *, name: str = "", anatomy: dict[str, str] | None = None,
                 head: bool = True):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name or getattr(model.config, "_name_or_path", "") or type(model).__name__
        # head=False: an encoder without a language-model head; analyze captures, nothing predicts.
        self.anatomy: Anatomy = discover(model, anatomy, head=head)
        # Explanations need gradients w.r.t. inputs only: parameters never need them.
        for parameter in model.parameters():
            parameter.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def is_masked(self) -> bool:
        return self.anatomy.is_masked

    @property
    def n_layers(self) -> int:
        return self.anatomy.n_layers

    @property
    def context_length(self) -> int | None:
        config = self.model.config
        for name in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def __repr__(self) -> str:
        a = self.anatomy
        direction = "bidirectional" if a.bidirectional else "causal"
        if not a.has_head:
            kind = f"{'encoder' if a.bidirectional else 'causal'}, no LM head"
        else:
            kind = "masked LM" if a.is_masked else f"{direction} LM"
        return (f"Scope({self.name!r}, {kind}, layers={a.n_layers}, "
                f"neurons/layer={a.n_neurons}, hidden={a.hidden_size}, device={self.device})")

    # ------------------------------------------------------------------ input
    @validated(prompt=PROMPT)
    def encode(self, prompt: str | Messages) -> torch.Tensor:
        """Token ids ``(1, n)`` of a prompt string, or of chat messages through the chat template.

        ``prompt`` is checked by :data:`lmscope.generation.PROMPT` (valid Unicode text, string
        role and content) with the message the CLI and the explorer give too.
        """
        if isinstance(prompt, str):
            ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"]
        else:
            if not getattr(self.tokenizer, "chat_template", None):
                raise ValueError(f"the tokenizer of {self.name} has no chat template; pass a plain string prompt")
            messages = [dict(m) for m in prompt]
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                     return_dict=True)["input_ids"]
        if ids.shape[1] == 0:
            raise ValueError("the prompt tokenizes to no tokens; pass some text")
        return ids.to(self.device)

    def _check_length(self, n_tokens: int, what: str) -> None:
        limit = self.context_length
        if limit is not None and n_tokens > limit:
            raise ValueError(f"{what} needs {n_tokens} positions but {self.name} has a context of {limit}; "
                             "shorten the prompt or lower max_new_tokens")

    # ------------------------------------------------------------------ generate
    @validated(prompt=PROMPT, **constraints_of(GenerationOptions), **CAPTURE_OPTIONS)
    def generate(self, prompt: str | Messages, *, max_new_tokens: int = GENERATION.max_new_tokens,
                 do_sample: bool = GENERATION.do_sample, temperature: float = GENERATION.temperature,
                 top_k: int | None = GENERATION.top_k, top_p: float | None = GENERATION.top_p,
                 num_beams: int = GENERATION.num_beams, seed: int | None = GENERATION.seed,
                 capture: Iterable[str] = DEFAULT_CAPTURE, layers: Iterable[int] | int | None = None,
                 n_candidates: int = 10, activation_dtype: str = "float32", streamer: Any = None) -> Run:
        """Generate a continuation (greedy by default), then capture it in one teacher-forced pass.

        Generation uses the model's KV cache (``model.generate``); captures come from one
        forward pass over the final sequence with hooks, only for what ``capture`` names
        (``"activations"``, ``"hidden_states"``, ``"attentions"``) and, for activations and
        attentions, only ``layers``. ``prompt`` may be chat messages
        (``[{"role": "user", "content": ...}]``), rendered with the tokenizer's chat template.
        ``seed`` makes sampling reproducible without touching the global random state.
        ``streamer`` is passed to ``model.generate`` (e.g. a ``transformers.TextIteratorStreamer``
        or :class:`lmscope.report.TokenStreamer`) so tokens can be shown as they are generated,
        before the capture pass. The generation options are :class:`lmscope.generation.GenerationOptions`,
        checked (with the same messages as the CLI and the explorer) before any work.
        """
        self.anatomy.require_head("generate")
        if self.is_masked:
            raise ValueError(f"{self.name} is a masked LM and does not generate; use scope.analyze(text)")
        capture = CAPTURE.check("capture", capture)
        layers = resolve_layers(layers, self.n_layers)
        input_ids = self.encode(prompt)
        self._check_length(input_ids.shape[1] + max_new_tokens, f"the prompt ({input_ids.shape[1]} tokens) "
                                                                  f"+ max_new_tokens={max_new_tokens}")
        config = copy.deepcopy(self.model.generation_config)
        config.max_new_tokens = max_new_tokens
        config.do_sample = do_sample
        config.num_beams = num_beams
        config.num_return_sequences = 1
        config.temperature = temperature if do_sample else None
        config.top_k = top_k if do_sample else None
        config.top_p = top_p if do_sample else None
        if config.pad_token_id is None:
            config.pad_token_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else \
                (config.eos_token_id if isinstance(config.eos_token_id, int) else 0)
        mask = torch.ones_like(input_ids)
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []), torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            sequence = self.model.generate(input_ids, attention_mask=mask, generation_config=config,
                                           streamer=streamer)
        settings = {"mode": "generate", "max_new_tokens": max_new_tokens, "do_sample": do_sample,
                    "temperature": temperature, "top_k": top_k, "top_p": top_p, "num_beams": num_beams,
                    "seed": seed, "prompt": prompt if isinstance(prompt, str) else list(map(dict, prompt))}
        return self._capture(sequence[:1], input_ids.shape[1], capture=capture, layers=layers,
                             n_candidates=n_candidates, activation_dtype=activation_dtype, settings=settings)

    # ------------------------------------------------------------------ analyze
    @validated(text=PROMPT, **CAPTURE_OPTIONS)
    def analyze(self, text: str | Messages, *, capture: Iterable[str] = DEFAULT_CAPTURE,
                layers: Iterable[int] | int | None = None, n_candidates: int = 10,
                activation_dtype: str = "float32") -> Run:
        """Capture existing text in one forward pass, without generating (masked LMs too).

        Every token counts as input (``run.n_input == run.n_tokens``). For masked LMs,
        ``run.candidates`` holds the model's top predictions at each mask token. A model
        loaded with ``head=False`` (an encoder) captures activations and hidden states only.
        """
        capture = CAPTURE.check("capture", capture)
        layers = resolve_layers(layers, self.n_layers)
        input_ids = self.encode(text)
        self._check_length(input_ids.shape[1], f"the text ({input_ids.shape[1]} tokens)")
        settings = {"mode": "analyze", "prompt": text if isinstance(text, str) else list(map(dict, text))}
        return self._capture(input_ids, input_ids.shape[1], capture=capture, layers=layers,
                             n_candidates=n_candidates, activation_dtype=activation_dtype, settings=settings)

    # ------------------------------------------------------------------ corpus
    corpus = delegate(build_corpus)

    # ------------------------------------------------------------------ capture
    def _capture(self, sequence: torch.Tensor, n_input: int, *, capture: tuple[str, ...], layers: list[int],
                 n_candidates: int, activation_dtype: str, settings: dict[str, Any]) -> Run:
        n_tokens = sequence.shape[1]
        mask_id = getattr(self.tokenizer, "mask_token_id", None)
        mask_positions = ((sequence[0] == mask_id).nonzero().flatten().tolist()
                          if self.is_masked and mask_id is not None else [])
        # Logits are only needed where candidates are reported: the positions that produced
        # each generated token (causal) or the mask positions (masked).
        if self.is_masked:
            logits_from = 0 if mask_positions else None
        else:
            logits_from = n_input - 1 if n_tokens > n_input else None
        got = run_forward(self.anatomy, sequence, capture=capture, layers=layers, logits_from=logits_from)
        ids = sequence[0].tolist()
        decoded_input, decoded_output = decoded_texts(self.tokenizer, ids, n_input)
        run = Run(token_ids=sequence[0].cpu().numpy().astype(np.int64), tokens=display_tokens(self.tokenizer, ids),
                  n_input=n_input, decoded_input=decoded_input, decoded_output=decoded_output,
                  model_name=self.name, settings=settings, scope=self)
        store_captures(run, got, capture=capture, layers=layers, n_layers=self.n_layers, logits_from=logits_from,
                       activation_dtype=activation_dtype)
        if got.logits is not None:
            if self.is_masked:
                rows, positions = got.logits[0, mask_positions], mask_positions
            else:
                rows, positions = got.logits[0, : n_tokens - n_input], list(range(n_input, n_tokens))
            self._candidates(run, rows, positions, n_candidates)
        return run

    def _candidates(self, run: Run, logits: torch.Tensor, positions: list[int], k: int) -> None:
        """Top-k next-token candidates and the chosen token's probability for each position."""
        probs = torch.softmax(logits.float(), dim=-1)
        k = min(k, probs.shape[-1])
        top = probs.topk(k, dim=-1)
        run.candidate_positions = np.asarray(positions, dtype=np.int64)
        run.candidate_ids = top.indices.cpu().numpy().astype(np.int64)
        run.candidate_probs = top.values.cpu().numpy().astype(np.float32)
        chosen = torch.as_tensor(run.token_ids[positions], device=probs.device)
        run.chosen_probs = probs.gather(1, chosen[:, None])[:, 0].cpu().numpy().astype(np.float32)
        run.candidate_tokens = [display_tokens(self.tokenizer, row) for row in run.candidate_ids.tolist()]


def load(model: str | nn.Module | None = None, *, tokenizer=None, device: str | torch.device | None = None,
         dtype: str | torch.dtype | None = None, anatomy: dict[str, str] | None = None,
         trust_remote_code: bool = False, attn_implementation: str | None = None, head: bool = True) -> Scope:
    """Load a model to explain.

    ``model`` is ``None`` (the embedded default, SmolLM2-135M-Instruct, offline), a hub id, a
    local folder, a ``.gguf`` file, or a model object (then pass ``tokenizer=``). ``device``
    defaults to CUDA when present, else CPU; ``dtype`` to float32. ``anatomy`` overrides
    discovered module paths (keys: blocks, ffn, attention, final_norm, embeddings, head).

    A checkpoint whose language-model head weights are not in it (an encoder-only checkpoint
    such as a sentence-transformers BERT) is refused, since its predictions would be random.
    ``head=False`` loads such a model explicitly without a head: ``scope.analyze(text)``
    captures activations and hidden states (and factors work); generate, saliency, the logit
    lens and candidates raise an error saying the model has no head.

    >>> scope = lmscope.load()                      # doctest: +SKIP
    >>> run = scope.generate("1, 2, 3,", max_new_tokens=6)   # doctest: +SKIP
    """
    device = loading.resolve_device(device)
    torch_dtype = loading.resolve_dtype(dtype)
    if model is None:
        model = str(loading.default_gguf())
        name = loading.DEFAULT_NAME
    elif isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        name = None
    elif isinstance(model, nn.Module):
        if tokenizer is None:
            raise ValueError("a model object needs its tokenizer too: lmscope.load(model, tokenizer=tokenizer)")
        if torch_dtype is not None:
            model = model.to(torch_dtype)
        return Scope(model.to(device), tokenizer, anatomy=anatomy, head=head)
    else:
        raise TypeError(f"model must be None, a hub id, a path or a torch model, not {type(model).__name__}")
    hf_model, hf_tokenizer, found_name = loading.load_pretrained(
        str(model), dtype=torch_dtype, trust_remote_code=trust_remote_code, attn_implementation=attn_implementation,
        head=head)
    if tokenizer is not None:
        hf_tokenizer = tokenizer
    return Scope(hf_model.to(device), hf_tokenizer, name=name or found_name, anatomy=anatomy, head=head)
