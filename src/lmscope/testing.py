"""Tiny randomly initialised models of every supported family, built in-process and offline.

Used by lmscope's own fast tests and handy for trying an analysis without downloading
anything: ``lmscope.testing.tiny_scope("llama")``. Weights are random, so the text they
generate is noise, but every shape and code path is the real one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # pragma: no cover
    from .run import Run
    from .scope import Scope

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
    "William Shakespeare was born in the year 1564.",
    "Austria, Belgium, Bulgaria, Croatia, Cyprus, Czechia, Denmark",
    "<item>one</item> <item>two</item>",
    "Hello world! Some existing text, with numbers 12345 and symbols <>&\"'.",
]

SPECIALS_MASKED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SPECIALS_CAUSAL = ["<|endoftext|>"]
HIDDEN, HEADS, KV_HEADS, FFN, LAYERS, POSITIONS = 32, 4, 2, 64, 2, 128


@lru_cache(maxsize=3)
def tiny_tokenizer(masked: bool = False, *, bos: bool = False):
    """A byte-level BPE tokenizer trained on a few sentences (vocabulary ~300); ``bos``: prepends its BOS token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = SPECIALS_MASKED if masked else SPECIALS_CAUSAL
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS, trainer)
    if masked:
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
        return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                       cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    if bos:
        start = tok.token_to_id("<|endoftext|>")
        tok.post_processor = processors.TemplateProcessing(single="<|endoftext|> $A",
                                                           special_tokens=[("<|endoftext|>", start)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                          "{% if add_generation_prompt %}<assistant>{% endif %}")
    return fast


def _configs(vocab: int) -> dict:
    import transformers as T

    common = dict(vocab_size=vocab, hidden_size=HIDDEN, num_attention_heads=HEADS, num_hidden_layers=LAYERS,
                  intermediate_size=FFN, max_position_embeddings=POSITIONS)
    gqa = dict(common, num_key_value_heads=KV_HEADS)
    token_ids = dict(bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return {
        "gpt2": (T.GPT2Config, T.GPT2LMHeadModel, dict(vocab_size=vocab, n_embd=HIDDEN, n_head=HEADS, n_layer=LAYERS,
                                                      n_inner=FFN, n_positions=POSITIONS, **token_ids)),
        "gpt_neo": (T.GPTNeoConfig, T.GPTNeoForCausalLM, dict(
            vocab_size=vocab, hidden_size=HIDDEN, num_heads=HEADS, num_layers=LAYERS, intermediate_size=FFN,
            max_position_embeddings=POSITIONS, attention_types=[[["global", "local"], 1]], window_size=16,
            **token_ids)),
        "gpt_neox": (T.GPTNeoXConfig, T.GPTNeoXForCausalLM, dict(common, **token_ids)),
        "gptj": (T.GPTJConfig, T.GPTJForCausalLM, dict(vocab_size=vocab, n_embd=HIDDEN, n_head=HEADS, n_layer=LAYERS,
                                                      n_inner=FFN, rotary_dim=4, n_positions=POSITIONS, **token_ids)),
        "llama": (T.LlamaConfig, T.LlamaForCausalLM, dict(gqa, **token_ids)),
        "mistral": (T.MistralConfig, T.MistralForCausalLM, dict(gqa, **token_ids)),
        "qwen2": (T.Qwen2Config, T.Qwen2ForCausalLM, dict(gqa, **token_ids)),
        "gemma": (T.GemmaConfig, T.GemmaForCausalLM, dict(gqa, head_dim=16, **token_ids)),
        "gemma2": (T.Gemma2Config, T.Gemma2ForCausalLM, dict(gqa, head_dim=16, **token_ids)),
        "gemma3": (T.Gemma3TextConfig, T.Gemma3ForCausalLM, dict(gqa, head_dim=16, **token_ids)),
        "phi": (T.PhiConfig, T.PhiForCausalLM, dict(common, **token_ids)),
        "phi3": (T.Phi3Config, T.Phi3ForCausalLM, dict(gqa, **token_ids)),
        "opt": (T.OPTConfig, T.OPTForCausalLM, dict(vocab_size=vocab, hidden_size=HIDDEN, num_attention_heads=HEADS,
                                                   num_hidden_layers=LAYERS, ffn_dim=FFN, word_embed_proj_dim=HIDDEN,
                                                   max_position_embeddings=POSITIONS, **token_ids)),
        "falcon": (T.FalconConfig, T.FalconForCausalLM, dict(vocab_size=vocab, hidden_size=HIDDEN,
                                                            num_attention_heads=HEADS, num_hidden_layers=LAYERS,
                                                            max_position_embeddings=POSITIONS, **token_ids)),
        "bert": (T.BertConfig, T.BertForMaskedLM, dict(common, pad_token_id=0)),
        "roberta": (T.RobertaConfig, T.RobertaForMaskedLM, dict(common, pad_token_id=0)),
        "distilbert": (T.DistilBertConfig, T.DistilBertForMaskedLM, dict(
            vocab_size=vocab, dim=HIDDEN, n_heads=HEADS, n_layers=LAYERS, hidden_dim=FFN,
            max_position_embeddings=POSITIONS, pad_token_id=0)),
    }


MASKED_FAMILIES = ("bert", "roberta", "distilbert")
CAUSAL_FAMILIES = ("gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "qwen2", "gemma", "gemma2", "gemma3",
                   "phi", "phi3", "opt", "falcon")
FAMILIES = CAUSAL_FAMILIES + MASKED_FAMILIES

# Config variants of the families above, for the conformance suite (tests/test_conformance.py):
# name -> (family, model class name or None for the family's, config changes, tokenizer kind).
_VARIANTS: dict[str, tuple[str, str | None, dict[str, Any], str]] = {
    "opt_project_out": ("opt", None, {"word_embed_proj_dim": HIDDEN // 2}, "causal"),   # project_in/project_out
    "gemma2_softcap": ("gemma2", None, {"final_logit_softcapping": 1.0}, "causal"),    # a cap that bites
    "llama_tied": ("llama", None, {"tie_word_embeddings": True}, "causal"),
    "gpt2_untied": ("gpt2", None, {"tie_word_embeddings": False}, "causal"),
    "llama_bos": ("llama", None, {}, "bos"),                                            # the tokenizer adds BOS
    "bert_causal": ("bert", "BertLMHeadModel", {"is_decoder": True}, "masked"),
    "bert_encoder_causal": ("bert", "BertLMHeadModel", {"is_decoder": False}, "masked"),    # bidirectional
    "roberta_causal": ("roberta", "RobertaForCausalLM", {"is_decoder": True}, "masked"),
    "roberta_encoder_causal": ("roberta", "RobertaForCausalLM", {"is_decoder": False}, "masked"),
}
VARIANTS = tuple(_VARIANTS)


def tiny_model(family: str, *, seed: int = 0):
    """(model, tokenizer) of ``family`` (or of a config variant in :data:`VARIANTS`) with random weights, seeded,
    in eval mode."""
    import transformers

    base, class_name, changes, kind = _VARIANTS.get(family, (family, None, {},
                                                              "masked" if family in MASKED_FAMILIES else "causal"))
    tokenizer = tiny_tokenizer(kind == "masked", bos=kind == "bos")
    table = _configs(len(tokenizer))
    if base not in table:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES + VARIANTS)}")
    config_cls, model_cls, kwargs = table[base]
    kwargs = dict(kwargs, **changes)
    model_cls = getattr(transformers, class_name) if class_name else model_cls
    if base == "roberta":
        kwargs = dict(kwargs, max_position_embeddings=POSITIONS + 2)  # RoBERTa offsets positions by pad+1
    config = config_cls(**kwargs)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = model_cls(config).eval()
    return model, tokenizer


def tiny_scope(family: str = "llama", *, seed: int = 0, **load_options):
    """A :class:`~lmscope.Scope` over a tiny random model of ``family``."""
    from .scope import load

    model, tokenizer = tiny_model(family, seed=seed)
    return load(model, tokenizer=tokenizer, **load_options)


def sample_run(scope: Scope, **options: Any) -> Run:
    """A small run on any tiny scope, for tests: generated for causal LMs, analysed (with a mask) for masked LMs."""
    if scope.is_masked:
        return scope.analyze("The quick [MASK] fox jumps", **options)
    return scope.generate("1, 2, 3,", max_new_tokens=5, **options)
