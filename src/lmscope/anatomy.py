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

from .probing import Probe, feeding_chain, first_tensor, probe_ids, run_probe

# Path fragments that mark a module as part of attention, never of the FFN.
_ATTENTION_WORDS = ("attn", "attention")
# Names of the FFN down projection in known families, used only to break ties.
_KNOWN_FFN_OUT = ("mlp.down_proj", "mlp.c_proj", "mlp.dense_4h_to_h", "mlp.fc2", "mlp.fc_out",
                  "fc2", "output.dense", "ffn.lin2", "feed_forward.w2", "mlp.w2")

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


class MissingHeadError(ValueError):
    """An analysis that needs a language-model head, on a model loaded without one (``head=False``)."""


@dataclass
class Anatomy:
    """The parts of one model that lmscope reads from, with their module paths."""

    model: nn.Module = field(repr=False)
    is_masked: bool          # a masked-LM head: position p predicts its own [MASK]
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
    unembedding_path: str | None = None   # the output embedding: head_paths[-1] or a module inside it
    bidirectional: bool = False           # position 0 sees later tokens (probed, not read from the class)
    has_head: bool = True                 # False: loaded without a language-model head (head=False)
    rows_exact: bool = True               # token_logits may multiply in only the chosen rows of the unembedding

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
        return names + (["final_norm", "head"] if self.has_head else ["final_norm"])

    def require_head(self, what: str) -> None:
        """A clear error when ``what`` needs the language-model head this model was loaded without."""
        if not self.has_head:
            raise MissingHeadError(
                f"{what} needs a language-model head, and this model was loaded without one (head=False: "
                "an encoder-only checkpoint); it can capture activations and hidden states (scope.analyze) "
                "and factors, but not generate, saliency, the logit lens or candidates. Load a checkpoint "
                "that was trained with its head for those")

    def logits(self, hidden: torch.Tensor, *, raw: bool = False) -> torch.Tensor:
        """Project residual-stream states to vocabulary logits (final norm first unless raw)."""
        self.require_head("projecting hidden states onto the vocabulary")
        if not raw and self.final_norm is not None:
            hidden = self.final_norm(hidden)
        for path in self.head_paths:
            hidden = first_tensor(_get(self.model, path)(hidden))
        return self._softcap(hidden)

    def _unembedding_input(self, hidden: torch.Tensor) -> torch.Tensor:
        """States as the output embedding receives them: final norm, then every head step before it."""
        if self.final_norm is not None:
            hidden = self.final_norm(hidden)
        for path in self.head_paths[:-1]:
            hidden = first_tensor(_get(self.model, path)(hidden))
        if self.head_paths[-1] == self.unembedding_path:
            return hidden
        # The output embedding sits inside the last head module (BERT's cls, RoBERTa's lm_head):
        # run that module up to the embedding's input, and stop there.
        handle = _get(self.model, self.unembedding_path).register_forward_pre_hook(_stop_with_input)
        try:
            _get(self.model, self.head_paths[-1])(hidden)
        except _Stop as stopped:
            return stopped.value
        finally:
            handle.remove()
        raise AnatomyError(f"the head never called its output embedding {self.unembedding_path!r}")  # pragma: no cover

    def _softcap(self, logits: torch.Tensor) -> torch.Tensor:
        """Gemma 2's final logit soft-capping, where the model has it."""
        return torch.tanh(logits / self.logit_softcap) * self.logit_softcap if self.logit_softcap else logits

    def _rows_path_usable(self) -> bool:
        """Whether the chosen-rows shortcut applies: a plain Linear unembedding, no hook anywhere in the head."""
        if not (self.rows_exact and self.has_head and self.unembedding_path):
            return False
        unembedding = _get(self.model, self.unembedding_path)
        if not isinstance(unembedding, nn.Linear) or unembedding.weight.is_meta:
            return False
        return not any(m._forward_hooks or m._forward_pre_hooks
                       for path in self.head_paths for m in _get(self.model, path).modules())

    def token_logits(self, hidden: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """Logits of chosen tokens: ``hidden`` ``(..., hidden)``, ``token_ids`` ``(..., m)`` broadcastable; ``(..., m)``.

        When the head ends in a plain linear layer, only the rows of those tokens are
        multiplied in (after any transform before it: BERT's, RoBERTa's, OPT's projection):
        a whole-vocabulary projection costs a large matrix product and, in a backward pass,
        a vocabulary-sized gradient per state, only to keep ``m`` numbers of it. Equal to
        ``logits(hidden).gather(-1, token_ids)`` up to float rounding (checked at discovery).
        """
        if not self._rows_path_usable():
            logits = self.logits(hidden)
            return logits.gather(-1, token_ids.expand(*logits.shape[:-1], token_ids.shape[-1]))
        head = _get(self.model, self.unembedding_path)
        hidden = self._unembedding_input(hidden)
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
            "final_norm": self.final_norm_path, "head": self.head_paths, "unembedding": self.unembedding_path,
            "embeddings": self.embeddings_path, "masked": self.is_masked, "bidirectional": self.bidirectional,
        }


class _Stop(Exception):
    """Carries a tensor out of a forward pass that need not go on."""

    def __init__(self, value: torch.Tensor):
        super().__init__("stop")
        self.value = value


def _stop_with_input(_module: nn.Module, args: tuple) -> None:
    raise _Stop(args[0])


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


def _missing(what: str, key: str, example: str) -> str:
    return (f"lmscope could not find {what} in this model. Pass it yourself, e.g. "
            f"lmscope.load(model, tokenizer=tok, anatomy={{{key!r}: {example!r}}}); "
            f"override keys: {', '.join(OVERRIDE_KEYS)}.")


def _head_from(chain: list[str], unembedding: str, final_norm: str | None, overridden: bool, model: nn.Module
               ) -> tuple[str | None, list[str]]:
    """(final norm, head steps) from the chain after the last block, up to the module holding the unembedding."""
    holding = [i for i, name in enumerate(chain) if unembedding == name or unembedding.startswith(f"{name}.")]
    if not holding:
        raise AnatomyError(_missing(f"the head (the output embedding {unembedding!r} is not called after the "
                                    "last block)", "head", unembedding))
    chain = chain[:holding[0] + 1]
    if not overridden:
        first = chain[0]
        final_norm = first if len(chain) > 1 and _is_norm(_get(model, first)) else None
    return final_norm, [name for name in chain if name != final_norm]


def _check_head(anatomy: Anatomy, probe: Probe) -> None:
    """Refuse a head that does not give the model's own logits; turn off the rows shortcut where it differs."""
    expected = getattr(probe.output, "logits", None)
    if expected is None:
        return
    with torch.no_grad():
        try:
            got = anatomy.logits(probe.last_hidden)
        except RuntimeError:   # steps that do not fit together (shapes): as wrong as different numbers
            got = torch.full((0,), float("nan"))
        exact = torch.finfo(expected.dtype).eps ** 0.5 if expected.dtype != torch.float32 else 1e-5
        tolerance = exact * (1.0 + float(expected.abs().max()))
        gap = float((got.float() - expected.float()).abs().max()) if got.shape == expected.shape else float("inf")
        if gap > tolerance:
            raise AnatomyError(
                f"lmscope's reading of this model's head (final norm {anatomy.final_norm_path!r}, then "
                f"{', '.join(anatomy.head_paths)}{', soft-capping' if anatomy.logit_softcap else ''}) does not give "
                f"the model's own logits (largest difference {gap:.3g}): the model does more between its last "
                "block and its logits. Name the steps yourself: lmscope.load(model, tokenizer=tok, "
                "anatomy={'final_norm': 'path.of.norm', 'head': 'first.step,second.step'}), module paths "
                "applied in order to the last block's output")
        ids = expected.float().argmax(-1, keepdim=True)
        rows = anatomy.token_logits(probe.last_hidden, ids).float()
        anatomy.rows_exact = bool((rows - expected.float().gather(-1, ids)).abs().max() <= tolerance)


def discover(model: nn.Module, overrides: dict[str, str] | None = None, *, head: bool = True) -> Anatomy:
    """Map the parts of ``model``; ``overrides`` gives dotted paths for parts it gets wrong.

    The head and whether the model attends both ways are read from what the model does on a
    three-token input: the modules that run after the last block (checked against the
    model's own logits), and whether changing the last token changes position 0.
    ``head=False``: a model without a language-model head (an encoder); nothing projects
    onto the vocabulary.
    """
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
    unembedding = model.get_output_embeddings() if head else None
    if head and unembedding is None:
        raise AnatomyError(_missing("the unembedding (output embeddings)", "head", "lm_head")
                           + " A model without a language-model head (an encoder) loads with head=False.")
    unembedding_path = module_paths[id(unembedding)] if unembedding is not None else None
    final_norm_path = (overrides["final_norm"] or None) if "final_norm" in overrides else None
    try:
        probe = run_probe(model, blocks[-1], probe_ids(model, 3))
        changed = run_probe(model, blocks[-1], probe_ids(model, 4)).last_hidden
    except Exception:  # noqa: BLE001 - a model that cannot run alone: its parts as registered, unchecked
        probe = changed = None
    if probe is None:
        if is_masked and "head" not in overrides:
            raise AnatomyError(_missing("the masked-LM head (the model did not run on a short input)", "head", "cls"))
        if "final_norm" not in overrides and not is_masked:
            final_norm_path = _find_final_norm(model, blocks_path)
        head_paths = [unembedding_path] if unembedding_path else []
        bidirectional = is_masked
    else:
        chain = feeding_chain(probe)
        if not head or "head" in overrides:
            first = chain[0] if chain else None
            if "final_norm" not in overrides and first and _is_norm(_get(model, first)):
                final_norm_path = first
            head_paths = []
        else:
            final_norm_path, head_paths = _head_from(chain, unembedding_path, final_norm_path,
                                                     "final_norm" in overrides, model)
        scale = 1.0 + float(probe.last_hidden[0, 0].abs().max())
        bidirectional = float((probe.last_hidden[0, 0] - changed[0, 0]).abs().max()) > 1e-4 * scale
    if "head" in overrides:
        head_paths = overrides["head"].split(",")
        if "final_norm" not in overrides and final_norm_path in head_paths:
            final_norm_path = None   # named as a head step: applied once
    softcap = getattr(config, "final_logit_softcapping", None)
    anatomy = Anatomy(
        model=model, is_masked=is_masked, n_layers=len(blocks), hidden_size=hidden, n_neurons=n_neurons,
        blocks_path=blocks_path, ffn_path=ffn_path,
        attention_path=overrides.get("attention") or _find_attention(blocks[0]),
        final_norm_path=final_norm_path, head_paths=head_paths,
        embeddings_path=overrides.get("embeddings") or module_paths[id(embeddings)],
        logit_softcap=float(softcap) if softcap and head else None, unembedding_path=unembedding_path,
        bidirectional=bidirectional, has_head=head,
    )
    last = head_paths[-1] if head_paths else None
    if not (last and unembedding_path and (unembedding_path == last or unembedding_path.startswith(f"{last}."))):
        anatomy.rows_exact = False   # an overridden head whose last step does not hold the output embedding
    if head and probe is not None:
        _check_head(anatomy, probe)
    return anatomy
