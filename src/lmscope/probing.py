"""One short forward pass that shows what a model does after its last block, for anatomy discovery.

The head is read from the modules that run after the last block and feed each other (not
from the class name), and whether the model attends both ways from whether changing the
last token of a short input changes position 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def first_tensor(output):
    """The first element of a module's tuple output, or the output itself."""
    return output[0] if isinstance(output, (tuple, list)) else output


@dataclass
class Probe:
    """What one short forward pass showed: the modules after the last block and what came out."""

    after: list[tuple[str, torch.Tensor | None, torch.Tensor | None]]  # outermost calls after the last block
    last_hidden: torch.Tensor       # (1, n, hidden) the last block's output
    output: object                  # the model's own output (``.logits`` for an LM)


def run_probe(model: nn.Module, last_block: nn.Module, ids: torch.Tensor) -> Probe:
    """Run ``ids`` through the model, recording the outermost modules called after the last block, in order."""
    names = {id(m): n for n, m in model.named_modules()}
    after: list[list] = []
    stack: list[nn.Module] = []
    state: dict[str, torch.Tensor] = {}

    def pre(module, args, kwargs):
        if "last" in state:
            if not stack:
                x = args[0] if args else next((v for v in kwargs.values() if torch.is_tensor(v)), None)
                after.append([names[id(module)], x if torch.is_tensor(x) else None, None])
            stack.append(module)

    def post(module, _args, _kwargs, output):
        if stack and stack[-1] is module:
            stack.pop()
            if not stack:
                after[-1][2] = first_tensor(output) if torch.is_tensor(first_tensor(output)) else None

    def block_done(_module, _args, output):
        state["last"] = first_tensor(output)

    handles = [m.register_forward_pre_hook(pre, with_kwargs=True) for m in model.modules()]
    handles += [m.register_forward_hook(post, with_kwargs=True) for m in model.modules()]
    handles.append(last_block.register_forward_hook(block_done))
    try:
        with torch.no_grad():
            output = model(input_ids=ids)
    finally:
        for handle in handles:
            handle.remove()
    last = state["last"]
    return Probe([tuple(a) for a in after], last.reshape(*ids.shape, -1), output)


def feeding_chain(probe: Probe) -> list[str]:
    """The modules after the last block that feed each other, from its output on (a pooler is left out)."""
    def key(t: torch.Tensor) -> tuple[int, int]:
        return t.data_ptr(), t.numel()   # a view of the whole tensor (Llama's position slice, OPT's reshape) counts

    current, chain = key(probe.last_hidden), []
    for name, x, y in probe.after:
        if x is None or y is None or y is x or key(x) != current:
            continue
        chain.append(name)
        current = key(y)
    return chain


def probe_ids(model: nn.Module, last: int) -> torch.Tensor:
    """`(1, 3)` token ids 1, 2, ``last`` (within the vocabulary) on the model's device."""
    vocab = getattr(model.config, "vocab_size", None) or model.get_input_embeddings().num_embeddings
    device = next(model.parameters()).device
    return torch.tensor([[1 % vocab, 2 % vocab, last % vocab]], device=device)
