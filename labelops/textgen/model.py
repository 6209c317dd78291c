"""The text generator as a LightningModule: a causal LM, AdamW, warmup + cosine, loss on targets.

The network is a Hugging Face causal LM: a small GPT-2 trained from scratch by default
(:func:`small_gpt2`), or any pretrained one (``base_model``: a hub name or a local path).
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, PreTrainedModel


def small_gpt2(vocab_size: int, pad_id: int, eos_id: int, n_embd: int = 128, n_layer: int = 4,
               n_head: int = 4, n_positions: int = 512) -> GPT2LMHeadModel:
    """A GPT-2 small enough to train in minutes on two CPU cores (about 1.1 M parameters at the defaults)."""
    config = GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                        bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=pad_id)
    return GPT2LMHeadModel(config)


def load_pretrained(name_or_path: str, vocab_size: int) -> PreTrainedModel:
    """A pretrained causal LM (hub name or local folder), its embeddings resized for added tokens."""
    model = AutoModelForCausalLM.from_pretrained(name_or_path)
    if model.get_input_embeddings().num_embeddings < vocab_size:
        model.resize_token_embeddings(vocab_size)
    return model


def warmup_cosine(step: int, warmup_steps: int, max_steps: int, min_ratio: float = 0.1) -> float:
    """Learning-rate multiplier: linear warmup, then cosine decay to ``min_ratio``."""
    if step < warmup_steps:
        return (step + 1) / max(1, warmup_steps)
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class TextGeneratorModule(L.LightningModule):
    def __init__(self, model: PreTrainedModel, lr: float = 3e-3, weight_decay: float = 0.01,
                 warmup_steps: int = 30, max_steps: int = 300, compile: bool = False):
        super().__init__()
        self.save_hyperparameters(ignore=["model"])
        self.model = torch.compile(model) if compile else model
        self._step_started = time.perf_counter()

    def forward(self, **batch: torch.Tensor) -> Any:
        return self.model(**batch)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self(**batch).loss
        now = time.perf_counter()
        tokens = batch["attention_mask"].sum() * self.trainer.world_size
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/tokens_per_s", tokens.float() / max(now - self._step_started, 1e-6))
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        self._step_started = now
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self(**batch).loss, sync_dist=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        if (loss := self.trainer.callback_metrics.get("val/loss")) is not None:
            self.log("val/perplexity", torch.exp(loss.clamp(max=20)), sync_dist=True)

    def configure_optimizers(self) -> dict[str, Any]:
        decay, no_decay = [], []
        for name, parameter in self.model.named_parameters():
            (no_decay if parameter.ndim < 2 or "ln" in name or "norm" in name else decay).append(parameter)
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.hparams.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.hparams.lr, betas=(0.9, 0.95),
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, self.hparams.warmup_steps, self.hparams.max_steps)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
