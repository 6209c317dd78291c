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
an option: ``greedy`` (default, reproducible), ``beam`` (8 beams) or ``sample``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch

from labelops.factcheck import FactChecker
from labelops.textgen.baselines import listing_tags
from labelops.textgen.grounding import complete, ground
from labelops.textgen.facts import supported_tags
from labelops.textgen.retrieval import ExemplarIndex
from labelops.textgen.serialize import MAX_TAGS, fill_slots, lexicalize, parse_output, reads_like_tag, serialize_input, slot_values
from labelops.textgen.tokenizer import prompt_ids, slot_token_ids

Strategy = Literal["greedy", "beam", "sample"]


@dataclass(frozen=True)
class GenerationOptions:
    batch_size: int = 32
    max_new_tokens: int = 192
    max_prompt_tokens: int = 192
    strategy: Strategy = "greedy"  # beam 8 won on the demo shop (48.1 vs 45.3) but lost on AdvertiseGen (4.8 vs 5.8)
    num_beams: int = 8
    temperature: float = 0.8
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    no_repeat_ngram_size: int = 0
    ground: bool = True
    complete: bool = True
    choose: bool = True  # with a fact checker: rows whose text has findings get sampled candidates
    candidates: int = 4  # sampled texts per such row (0: straight to the baseline's text)
    seed: int = 0


@dataclass(frozen=True)
class GeneratedText:
    """A label's text: ``description`` as labels state it (after grounding and completion, when
    on), ``tags`` as labels have them, and ``own_description``/``own_tags``, the writer's own
    before either."""

    description: str
    tags: list[str]
    own_description: str = ""
    source: str = "model"  # who wrote own_description: the model, or "baseline:<name>" as its fallback
    own_tags: list[str] = field(default_factory=list)  # the writer's tags as written (what the gate judges)


def label_tags(tags: Sequence[str], row: Mapping[str, Any]) -> list[str]:
    """A label's tags: the product's own facts as tags (category path, attribute values), then the
    writer's tags the facts support (:func:`~labelops.textgen.facts.supported_tags`: no filler,
    no other product's name) and that read like a tag (:func:`~labelops.textgen.serialize.reads_like_tag`:
    no bare count "2"), without repeats, at most ``MAX_TAGS``."""
    own = list(dict.fromkeys(" ".join(t.casefold().split()) for t in tags if t and reads_like_tag(t)))
    kept = [t for t, ok in zip(own, supported_tags(own, row)) if ok]
    return list(dict.fromkeys([*listing_tags(row), *kept]))[:MAX_TAGS]


def finish(own: str, tags: list[str], row: Mapping[str, Any], options: GenerationOptions,
           checker: FactChecker | None) -> GeneratedText:
    """A label's text from a writer's own text: grounded and completed as ``options`` say; with
    ``ground``, the tags are :func:`label_tags`."""
    description = own
    if options.ground:
        description = ground(description, row, checker)
    if options.complete:
        description = complete(description, row)
    own_tags = list(dict.fromkeys(tags))
    return GeneratedText(description, label_tags(own_tags, row) if options.ground else own_tags, own,
                         own_tags=own_tags)


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


class SlotConstraint:
    """A logits processor: each row may write only the slots its product has a value for (a slot
    is one token, :func:`~labelops.textgen.tokenizer.add_slot_tokens`); every other slot token
    gets probability 0, so a model cannot state a fact the product lacks or leave a gap for it."""

    def __init__(self, forbidden: torch.Tensor) -> None:
        self.forbidden = forbidden  # (rows, vocab) bool

    @classmethod
    def for_rows(cls, tokenizer, rows: Sequence[Mapping[str, Any]], vocab_size: int,  # noqa: ANN001
                 device: torch.device) -> SlotConstraint | None:
        slots = slot_token_ids(tokenizer)
        if not slots:
            return None  # a model from before slot tokens: its slots are filled or dropped after
        forbidden = torch.zeros((len(rows), vocab_size), dtype=torch.bool)
        for i, row in enumerate(rows):
            allowed = slot_values(row, short=True)
            lacking = [token_id for name, token_id in slots.items() if name not in allowed and token_id < vocab_size]
            forbidden[i, lacking] = True
        return cls(forbidden.to(device))

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        forbidden = self.forbidden.repeat_interleave(scores.shape[0] // self.forbidden.shape[0], dim=0)
        return scores.masked_fill(forbidden[:, : scores.shape[1]], float("-inf"))


@dataclass(frozen=True)
class _Candidate:
    text: str
    tags: list[str]
    logprob: float  # mean log-probability per generated token (the model's score)


def _decoding(options: GenerationOptions, sample: bool = False) -> dict[str, Any]:
    if sample or options.strategy == "sample":
        return {"do_sample": True, "num_beams": 1, "temperature": options.temperature, "top_p": options.top_p}
    if options.strategy == "beam":
        return {"do_sample": False, "num_beams": options.num_beams, "early_stopping": True}
    return {"do_sample": False, "num_beams": 1}


def _candidates(model, tokenizer, rows: Sequence[Mapping[str, Any]], hints: Sequence[str | None],  # noqa: ANN001
                options: GenerationOptions, prompt_budget: int, count: int = 1,
                sample: bool = False) -> list[list[_Candidate]]:
    """``count`` texts for each row, each with the model's score."""
    device = next(model.parameters()).device
    prompts = [serialize_input(row, hint) for row, hint in zip(rows, hints)]
    encoded = _left_padded([prompt_ids(tokenizer, p, prompt_budget) for p in prompts], tokenizer.pad_token_id, device)
    constraint = SlotConstraint.for_rows(tokenizer, rows, model.get_output_embeddings().weight.shape[0], device)
    decoding = _decoding(options, sample)
    output = model.generate(
        **encoded, max_new_tokens=options.max_new_tokens, use_cache=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        repetition_penalty=options.repetition_penalty, no_repeat_ngram_size=options.no_repeat_ngram_size,
        logits_processor=[constraint] if constraint else None, num_return_sequences=count,
        return_dict_in_generate=True, output_scores=True, **decoding,
    )
    new_tokens = output.sequences[:, encoded["input_ids"].shape[1]:]
    if decoding["num_beams"] == 1:
        steps = model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
        written = (new_tokens != tokenizer.pad_token_id)[:, : steps.shape[1]]
        steps = steps.masked_fill(~written | ~torch.isfinite(steps), 0.0)
        scores = (steps.sum(1) / written.sum(1).clamp(min=1)).tolist()
    else:
        scores = output.sequences_scores.tolist()
    texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=False)
    result: list[list[_Candidate]] = [[] for _ in rows]
    for k, (text, score) in enumerate(zip(texts, scores)):
        row = rows[k // count]
        description, tags = parse_output(text)
        tags = [t for t in (lexicalize(tag, row) for tag in tags) if t]
        result[k // count].append(_Candidate(drop_loops(lexicalize(description, row)), tags, float(score)))
    return result


def _is_clean(text: str, row: Mapping[str, Any], checker: FactChecker) -> bool:
    return bool(text.strip()) and not checker.check(text, row)


@torch.inference_mode()
def generate_texts(model, tokenizer, rows: Sequence[Mapping[str, Any]],  # noqa: ANN001
                   options: GenerationOptions = GenerationOptions(), exemplars: ExemplarIndex | None = None,
                   checker: FactChecker | None = None) -> list[GeneratedText]:
    """A description and tags for every row (Listing fields; missing ones are fine).

    Pass the ``exemplars`` index a model was trained with (see :class:`TextGenerator`), and the
    fact ``checker`` that judges candidates and guards grounding. With a checker, a row whose
    text (``strategy``) has findings gets ``options.candidates`` sampled texts; the one the model
    scores best among those without findings is its own text; when none is clean, the best
    baseline's text for that row is (retrieve-and-fill, else the template), and
    :attr:`GeneratedText.source` says so.
    """
    model.eval()
    torch.manual_seed(options.seed)
    limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 1024)
    prompt_budget = max(8, min(options.max_prompt_tokens, limit - options.max_new_tokens))
    results: list[GeneratedText] = []
    for batch in batches(rows, options.batch_size):
        hints = exemplars.exemplars(batch) if exemplars is not None else [None] * len(batch)
        first = [c[0] for c in _candidates(model, tokenizer, batch, hints, options, prompt_budget)]
        chosen: list[tuple[_Candidate, str]] = [(c, SOURCE_MODEL) for c in first]
        if checker is not None and options.choose:
            retry = [i for i, (c, row) in enumerate(zip(first, batch)) if not _is_clean(c.text, row, checker)]
            sampled = (_candidates(model, tokenizer, [batch[i] for i in retry], [hints[i] for i in retry], options,
                                   prompt_budget, options.candidates, sample=True)
                       if retry and options.candidates else [[] for _ in retry])
            for i, extra in zip(retry, sampled):
                clean = [c for c in extra if _is_clean(c.text, batch[i], checker)]
                chosen[i] = ((max(clean, key=lambda c: c.logprob), SOURCE_MODEL) if clean
                             else _fallback(batch[i], hints[i], checker, first[i]))
        for (candidate, source), row in zip(chosen, batch):
            results.append(replace(finish(candidate.text, candidate.tags, row, options, checker), source=source))
    return results


SOURCE_MODEL = "model"


def _fallback(row: Mapping[str, Any], hint: str | None, checker: FactChecker,
              model_text: _Candidate) -> tuple[_Candidate, str]:
    """The best baseline's text for one row, when no candidate of the model's is clean: the
    exemplar with this product's facts filled in (retrieve-and-fill), else the template."""
    from labelops.textgen.baselines import TemplateBaseline

    if hint and _is_clean(text := fill_slots(hint, row), row, checker):
        return _Candidate(text, model_text.tags, model_text.logprob), "baseline:retrieve_fill"
    return _Candidate(TemplateBaseline.describe(row), model_text.tags, model_text.logprob), "baseline:template"


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
