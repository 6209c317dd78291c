"""Training plumbing shared by every model: work folders, the MLflow run, the subprocess, register once.

Each model's ``train`` module follows the same three steps (see labelops.textgen.train and
labelops.imagegen.train):

1. ``prepare`` (caller's process) writes a work folder named by the training's key (a hash of
   its config) and opens an MLflow run with the lineage tags (:func:`start_run`).
2. ``fit`` runs in a fresh process, ``python -m <module> WORK_DIR`` (:func:`launch`); Lightning
   starts the other DDP ranks from there. Started again after a crash it resumes from
   ``checkpoints/last.ckpt`` (:func:`resume_point`) into the same run.
   On several machines (``num_nodes``) every node runs the same command; node 0 prepares and
   registers, the others wait for its work folder (on storage every node sees) and fit only
   (:func:`node_rank`, :func:`leads_training`, :func:`wait_until_prepared`). Lightning finds the
   rendezvous in the environment (torchrun, Slurm, or MASTER_ADDR/MASTER_PORT/NODE_RANK).
3. ``register`` (caller's process) logs the model and registers it once: ``registered.json`` and the
   version's ``training_key`` tag guard against a second version (:func:`registered_before`,
   :func:`register_model`).
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import pickle
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from labelops import catalog
from labelops.cluster import check_rendezvous, fit_environment, leads_training, node_rank
from labelops.quiet import drop_lightning_tips
from labelops.registry import (
    configure_mlflow,
    ensure_experiment,
    find_version,
    git_commit,
)
from labelops.settings import Settings, get_settings

log = logging.getLogger(__name__)


class TrainedModel(BaseModel):
    """What a finished training produced."""

    key: str
    run_id: str
    model_name: str
    version: str
    work_dir: str
    metrics: dict[str, float] = Field(default_factory=dict)
    already_registered: bool = False


class TrainConfig(BaseModel):
    """Base of every model's training config: everything that defines one training; its hash is the key.

    The fields here are the trainer's, the same for every model (a model may change a default)."""

    snapshot_id: str
    max_steps: int = Field(400, ge=1)
    checkpoint_every_steps: int = Field(50, ge=1, description="a crash loses at most this many steps")
    log_every_steps: int = Field(10, ge=1)
    devices: int = Field(1, ge=1, description="devices per node; more than one trains with DDP")
    num_nodes: int = Field(1, ge=1, description="machines training together (DDP); each runs the same command")
    accelerator: str = Field("auto", description="cpu, gpu, … or auto")
    precision: str = Field("auto", description="auto: bf16-mixed where the GPU has it, else 32-true")
    seed: int = 0

    later_fields: ClassVar[frozenset[str]] = frozenset({"num_nodes"})
    """Fields that joined the config after keys were in use; each one's default means what the
    config meant before it. At its default such a field is left out of the key, so a config that
    does not use it keeps the key (work folder, versions) it had."""

    def key(self) -> str:
        unused = {name for name in self.later_fields if getattr(self, name) == type(self).model_fields[name].default}
        dump = self.model_dump_json(exclude=unused or None)
        return hashlib.sha256(dump.encode()).hexdigest()[:12]

    @property
    def world_size(self) -> int:
        return self.devices * self.num_nodes


class NodeWaitTimeout(TimeoutError):
    """A node other than node 0 waited in vain for node 0 to prepare the training."""


def wait_until_prepared(work: Path, timeout: float, poll: float = 1.0) -> Path:
    """Wait (at most ``timeout`` seconds) until node 0 has prepared the work folder ``work``
    (``prepared.json``); then return it. The nodes must see the same folder."""
    deadline = time.monotonic() + timeout
    log.info("node %d waits for node 0 to prepare the training in %s", node_rank(), work)
    while not (work / "prepared.json").exists():
        if time.monotonic() >= deadline:
            raise NodeWaitTimeout(
                f"node {node_rank()} waited {timeout / 60:g} minutes (LABELOPS_NODE_WAIT_MINUTES) for node 0 to prepare "
                f"the training in {work}, in vain. Every node must see the same work folder (a local data root on a "
                "shared file system such as NFS, or LABELOPS_WORK_DIR on a shared or persistent volume when the data "
                "root is remote) and node 0 must run the same command (the same --snapshot, models and options: the "
                "folder is named by the training's config)")
        time.sleep(poll)
    return work


def open_work_dir(kind: str, config: TrainConfig, settings: Settings) -> tuple[Path, bool]:
    """The training's work folder, and whether an earlier ``prepare`` finished it (then reuse it as is).

    A new or unfinished folder is (re)started with the config written as ``config.json``.
    """
    work = catalog.training_dir(kind, config.key(), settings)
    if (work / "prepared.json").exists():
        return work, True
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(config.model_dump_json(indent=2))
    return work, False


def start_run(model_name: str, config: BaseModel, key: str, snapshot_id: str, run_name: str, settings: Settings,
              counts: dict[str, int] | None = None) -> str:
    """An MLflow run in the model's experiment with the lineage tags, the config and ``counts`` as params."""
    from mlflow import MlflowClient

    configure_mlflow(settings)
    client = MlflowClient()
    experiment_id = ensure_experiment(model_name, settings)
    run = client.create_run(experiment_id, run_name=run_name, tags={
        "snapshot_id": snapshot_id, "git_commit": git_commit(), "training_key": key, "model": model_name})
    for name, value in {**config.model_dump(), **(counts or {})}.items():
        client.log_param(run.info.run_id, name, value)
    return run.info.run_id


def prepared_run_id(work: Path) -> str:
    """The MLflow run a prepared training (``work``) logs to."""
    return json.loads((work / "prepared.json").read_text())["run_id"]


class FitTimeout(RuntimeError):
    """A fit ran past its time limit; its processes were killed (a rerun resumes from the last checkpoint)."""


class FitFailed(subprocess.CalledProcessError):
    """A fit's process exited with an error; the message ends with its last output lines."""

    def __init__(self, returncode: int, cmd: list[str], work: Path, tail: list[str]) -> None:
        super().__init__(returncode, cmd, output="\n".join(tail))
        self.work = work

    def __str__(self) -> str:
        return (f"training in {self.work} failed (exit code {self.returncode}); {resume_hint(self.work)}. "
                f"Its last lines:\n{self.output}")


def resume_hint(work: Path) -> str:
    """Where the fit's checkpoint is, and what a rerun does with it."""
    last = work / "checkpoints" / "last.ckpt"
    if last.exists():
        return f"its last checkpoint is {last}: running the same training again resumes from it"
    return f"it wrote no checkpoint yet ({last}): running the same training again starts over"


LogSink = logging.Logger | logging.LoggerAdapter
_LEVEL = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")  # fit_from_command_line's log format


def launch(module: str, work: Path, timeout: float | None = None, logger: LogSink | None = None,
           tail_lines: int = 40) -> None:
    """Run ``python -m module WORK_DIR`` in a fresh process (never fork DDP inside a flow's process).

    The fit's output (its log lines and :class:`ProgressLog`'s progress lines) goes, line by line,
    to ``logger`` (a flow's task passes its run logger; default this module's logger) at the level
    each line was logged with. The fit runs in its own process group (DDP's other ranks too):
    after ``timeout`` seconds (None or 0: no limit), or when this process is interrupted, the
    whole group is stopped (SIGTERM, then SIGKILL) and :class:`FitTimeout` is raised (the
    interruption is re-raised) naming the checkpoint a rerun resumes from. A failed fit raises
    :class:`FitFailed` with its last ``tail_lines`` lines.
    """
    logger = logger or log
    env = fit_environment()  # the cluster's rendezvous, passed through
    command = [sys.executable, "-m", module, str(work)]
    logger.info("training: %s", " ".join(command))
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", bufsize=1, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True, name="fit-output")
    reader.start()
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    started = time.monotonic()
    deadline = started + timeout if timeout else None
    try:
        while True:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                line = ""
            if line is None:  # the output ended: the process is exiting
                break
            if line:
                tail.append(line)
                match = _LEVEL.match(line)  # the child's time and level are the parent's record's own
                logger.log(getattr(logging, match.group(1)) if match else logging.INFO, "%s",
                           line[match.end():] if match else line)
            if deadline is not None and time.monotonic() >= deadline:
                _stop_group(process)
                raise FitTimeout(
                    f"training in {work} ({module}) ran past its time limit of {timeout / 60:g} minutes "
                    f"and was stopped with all its processes; {resume_hint(work)}")
        returncode = process.wait()
    except BaseException:
        _stop_group(process)
        raise
    reader.join(timeout=5)
    if returncode != 0:
        raise FitFailed(returncode, command, work, list(tail))
    logger.info("training process finished in %.0f s", time.monotonic() - started)
    if leads_training() and not (work / "trained.json").exists():  # rank 0 writes it
        raise RuntimeError(f"training in {work} ended without a trained model")


def _read_lines(stream: Any, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _stop_group(process: subprocess.Popen, grace: float = 10) -> None:
    """Stop the process and every process of its group (DDP ranks, data loader workers): SIGTERM, then SIGKILL."""
    if process.poll() is not None and not _group_alive(process.pid):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if not _group_alive(process.pid):
            break
    if process.poll() is None:
        process.kill()
        process.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class ProgressLog:
    """A Lightning callback (made by :func:`progress_callback`): a log line with the step, the
    losses, the speed and the time left, at most every ``seconds`` (and at the last step), from rank 0."""

    def __init__(self, max_steps: int, seconds: float = 10.0, unit: int = 1) -> None:
        self.max_steps, self.seconds, self.unit = max_steps, seconds, unit
        self._started = self._last = 0.0
        self._first_step = 0

    def line(self, step: int, metrics: dict[str, float], elapsed: float) -> str:
        done = step - self._first_step
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.max_steps - step) / rate if rate > 0 else None
        losses = ", ".join(f"{name} {value:.4f}" for name, value in sorted(metrics.items()) if "loss" in name)
        parts = [f"step {step // self.unit}/{self.max_steps // self.unit} ({100 * step / max(self.max_steps, 1):.0f}%)",
                 losses, f"{rate / self.unit:.2f} steps/s" if rate else "",
                 f"ETA {_duration(left)}" if left is not None else ""]
        return "progress: " + ", ".join(part for part in parts if part)

    def start(self, step: int, now: float) -> None:
        self._first_step, self._started, self._last = step, now, now

    def due(self, step: int, now: float) -> bool:
        """Whether a line is due: ``seconds`` since the last one, or the last step."""
        return step >= self.max_steps or now - self._last >= self.seconds

    def report(self, step: int, metrics: dict[str, float], now: float) -> str:
        self._last = now
        return self.line(step, metrics, now - self._started)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def progress_callback(max_steps: int, seconds: float = 10.0, unit: int = 1):  # noqa: ANN201 - a lightning Callback
    """A Lightning callback that logs :class:`ProgressLog` lines (rank 0 only) through this module's logger,
    which the fit's process writes to its output, which :func:`launch` passes on to the caller's logger."""
    import lightning as L

    class _ProgressCallback(L.Callback):
        def __init__(self) -> None:
            self.progress = ProgressLog(max_steps, seconds, unit)

        def on_train_start(self, trainer, pl_module) -> None:  # noqa: ANN001
            self.progress.start(trainer.global_step, time.monotonic())

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
            now = time.monotonic()
            if trainer.is_global_zero and self.progress.due(trainer.global_step, now):
                metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}
                log.info("%s", self.progress.report(trainer.global_step, metrics, now))

    return _ProgressCallback()


def distributed(config: Any, find_unused_parameters: bool = False) -> dict[str, Any]:
    """The Trainer's ``devices``, ``num_nodes`` and ``strategy``: DDP when the world (devices × nodes)
    has more than one process, with the process group's timeout of the settings
    (``LABELOPS_DDP_TIMEOUT_MINUTES``): a peer that hangs, or a lost node's restart that never comes, fails
    the fit then rather than after PyTorch's 30 minutes (a peer that dies fails it at once)."""
    num_nodes = getattr(config, "num_nodes", 1)
    if config.devices * num_nodes <= 1:
        return {"devices": config.devices, "num_nodes": num_nodes, "strategy": "auto"}
    from lightning.pytorch.strategies import DDPStrategy

    timeout = timedelta(minutes=get_settings().ddp_timeout_minutes)
    return {"devices": config.devices, "num_nodes": num_nodes,
            "strategy": DDPStrategy(find_unused_parameters=find_unused_parameters, timeout=timeout)}


def lightning_trainer(config: Any, work: Path, *, run_id: str, max_steps: int, checkpoint_every_steps: int,
                      find_unused_parameters: bool = False, progress_unit: int = 1, **options: Any):  # noqa: ANN201 - lightning.Trainer, imported lazily
    """The Lightning Trainer of a model's fit: ``config.devices`` on ``config.accelerator`` on each of
    ``config.num_nodes`` nodes (DDP with more than one process in all, :func:`distributed`;
    ``find_unused_parameters`` for modules that leave some without gradients), ``config.precision`` ("auto": bf16-mixed on a GPU,
    else 32-true), logging into the training's MLflow run, a checkpoint every
    ``checkpoint_every_steps`` in ``work/checkpoints`` (the last one kept: :func:`resume_point`), a
    progress bar on a terminal only, else a progress line every 10 s (:func:`progress_callback`;
    ``progress_unit`` optimizer steps make one of the model's steps). ``options``: the model's own
    Trainer arguments."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import MLFlowLogger

    gpu = torch.cuda.is_available() and config.accelerator in ("auto", "gpu", "cuda")
    precision = config.precision if config.precision != "auto" else ("bf16-mixed" if gpu else "32-true")
    return L.Trainer(
        accelerator=config.accelerator, **distributed(config, find_unused_parameters),
        max_steps=max_steps, precision=precision, default_root_dir=work, num_sanity_val_steps=0,
        logger=MLFlowLogger(tracking_uri=get_settings().tracking_uri, run_id=run_id, log_model=False),
        callbacks=[ModelCheckpoint(dirpath=work / "checkpoints", every_n_train_steps=checkpoint_every_steps,
                                   save_last=True, save_top_k=1),
                   *([] if sys.stderr.isatty() else [progress_callback(max_steps, unit=progress_unit)])],
        enable_progress_bar=sys.stderr.isatty(), enable_model_summary=False, **options,
    )


def device_report(device: Any) -> dict[str, Any]:  # noqa: ANN401 - a torch.device
    """What a fit ran on, for its ``trained.json``: the device's name and this process's peak memory
    on it (MiB): the CUDA allocator's peak on a GPU, else the process's own peak resident memory."""
    import torch

    from labelops.resources import peak_rss_mib

    if device.type == "cuda":
        return {"device": torch.cuda.get_device_name(device),
                "peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20}
    return {"device": device.type, "peak_memory_mib": peak_rss_mib()}


def prepare_fit_register(config: TrainConfig, settings: Settings, prepare: Callable[[Any, Settings], Path],
                         launch: Callable[[Path], None], register: Callable[[Path, Settings], TrainedModel],
                         kind: str) -> TrainedModel | None:
    """One model's whole training: prepare → fit in a subprocess → register. The same call after a
    crash resumes (a prepared folder is reused, the fit resumes from its last checkpoint, a
    finished one is not run again) and finishes.

    On several nodes (``config.num_nodes``) node 0 does all three; another node waits for node 0's
    work folder (``kind``'s, :func:`wait_until_prepared`), fits, and returns None."""
    check_rendezvous(config.num_nodes)
    if leads_training():
        work = prepare(config, settings)
    else:
        work = await_preparation(kind, config, settings)
    with ending_run_on_failure(work):
        if not (work / "trained.json").exists():
            launch(work)
        return register(work, settings) if leads_training() else None


def await_preparation(kind: str, config: TrainConfig, settings: Settings) -> Path:
    """On a node other than node 0: the work folder of ``kind``'s training ``config``, once node 0 has prepared it."""
    return wait_until_prepared(catalog.training_dir(kind, config.key(), settings), settings.node_wait_minutes * 60)


def fit_from_command_line(fit: Callable[[Path], None]) -> None:
    """``python -m <a model's train module> WORK_DIR`` (what :func:`launch` runs): its ``fit`` on WORK_DIR."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import lightning  # noqa: F401 - its import gives the "lightning" logger a handler of its own:

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).handlers.clear()  # one line per record (the root's), not two
        logging.getLogger(name).propagate = True
    drop_lightning_tips()
    fit(Path(sys.argv[1]))


def resume_point(work: Path) -> tuple[str | None, int]:
    """The checkpoint to resume from (``checkpoints/last.ckpt``) and its global step, or (None, 0)."""
    import torch

    last = work / "checkpoints" / "last.ckpt"
    if not last.exists():
        return None, 0
    try:  # tensors and plain values only: a checkpoint is data, never code
        checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise RuntimeError(f"{last} is not a plain checkpoint (it holds more than weights and numbers), so it is "
                           f"not loaded; delete it to train from the start ({error})") from error
    step = int(checkpoint.get("global_step", 0))
    log.info("resuming training in %s from step %d", work, step)
    return str(last), step


@contextmanager
def ending_run_on_failure(work: Path) -> Iterator[None]:
    """Mark the training's MLflow run (``prepared.json``) KILLED when what runs inside is cancelled
    (Ctrl-C, a cancelled flow run's termination signal) and FAILED when it fails, instead of leaving
    it RUNNING forever. The same command later resumes into the same run."""
    try:
        yield
    except BaseException as error:
        status = "FAILED" if isinstance(error, Exception) else "KILLED"
        try:
            from mlflow import MlflowClient

            run_id = json.loads((work / "prepared.json").read_text())["run_id"]
            MlflowClient().set_terminated(run_id, status)
            log.warning("training run %s marked %s: %s", run_id, status, type(error).__name__)
        except Exception:  # noqa: BLE001 - the original error matters more
            log.exception("could not mark the training's MLflow run %s", status)
        raise


def registered_before(work: Path, model_name: str, key: str, run_id: str) -> TrainedModel | None:
    """The version this training already registered (``registered.json``, else the registry's tag), if any."""
    if (work / "registered.json").exists():
        return TrainedModel.model_validate({**json.loads((work / "registered.json").read_text()),
                                            "already_registered": True})
    existing = find_version(model_name, key)
    if existing is None:
        return None
    # registered, but the process died before writing registered.json
    result = TrainedModel(key=key, run_id=run_id, model_name=model_name, version=str(existing.version),
                          work_dir=str(work), already_registered=True)
    (work / "registered.json").write_text(result.model_dump_json(indent=2))
    return result


def register_model(work: Path, model_uri: str, model_name: str, key: str, snapshot_id: str, run_id: str,
                   metrics: dict[str, float], alias: str = "challenger") -> TrainedModel:
    """Register a logged model with the lineage tags, point ``alias`` at it, write ``registered.json``."""
    import mlflow
    from mlflow import MlflowClient

    version = mlflow.register_model(model_uri, model_name, tags={
        "snapshot_id": snapshot_id, "git_commit": git_commit(), "training_key": key,
        "run_id": run_id, **{f"metric.{k}": f"{v:.4f}" for k, v in metrics.items()},
    })
    MlflowClient().set_registered_model_alias(model_name, alias, version.version)
    result = TrainedModel(key=key, run_id=run_id, model_name=model_name, version=str(version.version),
                          work_dir=str(work), metrics=metrics)
    (work / "registered.json").write_text(result.model_dump_json(indent=2))
    log.info("registered %s version %s as @%s (run %s)", model_name, version.version, alias, run_id)
    return result


def requirements(*names: str) -> list[str]:
    """Pinned pip requirements of a logged model (MLflow's inference of them is slow): the
    installed versions without a local label (``torch==2.13.0``, not ``2.13.0+cpu``, which no
    index carries; ``==2.13.0`` still admits the installed ``+cpu`` build)."""
    from importlib.metadata import version

    from packaging.version import Version

    return [f"{name}=={Version(version(name)).public}" for name in names]
