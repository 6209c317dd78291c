"""Label every listing of a snapshot with the champion models: generate → validate → store → report.

    run = label_snapshot(snapshot_id, gates)   # gates: what this run's gate decided, for the report

The run is an MLflow run (experiment ``labels``) whose id names the output folder
``labels/<run_id>/`` (labels.parquet, report.html, generated images, and manifest.json last, which
publishes the run) and is recorded in every label. Without a text champion nothing can be
labelled: :class:`NoChampionError` says so.

A run that did not finish (killed, or failed) is continued by the next labelling of the same
snapshot with the same models: the same MLflow run and folder, every file written again, so the
end state is that of a run that was never interrupted. One labelling per snapshot runs at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from labelops.labels import (LabelCounts, label_run_complete, labels_path, labels_quarantine_path, make_labels,
                             publish_label_run, store_labels)
from labelops.locks import named_lock
from labelops.promotion import champion_version
from labelops.registry import IMAGE_MODEL, TEXT_MODEL, configure_mlflow, ensure_experiment, git_commit
from labelops.report import render_report, write_report
from labelops.settings import Settings, get_settings
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from labelops.textgen.data import split_of
from labelops.textgen.metrics import HallucinationVocabulary

log = logging.getLogger(__name__)


class NoChampionError(RuntimeError):
    """There is no champion text generator to label with."""


class LabelRun(BaseModel):
    run_id: str
    snapshot_id: str
    text_model_version: str
    image_model_version: str | None
    counts: LabelCounts
    labels: str
    report: str
    quarantine: str | None
    seconds: float
    gates: list[dict[str, Any]] = []

    def to_markdown(self) -> str:
        """The run's counts and where its files went (the generation flow's artifact)."""
        return "\n".join([
            "# Labels", "", f"run `{self.run_id}` on snapshot `{self.snapshot_id}`", "", "| | |", "|---|---|",
            f"| valid labels | {self.counts.valid} |", f"| quarantined | {self.counts.quarantined} |",
            f"| flagged hallucinated | {self.counts.hallucinated} |",
            f"| generated images | {self.counts.generated_images} |", f"| text model | {self.text_model_version} |",
            f"| image model | {self.image_model_version or 'none'} |", f"| labels | `{self.labels}` |",
            f"| report | `{self.report}` |"])


class GanLabeller:
    """The conditional GAN as labelling needs it: its tagger, and images drawn by category."""

    def __init__(self, gan: Any) -> None:  # labelops.imagegen.pyfunc.TrainedGan
        self.gan, self.categories = gan, list(gan.classes)

    def tag(self, images: Sequence[Any]) -> list[tuple[str, float]]:
        return self.gan.tag(images)

    def sample(self, categories: Sequence[str], seed: int = 0) -> list[Any]:
        from labelops.imagegen.data import uint8_to_pil

        return [uint8_to_pil(pixels) for pixels in self.gan.generate(list(categories), seed=seed)]


def load_image_labeller(version: str) -> GanLabeller:
    """The image model registered as ``product-image-gan`` version ``version``."""
    from labelops.imagegen.evaluation import load_gan

    return GanLabeller(load_gan(version))


def _run_to_continue(root: DataRoot, experiment_id: str, lineage: dict[str, str]) -> dict[str, str]:
    """``start_run`` arguments: the newest unfinished labels run of the same snapshot and models
    (its process died, or it failed) to continue, else a new run in ``experiment_id``."""
    from mlflow import MlflowClient

    query = " and ".join(f"tags.{key} = '{value}'" for key, value in lineage.items())
    runs = MlflowClient().search_runs([experiment_id], query, order_by=["attributes.start_time DESC"], max_results=5)
    for run in runs:
        if run.info.status != "FINISHED" and not label_run_complete(root, run.info.run_id):
            log.info("continuing the unfinished labels run %s", run.info.run_id)
            return {"run_id": run.info.run_id}
    return {"experiment_id": experiment_id}


def label_snapshot(snapshot_id: str, gates: Sequence[Any] = (), settings: Settings | None = None,
                   batch_size: int = 256, use_image_model: bool = True) -> LabelRun:
    """Label every listing of ``snapshot_id`` with the current champions."""
    import mlflow

    from labelops.evaluation import load_text_generator

    settings = settings or get_settings()
    configure_mlflow(settings)
    root = DataRoot(settings.data)
    text_version = champion_version(TEXT_MODEL)
    if text_version is None:
        raise NoChampionError(f"no champion {TEXT_MODEL} yet: the gate has promoted none, so no labels were written")
    image_version = champion_version(IMAGE_MODEL) if use_image_model else None
    started = time.perf_counter()
    rows = read_snapshot(root, snapshot_id).to_pylist()
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    vocabulary = HallucinationVocabulary.from_listings(train)
    categories = sorted({r["category_path"][0] for r in rows if r.get("category_path")})
    generator = load_text_generator(text_version)
    image_model = load_image_labeller(image_version) if image_version else None
    experiment_id = ensure_experiment("labels", settings)
    lineage = {"snapshot_id": snapshot_id, "text_model_version": text_version,
               "image_model_version": image_version or "none"}
    with named_lock(f"labels-{snapshot_id}", settings), \
            mlflow.start_run(**_run_to_continue(root, experiment_id, lineage), run_name=f"labels-{snapshot_id}") as run:
        run_id = run.info.run_id
        mlflow.set_tags({**lineage, "git_commit": git_commit()})
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            log.info("labelled %d of %d products (%.0f/s)", done, len(rows), done / (time.perf_counter() - started))

        batches = make_labels(rows, generator, run_id=run_id, snapshot_id=snapshot_id, text_version=text_version,
                              root=root, vocabulary=vocabulary, image_model=image_model, image_version=image_version,
                              categories=categories, batch_size=batch_size, progress=progress)
        counts = store_labels(root, run_id, batches, expects_image_model=image_model is not None)
        valid = root.read_parquet(labels_path(run_id)).to_pylist()
        html = render_report(run_id=run_id, snapshot_id=snapshot_id, labels=valid, gates=list(gates),
                             counts=counts.model_dump(), models={TEXT_MODEL: text_version, IMAGE_MODEL: image_version})
        report = write_report(root, run_id, html)
        publish_label_run(root, run_id, {**lineage, "counts": counts.model_dump()})
        seconds = time.perf_counter() - started
        mlflow.log_metrics({"labels_valid": counts.valid, "labels_quarantined": counts.quarantined,
                            "labels_hallucinated": counts.hallucinated, "generated_images": counts.generated_images,
                            "products_per_s": len(rows) / seconds if seconds else 0.0})
        mlflow.set_tags({"labels": root.uri(labels_path(run_id)), "report": report})
    quarantine = root.uri(labels_quarantine_path(run_id)) if counts.quarantined else None
    log.info("labels of snapshot %s: %s (report %s)", snapshot_id, root.uri(labels_path(run_id)), report)
    return LabelRun(run_id=run_id, snapshot_id=snapshot_id, text_model_version=text_version,
                    image_model_version=image_version, counts=counts, labels=root.uri(labels_path(run_id)),
                    report=report, quarantine=quarantine, seconds=seconds,
                    gates=[g if isinstance(g, dict) else g.model_dump() for g in gates])
