"""Measure registered image-model versions on a snapshot's frozen test split (the gate's evidence).

Both versions are judged by one evaluator: a small CNN trained on the snapshot's real training
images only (never on generated ones), trained once per snapshot, image size and class list, and
cached under ``evaluation/<snapshot_id>/image-evaluator-<size>/`` of the data root. With it, on
the snapshot's test-split images: *conditional accuracy* (share of images generated for the test
rows' categories that it assigns to the requested category), *KID* in its feature space against
the real test images, and the version's own *tagger accuracy* (its discriminator's category for
the real test images).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from labelops.registry import IMAGE_MODEL
from labelops.settings import Settings, get_settings
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot

log = logging.getLogger(__name__)

EVALUATOR_STEPS = 300


def load_gan(version: str):  # noqa: ANN201 - labelops.imagegen.pyfunc.TrainedGan
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{IMAGE_MODEL}/{version}").unwrap_python_model().gan


def _evaluator_folder(settings: Settings, snapshot_id: str, size: int) -> Path:
    import tempfile

    base = settings.local_data_path if settings.data_is_local else Path(tempfile.gettempdir()) / "labelops"
    return base / "evaluation" / snapshot_id / f"image-evaluator-{size}"


def image_metrics(gan, snapshot_id: str, settings: Settings | None = None, seed: int = 0) -> dict[str, float]:  # noqa: ANN001
    """conditional_accuracy, kid, tagger_accuracy (and the evaluator's own accuracy) of ``gan``."""
    from labelops.imagegen.data import build_image_set, normalise, uint8_to_pil
    from labelops.imagegen.evaluator import Evaluator, kid, train_evaluator

    settings = settings or get_settings()
    root = DataRoot(settings.data)
    image_set = build_image_set(read_snapshot(root, snapshot_id).to_pylist(), root, gan.image_size)
    known = [c for c in image_set.classes if c in gan.classes]
    if not known:
        raise ValueError(f"snapshot {snapshot_id} has no images of the model's categories {gan.classes}")
    keep = torch.tensor([image_set.classes[int(label)] in known for label in image_set.labels], dtype=torch.bool)
    names = [image_set.classes[int(label)] for label in image_set.labels]
    labels = torch.tensor([known.index(n) if n in known else -1 for n in names], dtype=torch.long)
    splits = [s for s, k in zip(image_set.splits, keep.tolist()) if k]
    pixels, labels = image_set.pixels[keep], labels[keep]
    train = torch.tensor([s == "train" for s in splits], dtype=torch.bool)
    test = torch.tensor([s == "test" for s in splits], dtype=torch.bool)
    if not test.any():
        test = ~train if (~train).any() else train  # tiny snapshots: val, or else the training images
    folder = _evaluator_folder(settings, snapshot_id, gan.image_size) / "-".join(sorted(known))[:80].replace("/", "_")
    if (folder / "evaluator.json").exists():
        evaluator = Evaluator.load(folder)
    else:
        log.info("training the image evaluator of snapshot %s on %d real training images", snapshot_id, int(train.sum()))
        evaluator = train_evaluator(pixels[train if train.any() else test], labels[train if train.any() else test],
                                    known, steps=EVALUATOR_STEPS, seed=seed)
        evaluator.heldout_accuracy = evaluator.accuracy(normalise(pixels[test]), labels[test])
        evaluator.save(folder)
    real = normalise(pixels[test])
    wanted = [known[int(i)] for i in labels[test]]
    generated = normalise(gan.generate(wanted, seed=seed)) if wanted else real[:0]
    kid_mean, _ = kid(evaluator.features(real), evaluator.features(generated), seed=seed)
    tagged = [category for category, _ in gan.tag([uint8_to_pil(p) for p in pixels[test]])]
    return {
        "conditional_accuracy": evaluator.accuracy(generated, labels[test]),
        "kid": float(kid_mean),
        "tagger_accuracy": sum(t == w for t, w in zip(tagged, wanted)) / max(len(wanted), 1),
        "evaluator_accuracy": float(evaluator.heldout_accuracy),
        "test_images": float(len(wanted)),
    }


def evaluate_image_version(version: str, evaluation) -> dict[str, float]:  # noqa: ANN001 - EvaluationSet
    return image_metrics(load_gan(version), evaluation.snapshot_id)
