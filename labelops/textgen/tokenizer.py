"""A byte-level BPE tokenizer trained on a snapshot's text (the ``tokenizers`` library).

Byte-level means nothing is ever unknown: any text, Chinese included, round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from labelops.textgen.serialize import EOS, PAD, SEP, SPECIAL_TOKENS, TAGS, slot_name, slot_token, without_slots


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer with the generator's special tokens (slots in ``texts``
    are left out of its merges: they become tokens of their own, :func:`add_slot_tokens`)."""
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tokenizer.train_from_iterator((without_slots(t) for t in texts), trainer)
    return with_special_tokens(PreTrainedTokenizerFast(tokenizer_object=tokenizer))


def with_special_tokens(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Make sure a (possibly pretrained) tokenizer knows the generator's markers; pads on the left."""
    tokenizer.add_special_tokens({"eos_token": EOS, "bos_token": EOS, "unk_token": EOS, "pad_token": PAD,
                                  "additional_special_tokens": [SEP, TAGS]})
    tokenizer.padding_side = "left"  # generation continues prompts from their right end
    return tokenizer


def add_slot_tokens(tokenizer: PreTrainedTokenizerBase, names: Iterable[str]) -> int:
    """Give each slot (``⟦color⟧``) one token of its own, so generation can allow or forbid it as
    a whole (:func:`slot_token_ids`); returns how many were new."""
    from tokenizers import AddedToken

    tokens = [AddedToken(slot_token(name), special=False, normalized=False) for name in sorted(set(names))]
    return tokenizer.add_tokens(tokens)


def slot_token_ids(tokenizer: PreTrainedTokenizerBase) -> Mapping[str, int]:
    """Slot name → its token id, for every slot the tokenizer has as one token."""
    return {name: token_id for token, token_id in tokenizer.get_added_vocab().items() if (name := slot_name(token))}


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    return with_special_tokens(AutoTokenizer.from_pretrained(str(path)))


def prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str, max_tokens: int) -> list[int]:
    """Token ids of a prompt and its separator; a long prompt loses its end (the title comes first)."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"][: max(1, max_tokens - 1)]
    return ids + [tokenizer.convert_tokens_to_ids(SEP)]
