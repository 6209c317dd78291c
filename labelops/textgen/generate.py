"""Batched generation of descriptions and tags.

The model writes slots (``⟦color⟧``) where a description states the product's facts;
:func:`~labelops.textgen.serialize.lexicalize` fills them from the row being described, and
:func:`drop_loops` keeps a phrase the model repeats over and over once. A model
trained with exemplars gets each row's exemplar in its prompt (:mod:`labelops.textgen.retrieval`).
That is the model's own text (:attr:`GeneratedText.own_description`, what the gate judges). For
labels, with ``ground`` on (the default), clauses stating what the row does not support or
contradicts are dropped (:mod:`labelops.textgen.grounding`), and with ``complete`` on (the
default), the facts the text leaves out are stated after it. :class:`TextGenerator` bundles a
trained model with its tokenizer, exemplar index and fact checker, as saved in one folder.

Prompts are left-padded into batches, decoding uses the KV cache, and the decoding strategy is
an option: ``greedy`` (default, reproducible), ``beam`` or ``sample``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch

from labelops.factcheck import FactChecker
from labelops.textgen.grounding import complete, ground
from labelops.textgen.retrieval import ExemplarIndex
from labelops.textgen.serialize import lexicalize, parse_output, serialize_input
from labelops.textgen.tokenizer import prompt_ids

Strategy = Literal["greedy", "beam", "sample"]


@dataclass(frozen=True)
class GenerationOptions:
    batch_size: int = 32
    max_new_tokens: int = 192
    max_prompt_tokens: int = 192
    strategy: Strategy = "greedy"
    num_beams: int = 4
    temperature: float = 0.8
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    no_repeat_ngram_size: int = 0
    ground: bool = True
    complete: bool = True
    seed: int = 0


@dataclass(frozen=True)
class GeneratedText:
    """A label's text: ``description`` as labels state it (after grounding and completion, when
    on), ``tags``, and ``own_description``, the model's own text before either."""

    description: str
    tags: list[str]
    own_description: str = ""


def finish(own: str, tags: list[str], row: Mapping[str, Any], options: GenerationOptions,
           checker: FactChecker | None) -> GeneratedText:
    """A label's text from a writer's own text: grounded and completed as ``options`` say."""
    description = own
    if options.ground:
        description = ground(description, row, checker)
    if options.complete:
        description = complete(description, row)
    return GeneratedText(description, list(dict.fromkeys(tags)), own)


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size``."""
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


# a phrase of 3-80 characters said three or more times in a row ("of the world of the world of the
# world", "Flipkart.com.com.com"): a small model's loop, kept once
_LOOP = re.compile(r"(.{3,80}?)\1{2,}", re.S)
_HAS_LETTER = re.compile(r"[^\W\d_]")


def drop_loops(text: str) -> str:
    """``text`` with each looping phrase kept once; digit runs ("1000000") are left alone."""
    return _LOOP.sub(lambda m: m.group(1) if _HAS_LETTER.search(m.group(1)) else m.group(0), text)


@torch.inference_mode()
def generate_texts(model, tokenizer, rows: Sequence[Mapping[str, Any]],  # noqa: ANN001
                   options: GenerationOptions = GenerationOptions(), exemplars: ExemplarIndex | None = None,
                   checker: FactChecker | None = None) -> list[GeneratedText]:
    """A description and tags for every row (Listing fields; missing ones are fine).

    Pass the ``exemplars`` index a model was trained with (see :class:`TextGenerator`), and the
    fact ``checker`` the grounding guard should use.
    """
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
    for batch in batches(rows, options.batch_size):
        hints = exemplars.exemplars(batch) if exemplars is not None else [None] * len(batch)
        prompts = [serialize_input(row, hint) for row, hint in zip(batch, hints)]
        encoded = _left_padded([prompt_ids(tokenizer, p, prompt_budget) for p in prompts], tokenizer.pad_token_id, device)
        output = model.generate(
            **encoded, max_new_tokens=options.max_new_tokens, use_cache=True,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            repetition_penalty=options.repetition_penalty, no_repeat_ngram_size=options.no_repeat_ngram_size,
            **decoding,
        )
        new_tokens = output[:, encoded["input_ids"].shape[1]:]
        for row, text in zip(batch, tokenizer.batch_decode(new_tokens, skip_special_tokens=False)):
            description, tags = parse_output(text)
            tags = [t for t in (lexicalize(tag, row) for tag in tags) if t]
            results.append(finish(drop_loops(lexicalize(description, row)), tags, row, options, checker))
    return results


PROMPT_FILE = "prompt.json"


def save_prompt_budget(max_prompt_tokens: int, folder: str | Path) -> Path:
    """Record how many prompt tokens the model was trained with (generation cuts prompts there too)."""
    path = Path(folder) / PROMPT_FILE
    path.write_text(json.dumps({"max_prompt_tokens": max_prompt_tokens}))
    return path


@dataclass
class TextGenerator:
    """A trained generator as one folder: the Hugging Face model and tokenizer, and, when it was
    trained with them, ``exemplars.npz``/``exemplars.json``, ``factcheck.json`` (the training
    snapshot's fact checker) and ``prompt.json``."""

    model: Any
    tokenizer: Any
    exemplars: ExemplarIndex | None = None
    checker: FactChecker | None = None
    max_prompt_tokens: int | None = None

    @classmethod
    def load(cls, folder: str | Path) -> TextGenerator:
        from transformers import AutoModelForCausalLM

        from labelops.textgen.tokenizer import load_tokenizer

        prompt = Path(folder) / PROMPT_FILE
        budget = json.loads(prompt.read_text())["max_prompt_tokens"] if prompt.exists() else None
        return cls(AutoModelForCausalLM.from_pretrained(folder), load_tokenizer(folder),
                   ExemplarIndex.load(folder), FactChecker.load(folder), budget)

    def generate(self, rows: Sequence[Mapping[str, Any]],
                 options: GenerationOptions = GenerationOptions()) -> list[GeneratedText]:
        if self.max_prompt_tokens:
            options = replace(options, max_prompt_tokens=min(options.max_prompt_tokens, self.max_prompt_tokens))
        return generate_texts(self.model, self.tokenizer, rows, options, self.exemplars, self.checker)
