"""Where a model's parts live: embeddings, blocks, FFN activation point, attention, head.

The map is *discovered* from the module tree and the config, not listed per model id,
so a new family that follows the usual shapes works without code changes. Each capture
point has one name (e.g. ``blocks.4.ffn``) used in errors and docs. Odd models pass an
``overrides`` dict of dotted module paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

# Path fragments that mark a module as part of attention, never of the FFN.
_ATTENTION_WORDS = ("attn", "attention")
# Names of the FFN down projection in known families, used only to break ties.
_KNOWN_FFN_OUT = ("mlp.down_proj", "mlp.c_proj", "mlp.dense_4h_to_h", "mlp.fc2", "mlp.fc_out",
                  "fc2", "output.dense", "ffn.lin2", "feed_forward.w2", "mlp.w2")
_LOSS_TYPES = (nn.modules.loss._Loss,)

OVERRIDE_KEYS = ("blocks", "ffn", "attention", "final_norm", "embeddings", "head")


class AnatomyError(ValueError):
    """A model whose parts could not be found; the message says how to override."""


def _linear_dims(module: nn.Module) -> tuple[int, int] | None:
    """(in_features, out_features) of a Linear-like module, including GPT-2's Conv1D."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    if type(module).__name__ == "Conv1D" and hasattr(module, "nf"):
        weight = module.weight  # Conv1D stores (in, out)
        return int(weight.shape[0]), int(weight.shape[1])
    return None


def _get(root: nn.Module, path: str) -> nn.Module:
    try:
        return root.get_submodule(path) if path else root
    except AttributeError as exc:
        raise AnatomyError(f"override path {path!r} does not exist in {type(root).__name__}") from exc


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, nn.LayerNorm) or "norm" in type(module).__name__.lower()


@dataclass
class Anatomy:
    """The parts of one model that lmscope reads from, with their module paths."""

    model: nn.Module = field(repr=False)
    is_masked: bool
    n_layers: int
    hidden_size: int
    n_neurons: int
    blocks_path: str
    ffn_path: str            # relative to each block; its *input* is the FFN activation
    attention_path: str | None
    final_norm_path: str | None
    head_paths: list[str]    # applied in order to a (normed) hidden state to get logits
    embeddings_path: str
    logit_softcap: float | None = None

    @property
    def blocks(self) -> nn.ModuleList:
        return _get(self.model, self.blocks_path)

    @property
    def embeddings(self) -> nn.Module:
        return _get(self.model, self.embeddings_path)

    def ffn(self, layer: int) -> nn.Module:
        """The module whose input is layer ``layer``'s post-nonlinearity FFN activation."""
        return _get(self.blocks[layer], self.ffn_path)

    @property
    def final_norm(self) -> nn.Module | None:
        return _get(self.model, self.final_norm_path) if self.final_norm_path else None

    def point_names(self) -> list[str]:
        """Named capture points, TransformerLens-style, for docs and error messages."""
        names = ["embeddings"]
        for i in range(self.n_layers):
            names += [f"blocks.{i}.ffn", f"blocks.{i}.out"]
        return names + ["final_norm", "head"]

    def logits(self, hidden: torch.Tensor, *, raw: bool = False) -> torch.Tensor:
        """Project residual-stream states to vocabulary logits (final norm first unless raw)."""
        hidden = self._before_last_head_module(hidden, raw=raw)
        for path in self.head_paths[-1:]:
            hidden = _get(self.model, path)(hidden)
        return self._softcap(hidden)

    def _before_last_head_module(self, hidden: torch.Tensor, *, raw: bool = False) -> torch.Tensor:
        """States as the head's last module receives them: final norm (unless raw), then any head modules before it."""
        if not raw and self.final_norm is not None:
            hidden = self.final_norm(hidden)
        for path in self.head_paths[:-1]:
            hidden = _get(self.model, path)(hidden)
        return hidden

    def _softcap(self, logits: torch.Tensor) -> torch.Tensor:
        """Gemma 2's final logit soft-capping, where the model has it."""
        return torch.tanh(logits / self.logit_softcap) * self.logit_softcap if self.logit_softcap else logits

    def token_logits(self, hidden: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """Logits of chosen tokens: ``hidden`` ``(..., hidden)``, ``token_ids`` ``(..., m)`` broadcastable; ``(..., m)``.

        When the head ends in a plain linear layer, only the rows of those tokens are
        multiplied in: a whole-vocabulary projection costs a large matrix product and, in a
        backward pass, a vocabulary-sized gradient per state, only to keep ``m`` numbers of
        it. Equal to ``logits(hidden).gather(-1, token_ids)`` up to float rounding.
        """
        head = _get(self.model, self.head_paths[-1]) if self.head_paths else None
        if not isinstance(head, nn.Linear) or head._forward_hooks or head._forward_pre_hooks or head.weight.is_meta:
            logits = self.logits(hidden)
            return logits.gather(-1, token_ids.expand(*logits.shape[:-1], token_ids.shape[-1]))
        hidden = self._before_last_head_module(hidden)
        rows = head.weight[token_ids].float()           # (..., m, hidden), broadcast over the states' batch
        # summed in float32, as a matrix product accumulates, also for half-precision models
        logits = (hidden.float()[..., None, :] * rows).sum(-1)
        if head.bias is not None:
            logits = logits + head.bias[token_ids].float()
        return self._softcap(logits).to(hidden.dtype)

    def describe(self) -> dict[str, object]:
        """Plain summary of where each part lives."""
        return {
            "blocks": self.blocks_path, "n_layers": self.n_layers, "ffn": f"{self.blocks_path}.N.{self.ffn_path}",
            "n_neurons": self.n_neurons, "hidden_size": self.hidden_size, "attention": self.attention_path,
            "final_norm": self.final_norm_path, "head": self.head_paths, "embeddings": self.embeddings_path,
            "masked": self.is_masked,
        }


def _find_blocks(model: nn.Module) -> str:
    """Path of the longest ModuleList of identical blocks (the transformer layers)."""
    n_expected = _config_int(model.config, "num_hidden_layers", "n_layer", "num_layers", "n_layers")
    best: tuple[int, str] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            kinds = {type(m) for m in module}
            if len(kinds) != 1:
                continue
            if n_expected is not None and len(module) == n_expected:
                return name
            if best is None or len(module) > best[0]:
                best = (len(module), name)
    if best is None:
        raise AnatomyError(_missing("the list of transformer blocks", "blocks", "model.layers"))
    return best[1]


def _config_int(config, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


def _find_ffn(block: nn.Module, hidden: int) -> tuple[str, int]:
    """The down projection: maps a wider FFN activation back to ``hidden``, outside attention."""
    candidates = []
    for name, module in block.named_modules():
        dims = _linear_dims(module)
        if dims is None or any(w in name.lower() for w in _ATTENTION_WORDS):
            continue
        n_in, n_out = dims
        if n_out == hidden and n_in > hidden:
            candidates.append((name, n_in))
    if len(candidates) > 1:
        known = [c for c in candidates if c[0] in _KNOWN_FFN_OUT]
        candidates = known if len(known) == 1 else candidates
    if len(candidates) != 1:
        found = ", ".join(c[0] for c in candidates) or "none"
        raise AnatomyError(_missing(f"one FFN down projection in a block (candidates: {found})",
                                    "ffn", "mlp.down_proj"))
    return candidates[0]


def _find_attention(block: nn.Module) -> str | None:
    for name, module in block.named_children():
        if "attention" in type(module).__name__.lower() or name in ("attn", "self_attn", "attention",
                                                                     "self_attention"):
            return name
    return None


def _find_final_norm(model: nn.Module, blocks_path: str) -> str | None:
    """The norm beside the blocks in their parent: the first one registered after them, else
    the only one not named for the embeddings (OPT registers its final norm first)."""
    parent_path, _, blocks_name = blocks_path.rpartition(".")
    children = list(_get(model, parent_path).named_children())
    names = [name for name, _ in children]
    after = names.index(blocks_name) + 1
    norms = [name for name, module in children if _is_norm(module)]
    chosen = next((n for n in norms if names.index(n) >= after), None)
    if chosen is None:
        others = [n for n in norms if "emb" not in n.lower()]
        chosen = others[0] if len(others) == 1 else None
    if chosen is None:
        return None
    return f"{parent_path}.{chosen}" if parent_path else chosen


def _find_head(model: nn.Module, is_masked: bool) -> list[str]:
    """Modules that turn the last hidden state into logits."""
    out = model.get_output_embeddings()
    if out is None:
        raise AnatomyError(_missing("the unembedding (output embeddings)", "head", "lm_head"))
    paths = {id(m): n for n, m in model.named_modules()}
    if not is_masked:
        return [paths[id(out)]]
    # Masked LMs keep a transform (dense, activation, norm) before the decoder, as one module
    # (BERT's cls) or several (DistilBERT, whose registration order is not its call order):
    # record the order in which the top-level children other than the encoder run.
    base = getattr(model, "base_model_prefix", "")
    children = [(n, m) for n, m in model.named_children() if n != base and not isinstance(m, _LOSS_TYPES)]
    order: list[str] = []
    handles = [m.register_forward_hook(lambda *_a, n=n: order.append(n)) for n, m in children]
    try:
        with torch.no_grad():
            model(input_ids=torch.zeros(1, 2, dtype=torch.long, device=out.weight.device))
    finally:
        for handle in handles:
            handle.remove()
    head = list(dict.fromkeys(order))
    if not head:
        raise AnatomyError(_missing("the masked-LM head", "head", "cls"))
    return head


def _missing(what: str, key: str, example: str) -> str:
    return (f"lmscope could not find {what} in this model. Pass it yourself, e.g. "
            f"lmscope.load(model, tokenizer=tok, anatomy={{{key!r}: {example!r}}}); "
            f"override keys: {', '.join(OVERRIDE_KEYS)}.")


def discover(model: nn.Module, overrides: dict[str, str] | None = None) -> Anatomy:
    """Map the parts of ``model``; ``overrides`` gives dotted paths for parts it gets wrong."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(OVERRIDE_KEYS)
    if unknown:
        raise AnatomyError(f"unknown anatomy override(s) {sorted(unknown)}; valid keys: {', '.join(OVERRIDE_KEYS)}")
    config = model.config
    is_masked = "MaskedLM" in type(model).__name__
    blocks_path = overrides.get("blocks") or _find_blocks(model)
    blocks = _get(model, blocks_path)
    if not isinstance(blocks, (nn.ModuleList, nn.Sequential)):
        raise AnatomyError(f"blocks path {blocks_path!r} is a {type(blocks).__name__}, not a ModuleList")
    embeddings = model.get_input_embeddings()
    hidden = _config_int(config, "hidden_size", "n_embd", "d_model", "dim") or embeddings.embedding_dim
    if "ffn" in overrides:
        ffn_path = overrides["ffn"]
        dims = _linear_dims(_get(blocks[0], ffn_path))
        if dims is None:
            raise AnatomyError(f"ffn override {ffn_path!r} is not a Linear/Conv1D layer")
        n_neurons = dims[0]
    else:
        ffn_path, n_neurons = _find_ffn(blocks[0], hidden)
    module_paths = {id(m): n for n, m in model.named_modules()}
    if "final_norm" in overrides:
        final_norm_path = overrides["final_norm"] or None
    else:
        final_norm_path = None if is_masked else _find_final_norm(model, blocks_path)
    head_paths = overrides["head"].split(",") if "head" in overrides else _find_head(model, is_masked)
    softcap = getattr(config, "final_logit_softcapping", None)
    return Anatomy(
        model=model, is_masked=is_masked, n_layers=len(blocks), hidden_size=hidden, n_neurons=n_neurons,
        blocks_path=blocks_path, ffn_path=ffn_path,
        attention_path=overrides.get("attention") or _find_attention(blocks[0]),
        final_norm_path=final_norm_path, head_paths=head_paths,
        embeddings_path=overrides.get("embeddings") or module_paths[id(embeddings)],
        logit_softcap=float(softcap) if softcap else None,
    )
