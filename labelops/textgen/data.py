"""Training data for the text generator: examples, token ids, and the LightningDataModule.

Rows are split by :func:`labelops.snapshot.split_of`, the frozen split every model and the gate share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from labelops.factcheck import FactChecker
from labelops.snapshot import split_of
from labelops.textgen.grounding import ground
from labelops.textgen.retrieval import ExemplarIndex
from labelops.textgen.serialize import (EOS, clean_description, delexicalize, format_target, reference_tags,
                                        serialize_input)
from labelops.textgen.tokenizer import prompt_ids

IGNORE_INDEX = -100  # label of prompt and padding tokens: no loss there
PROMPT_SHARE = 0.6  # of a training sequence, at most this much is prompt


def build_example(row: Mapping[str, Any], exemplar: str | None = None,
                  checker: FactChecker | None = None) -> dict[str, Any] | None:
    """Prompt and (slotted, grounded) target of one listing; None when it has no description to
    learn from, or none of it is supported by the listing's facts.

    The target keeps only the clauses the listing's facts support (:func:`ground`);
    ``description`` and ``tags`` are the plain references that evaluation compares against.
    """
    description = clean_description(row.get("description"))
    target_text = ground(description, row, checker)
    if not description or not target_text:
        return None
    tags = row.get("reviewed_tags") or reference_tags(row)  # a reviewer's tags (labelops.feedback) win
    target = format_target(delexicalize(target_text, row), [delexicalize(t, row) for t in tags])
    return {"listing_id": row["listing_id"], "prompt": serialize_input(row, exemplar), "description": description,
            "tags": tags, "target": target}


def build_examples(rows: Iterable[Mapping[str, Any]], exemplars: ExemplarIndex | None = None,
                   checker: FactChecker | None = None) -> dict[str, list[dict[str, Any]]]:
    """Examples by split ("train", "val", "test"), each with its exemplar when an index is given."""
    rows = list(rows)
    hints = exemplars.exemplars(rows) if exemplars is not None else [None] * len(rows)
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "val": [], "test": []}
    for row, hint in zip(rows, hints):
        if (example := build_example(row, hint, checker)) is not None:
            splits[split_of(row["listing_id"])].append(example)
    return splits


def encode_example(tokenizer, prompt: str, target: str, max_length: int) -> dict[str, list[int]]:  # noqa: ANN001
    """Token ids of prompt + target, with labels only on the target (loss on target tokens only).

    The prompt keeps at most ``PROMPT_SHARE`` of ``max_length``; the target is cut to what is left.
    """
    prompt = prompt_ids(tokenizer, prompt, int(max_length * PROMPT_SHARE))
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"][: max_length - len(prompt)]
    return {"input_ids": prompt + target_ids, "labels": [IGNORE_INDEX] * len(prompt) + target_ids}


def product_text(row: Mapping[str, Any], with_description: bool = True) -> str:
    """A product's text as one document (title, brand, category path, attributes, then its
    cleaned description): what pretraining learns the language of the shop from."""
    parts = [serialize_input(row), clean_description(row.get("description")) if with_description else ""]
    return "\n".join(p for p in parts if p.strip())


def pretraining_examples(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The documents of :func:`product_text` for pretraining: every training product whole, and
    only the facts of held-out ones (their descriptions are what evaluation compares against)."""
    return [text for row in rows
            if (text := product_text(row, with_description=split_of(row["listing_id"]) == "train"))]


def encode_document(tokenizer, text: str, max_length: int) -> dict[str, list[int]]:  # noqa: ANN001
    """Token ids of a document, loss on every token (language modelling), cut at ``max_length``."""
    ids = tokenizer(text + EOS, add_special_tokens=False)["input_ids"][:max_length]
    return {"input_ids": ids, "labels": list(ids)}


def collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding has attention 0 and no loss."""
    width = max(len(item["input_ids"]) for item in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for i, item in enumerate(batch):
        n = len(item["input_ids"])
        input_ids[i, :n] = torch.tensor(item["input_ids"])
        labels[i, :n] = torch.tensor(item["labels"])
        attention[i, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


class TextDataModule(L.LightningDataModule):
    """Encoded train/val examples from a file the preparation step wrote (``encoded.pt``)."""

    def __init__(self, encoded_path: str | Path, batch_size: int, pad_id: int, num_workers: int = 0):
        super().__init__()
        self.encoded_path, self.batch_size, self.pad_id, self.num_workers = Path(encoded_path), batch_size, pad_id, num_workers
        self.splits: dict[str, list[dict[str, list[int]]]] = {}

    def setup(self, stage: str | None = None) -> None:
        self.splits = torch.load(self.encoded_path, weights_only=True)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(self.splits[split], batch_size=self.batch_size, shuffle=shuffle,
                          num_workers=self.num_workers, collate_fn=lambda b: collate(b, self.pad_id))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
