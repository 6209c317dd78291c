"""Times Lightning's training loop alone (first batch to the end of training), as a plain loop is timed."""

from __future__ import annotations

import time

import torch


class LoopTimer:
    """A Lightning callback's clock: ``ended - started`` is the loop's time, set-up left out."""

    def __init__(self):
        import lightning as L

        timer = self

        class Callback(L.Callback):
            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                timer.started = timer.started or time.perf_counter()

            def on_train_end(self, trainer, module):
                if next(module.parameters()).is_cuda:
                    torch.cuda.synchronize()
                timer.ended = time.perf_counter()

        self.started, self.ended, self.callback = 0.0, 0.0, Callback()
