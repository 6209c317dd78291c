"""Times Lightning's training loop alone (first batch to the end of training), as a plain loop is timed.

Wall time, and the process's CPU time: on a machine shared with other work, CPU time (with one
thread) still measures the work a loop does when wall time mostly measures the neighbours.
"""

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
                if not timer.started:
                    timer.started, timer.cpu_started = time.perf_counter(), time.process_time()

            def on_train_end(self, trainer, module):
                if next(module.parameters()).is_cuda:
                    torch.cuda.synchronize()
                timer.ended, timer.cpu_ended = time.perf_counter(), time.process_time()

        self.started, self.ended, self.cpu_started, self.cpu_ended = 0.0, 0.0, 0.0, 0.0
        self.callback = Callback()
