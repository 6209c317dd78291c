"""Batched generation of descriptions and tags.

The model writes slots (``⟦color⟧``) where a description states the product's facts;
:func:`~labelops.textgen.serialize.lexicalize` fills them from the row being described.

Prompts are left-padded into batches, decoding uses the KV cache, and the decoding strategy is
an option: ``greedy`` (default, reproducible), ``beam`` or ``sample``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from labelops.textgen.serialize import lexicalize, parse_output, serialize_input
from labelops.textgen.tokenizer import prompt_ids

Strategy = Literal["greedy", "beam", "sample"]


@dataclass(frozen=True)
class GenerationOptions:
    batch_size: int = 32
    max_new_tokens: int = 160
    max_prompt_tokens: int = 192
    strategy: Strategy = "greedy"
    num_beams: int = 4
    temperature: float = 0.8
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    seed: int = 0


@dataclass(frozen=True)
class GeneratedText:
    description: str
    tags: list[str]


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _left_padded(prompts: list[list[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, ids in enumerate(prompts):
        input_ids[i, width - len(ids):] = torch.tensor(ids)
        attention[i, width - len(ids):] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention.to(device)}


@torch.inference_mode()
def generate_texts(model, tokenizer, rows: Sequence[Mapping[str, Any]],  # noqa: ANN001
                   options: GenerationOptions = GenerationOptions()) -> list[GeneratedText]:
    """A description and tags for every row (Listing fields; missing ones are fine)."""
    model.eval()
    device = next(model.parameters()).device
    torch.manual_seed(options.seed)
    limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 1024)
    prompt_budget = max(8, min(options.max_prompt_tokens, limit - options.max_new_tokens))
    decoding: dict[str, Any] = {"do_sample": False, "num_beams": 1}
    if options.strategy == "beam":
        decoding = {"do_sample": False, "num_beams": options.num_beams, "early_stopping": True}
    elif options.strategy == "sample":
        decoding = {"do_sample": True, "temperature": options.temperature, "top_p": options.top_p}
    results: list[GeneratedText] = []
    for batch in _batches(rows, options.batch_size):
        encoded = _left_padded([prompt_ids(tokenizer, serialize_input(row), prompt_budget) for row in batch],
                               tokenizer.pad_token_id, device)
        output = model.generate(
            **encoded, max_new_tokens=options.max_new_tokens, use_cache=True,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            repetition_penalty=options.repetition_penalty, **decoding,
        )
        new_tokens = output[:, encoded["input_ids"].shape[1]:]
        for row, text in zip(batch, tokenizer.batch_decode(new_tokens, skip_special_tokens=False)):
            description, tags = parse_output(text)
            tags = [t for t in (lexicalize(tag, row) for tag in tags) if t]
            results.append(GeneratedText(lexicalize(description, row), list(dict.fromkeys(tags))))
    return results
