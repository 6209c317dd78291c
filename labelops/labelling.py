"""Label writing: a description, tags, categories and an image for every listing of a snapshot,
generate → validate → store (:mod:`labelops.labels`, the table) → report.

    run = label_snapshot(snapshot_id, gates)   # gates: what this run's gate decided

:func:`make_labels` writes one label per listing: the text generator's description and tags
(batched), with the tags the snapshot's tag classifier reads from the product's words for facts
its listing lacks (``guessed_tags``, also among ``tags``; :mod:`labelops.textgen.tagging`), the
product's top-level ``category`` (its listing's, else the one its words read as), the category
the label's *text* reads as (that classifier on the title and the written description, when at
least ``TEXT_CATEGORY_CONFIDENCE`` sure; without a classifier, the first tag that names a known
top-level category) and, when an image model is given, the category its tagger reads from the
product photo, with its confidence; products without a usable photo get a generated placeholder
image (marked as generated). The snapshot's text-image scorer (:mod:`labelops.textimage`) scores
each label's description against the product's photo and each generated image against the
listing's text, and flags the pairs that do not fit (when it is trusted).

Who writes is the gate's choice (:attr:`labelops.gate.GateResult.writer`): the champion when it
beats the baselines on the snapshot's held-out rows, otherwise the best baseline (text: the
template or retrieve-and-fill; images: the class-mean image as placeholder, and no image
tagger). Without a gate's word, the champion writes, or the retrieve-and-fill baseline when
there is none. Labels, the report, the Prefect artifact and the MLflow run say who wrote.

The run is an MLflow run (experiment ``labels``) whose id names the output folder
``labels/<run_id>/`` (labels.parquet, report.html, generated images, and manifest.json last, which
publishes the run) and is recorded in every label.

With a cluster (``LABELOPS_LABEL_CLUSTER`` or ``cluster=``: a Dask scheduler address, or
``local:N`` worker processes on this machine; :mod:`labelops.distributed`), the labels are computed
on its workers: each gets what this process fitted on the snapshot once (:func:`for_workers`),
loads a registered text model once (:func:`worker_writers`, by the :class:`WriterPlan`), and
labels partitions of whole batches (:func:`label_partition`); this
process takes them back in the snapshot's order and validates, stores, reports and publishes them
as it does its own. A partition is exactly a batch of the one-process path (the same rows, the
same seeds), so the labels are the same. A partition that raises fails the run as a batch that
raises does in one process; one whose worker died is run again on another worker.

A run that did not finish (killed, or failed) is continued by the next labelling of the same
snapshot with the same writers: the same MLflow run and folder, every file written again, so the
end state is that of a run that was never interrupted. One labelling per snapshot runs at a time.
"""

from __future__ import annotations

import io
import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic import BaseModel

from labelops import catalog
from labelops.factcheck import FactChecker
from labelops.distributed import cluster_client, worker_count
from labelops.gate import MODEL, Writer
from labelops.labels import Label, LabelCounts, label_id_of, label_run_complete, publish_label_run, store_labels
from labelops.locks import named_lock
from labelops.markdown import table
from labelops.promotion import champion_version
from labelops.registry import IMAGE_MODEL, TEXT_MODEL, configure_mlflow, ensure_experiment, git_commit, log_snapshot_input
from labelops.report import render_report, write_report
from labelops.settings import Settings, get_settings
from labelops.snapshot import read_snapshot, split_of
from labelops.storage import DataRoot
from labelops.textgen.generate import GenerationOptions, batches
from labelops.textgen.tagging import TagClassifier, merge_tags
from labelops.textimage import TextImageScorer, score_labels, text_image_scorer, text_of

log = logging.getLogger(__name__)

BASELINE_PREFIX = "baseline:"


class ImageLabeller(Protocol):
    """What labelling needs of an image model (the GAN's tagger and generator)."""

    categories: list[str]

    def tag(self, images: Sequence[Any]) -> list[tuple[str, float]]:
        """(category, confidence) for each PIL image (an empty list: no tagger)."""

    def sample(self, categories: Sequence[str], seed: int = 0, colours: Sequence[str | None] | None = None) -> list[Any]:
        """One generated PIL image per requested category (and colour: None, any)."""


def text_category(tags: Iterable[str], categories: Iterable[str]) -> str | None:
    """The first tag naming a known top-level category (casefolded), else the first tag."""
    known = {c.casefold(): c for c in categories}
    tags = list(tags)
    for tag in tags:
        if tag.casefold() in known:
            return known[tag.casefold()]
    return tags[0] if tags else None


def _open_image(root: DataRoot, relative: str):  # noqa: ANN202 - PIL image or None
    from PIL import Image, UnidentifiedImageError

    try:
        with root.open(relative, "rb") as handle:
            image = Image.open(io.BytesIO(handle.read()))
            image.load()
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def make_labels(
    rows: Sequence[Mapping[str, Any]], generator, *, run_id: str, snapshot_id: str, text_version: str,  # noqa: ANN001
    root: DataRoot, checker: FactChecker | None = None, image_model: ImageLabeller | None = None,
    image_version: str | None = None, categories: Iterable[str] = (), batch_size: int = 256,
    options: GenerationOptions = GenerationOptions(), progress: Callable[[int], None] | None = None,
    tag_classifier: TagClassifier | None = None, text_image: TextImageScorer | None = None,
) -> Iterator[list[Label]]:
    """Labels for ``rows`` (Listing fields), a batch at a time; ``progress(n)`` after each batch.

    With a ``tag_classifier``, each label also gets its tags for facts the listing lacks, and its
    text category is the one the classifier reads from the title and the written description.
    Generated images are written to ``labels/<run_id>/images/<label_id>.png``. With a
    ``text_image`` scorer, each label gets its text-image scores (:func:`labelops.textimage.score_labels`).
    """
    categories = list(categories) or list(getattr(image_model, "categories", []) or [])
    for batch in batches(rows, batch_size):
        texts = generator.generate(batch, options)
        guessed = tag_classifier.missing_facts(batch) if tag_classifier else [[] for _ in batch]
        read_as = _text_categories(batch, texts, tag_classifier, categories)
        products = _product_categories(batch, tag_classifier, categories)
        photos = [None] * len(batch)
        if image_model is not None or text_image is not None:
            photos = [next((img for img in (_open_image(root, p) for p in (r.get("images") or [])) if img), None)
                      for r in batch]
        now = datetime.now(timezone.utc)
        labels: list[Label] = []
        for row, text, added, category, product in zip(batch, texts, guessed, read_as, products):
            found = (checker or FactChecker()).check(text.description, row)
            labels.append(Label(
                label_id=label_id_of(run_id, row["listing_id"]), listing_id=row["listing_id"], run_id=run_id,
                snapshot_id=snapshot_id, created_at=now, title=row.get("title"), description=text.description,
                tags=merge_tags(text.tags, added, row), guessed_tags=added, category=product,
                text_category=category,
                image=(row.get("images") or [None])[0], text_model_version=text_version,
                text_source=text.source,
                image_model_version=image_version, has_findings=bool(found), findings=[str(f) for f in found]))
        drawn = label_images(labels, photos, image_model, root, run_id, batch) if image_model is not None else {}
        if text_image is not None:
            score_labels(text_image, labels, photos, drawn,
                         [text_of(row.get("description")) or text_of(None, row.get("title")) for row in batch])
        if progress:
            progress(len(batch))
        yield labels


TEXT_CATEGORY_CONFIDENCE = 0.5  # below it, a text reads as no category clearly


def _read_categories(rows: Sequence[Mapping[str, Any]], tag_classifier: TagClassifier,
                     categories: Sequence[str]) -> list[str | None]:
    spelled = {c.casefold(): c for c in categories}
    return [spelled.get(category, category) if category and confidence >= TEXT_CATEGORY_CONFIDENCE else None
            for category, confidence in tag_classifier.category(rows)]


def _text_categories(rows: Sequence[Mapping[str, Any]], texts: Sequence[Any], tag_classifier: TagClassifier | None,
                     categories: Sequence[str]) -> list[str | None]:
    """The category each label's text reads as: the classifier's on its title and written
    description (in the catalogue's spelling), else the first tag naming a known category."""
    if tag_classifier is None or len(tag_classifier.categories) < 2:
        return [text_category(text.tags, categories) for text in texts]
    return _read_categories([{"title": row.get("title"), "description": text.description}
                             for row, text in zip(rows, texts)], tag_classifier, categories)


def _product_categories(rows: Sequence[Mapping[str, Any]], tag_classifier: TagClassifier | None,
                        categories: Sequence[str]) -> list[str | None]:
    """Each product's top-level category: its listing's, else what its own words read as."""
    own = [(row.get("category_path") or [None])[0] for row in rows]
    missing = [i for i, category in enumerate(own) if not category]
    if missing and tag_classifier is not None and len(tag_classifier.categories) >= 2:
        for i, category in zip(missing, _read_categories([rows[i] for i in missing], tag_classifier, categories)):
            own[i] = category
    return own


def label_images(labels: list[Label], photos: list[Any], image_model: ImageLabeller, root: DataRoot, run_id: str,
                 rows: Sequence[Mapping[str, Any]] | None = None) -> dict[int, Any]:
    """The image tagger's category for each photo; a generated image where there is none, of the
    product's image class (:func:`~labelops.imagegen.data.class_of` its category path, e.g.
    "Clothing > T-Shirts") in its colour (``attributes["color"]``; any colour where it has none).
    A product whose category is none of the model's classes gets no image (another kind's would
    mislead). Returns the drawn images by label index (for the text-image scores)."""
    from labelops.imagegen.data import CLASS_SEPARATOR, class_of, colour_of

    with_photo = [i for i, p in enumerate(photos) if p is not None]
    for i, (category, confidence) in zip(with_photo, image_model.tag([photos[i] for i in with_photo]) or []):
        labels[i].image_category, labels[i].image_category_confidence = category, float(confidence)
        if labels[i].text_category:  # the text names a top-level category; an image class may be a path below one
            top = category.split(CLASS_SEPARATOR)[0]
            labels[i].categories_agree = labels[i].text_category.casefold() in (category.casefold(), top.casefold())
    classes, frequency = image_model.categories, getattr(image_model, "frequency", None)
    without, wanted, colours = [], [], []
    for i in (i for i, p in enumerate(photos) if p is None):
        row = rows[i] if rows is not None else {}
        path = row.get("category_path") or ([labels[i].category] if labels[i].category else [])
        image_class = class_of(path, classes, frequency)
        if image_class is not None:
            without.append(i)
            wanted.append(image_class)
            colours.append(colour_of(row.get("attributes")))
    if not without:
        return {}
    drawn = dict(zip(without, image_model.sample(wanted, seed=len(without), colours=colours)))
    for i, image in drawn.items():
        relative = catalog.generated_image(run_id, labels[i].label_id)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        with root.open(relative, "wb") as handle:
            handle.write(buffer.getvalue())
        labels[i].image, labels[i].image_generated = relative, True
    return drawn


class LabelRun(BaseModel):
    run_id: str
    snapshot_id: str
    text_model_version: str  # a version, or baseline:<name>
    image_model_version: str | None
    text_writer: str = ""
    image_writer: str = ""
    counts: LabelCounts
    labels: str
    report: str
    quarantine: str | None
    seconds: float
    gates: list[dict[str, Any]] = []
    cluster: str = ""  # the Dask cluster that computed the labels ("": this process)
    workers: dict[str, int] = {}  # products each cluster worker labelled

    def count_rows(self) -> list[tuple[str, int]]:
        """What the run counted, ``(what, how many)``: the markdown's and the table artifact's rows."""
        return [("valid labels", self.counts.valid), ("quarantined", self.counts.quarantined),
                ("labels with findings", self.counts.with_findings),
                ("descriptions the baseline wrote (no clean candidate of the model's)", self.counts.text_fallbacks),
                ("text and photo name different categories", self.counts.category_disagreements),
                ("text and image do not fit (text-image scorer)", self.counts.text_image_disagreements),
                ("guessed tags", self.counts.guessed_tags),
                ("generated images", self.counts.generated_images),
                *((f"broke {name}", n) for name, n in sorted(self.counts.failed_expectations.items()))]

    def to_markdown(self) -> str:
        """The run's counts and where its files went (the generation flow's artifact)."""
        return "\n".join(["# Labels", "", f"run `{self.run_id}` on snapshot `{self.snapshot_id}`", "", *table(["", ""], [
            *([what, n] for what, n in self.count_rows()), ["text written by", self.text_writer],
            ["images by", self.image_writer or "none"], ["labels", f"`{self.labels}`"],
            ["report", f"`{self.report}`"]])])


class GanLabeller:
    """The conditional GAN as labelling needs it: its tagger, and images drawn by category."""

    def __init__(self, gan: Any) -> None:  # labelops.imagegen.pyfunc.TrainedGan
        self.gan, self.categories = gan, list(gan.classes)

    def tag(self, images: Sequence[Any]) -> list[tuple[str, float]]:
        return self.gan.tag(images)

    def sample(self, categories: Sequence[str], seed: int = 0, colours: Sequence[str | None] | None = None) -> list[Any]:
        from labelops.imagegen.data import uint8_to_pil

        colours = None if colours is None else list(colours)
        return [uint8_to_pil(pixels) for pixels in self.gan.generate(list(categories), seed=seed, colours=colours)]


def load_image_labeller(version: str) -> GanLabeller:
    """The image model registered as ``product-image-gan`` version ``version``."""
    from labelops.imagegen.evaluation import load_gan

    return GanLabeller(load_gan(version))


class ClassMeanLabeller:
    """The image baseline as labelling needs it: the mean training photo of a category (of the
    category in the colour asked for, where the training photos have that colour) as the
    placeholder of a product without a photo, and no tagger."""

    def __init__(self, rows: Sequence[Any], root: DataRoot, size: int = 64) -> None:
        from labelops.imagegen.data import build_image_set

        train = [r for r in rows if split_of(r["listing_id"]) == "train"]
        image_set = build_image_set(train, root, size)
        self.categories, self.colours = list(image_set.classes), list(image_set.colours)
        self.frequency = image_set.class_frequency()

        def mean(mask: Any) -> Any:
            return image_set.pixels[mask].float().mean(0).round().to(image_set.pixels.dtype)

        self._means = [mean(image_set.labels == i) for i in range(len(self.categories))]
        self._colour_means = {(i, k): mean((image_set.labels == i) & (image_set.colour_labels == k))
                              for i in range(len(self.categories)) for k in range(len(self.colours))
                              if bool(((image_set.labels == i) & (image_set.colour_labels == k)).any())}

    def tag(self, images: Sequence[Any]) -> list[tuple[str, float]]:
        return []

    def sample(self, categories: Sequence[str], seed: int = 0, colours: Sequence[str | None] | None = None) -> list[Any]:
        from labelops.imagegen.data import uint8_to_pil

        colours = list(colours) if colours is not None else [None] * len(categories)
        images = []
        for category, colour in zip(categories, colours):
            i = self.categories.index(category)
            k = self.colours.index(colour) if colour in self.colours else -1
            images.append(uint8_to_pil(self._colour_means.get((i, k), self._means[i])))
        return images


class TaggedLabeller:
    """An image writer whose photos are tagged by the chosen tagger
    (:func:`~labelops.imagegen.evaluation.choose_tagger`)."""

    def __init__(self, writer: Any, tagger: Any | None) -> None:
        self.writer, self.tagger, self.categories = writer, tagger, list(writer.categories)
        self.frequency = getattr(writer, "frequency", None)

    def tag(self, images: Sequence[Any]) -> list[tuple[str, float]]:
        return self.tagger.tag(images) if self.tagger is not None else []

    def sample(self, categories: Sequence[str], seed: int = 0, colours: Sequence[str | None] | None = None) -> list[Any]:
        return self.writer.sample(categories, seed=seed, colours=colours)


def _text_writer(gates: Sequence[Any]) -> Writer:
    gate = next((g for g in gates if _get(g, "model_name") == TEXT_MODEL), None)
    writer = _get(gate, "writer") if gate is not None else None
    if writer is not None:
        return Writer.model_validate(writer)
    champion = champion_version(TEXT_MODEL)
    if champion is not None:
        return Writer(system=MODEL, version=champion, reason="the champion (no gate ran)")
    return Writer(system="retrieve_fill", reason="no champion and no gate")


def _image_writer(gates: Sequence[Any], use_image_model: bool) -> Writer | None:
    if not use_image_model:
        return None
    gate = next((g for g in gates if _get(g, "model_name") == IMAGE_MODEL), None)
    writer = _get(gate, "writer") if gate is not None else None
    if writer is not None:
        return Writer.model_validate(writer)
    champion = champion_version(IMAGE_MODEL)
    return Writer(system=MODEL, version=champion, reason="the champion (no gate ran)") if champion else None


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


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


class WriterPlan(BaseModel):
    """Who writes a labels run, as the process that runs it resolved it: the gate's writers, the
    chosen image tagger and the settings (data root, tracking URI). Small: the key of each cluster
    worker's writers (:func:`worker_writers`), and what tells it which text model to load."""

    snapshot_id: str
    settings: dict[str, Any]  # Settings.model_dump(mode="json") of the driver
    text_writer: Writer
    image_writer: Writer | None = None
    tagger: str = "none"  # what tags photos, once chosen: "discriminator", "evaluator" or "none"
    tagger_size: int | None = None


@dataclass
class Writers:
    """What writes the labels of one snapshot, loaded (:func:`load_writers`)."""

    plan: WriterPlan
    rows: list[dict[str, Any]]  # the snapshot's listings, in its order
    text_version: str  # a version, or baseline:<name>
    generator: Any  # None when not loaded (the driver of a cluster run)
    checker: FactChecker
    tag_classifier: TagClassifier
    categories: list[str]
    image_version: str | None = None
    image_model: ImageLabeller | None = None
    tagger: Any = None  # the TaggerChoice, where this process chose it
    text_image: TextImageScorer | None = None  # the snapshot's text-image scorer (None: too few photos)

    def labels(self, rows: Sequence[Mapping[str, Any]], *, run_id: str, batch_size: int,
               progress: Callable[[int], None] | None = None) -> Iterator[list[Label]]:
        """:func:`make_labels` of ``rows`` with these writers."""
        return make_labels(rows, self.generator, run_id=run_id, snapshot_id=self.plan.snapshot_id,
                           text_version=self.text_version, root=DataRoot(self.plan.settings["data"]),
                           checker=self.checker, image_model=self.image_model, image_version=self.image_version,
                           categories=self.categories, batch_size=batch_size, progress=progress,
                           tag_classifier=self.tag_classifier, text_image=self.text_image)


def load_writers(plan: WriterPlan, rows: list[dict[str, Any]] | None = None, load_text: bool = True) -> Writers:
    """The writers ``plan`` names, built from its snapshot (``rows``, when already read): the fact
    checker and the tag classifier of its training rows, the text generator (a registered version,
    loaded unless ``load_text`` is off, or a baseline), the image writer and the photo tagger
    chosen for it (:func:`~labelops.imagegen.evaluation.choose_tagger`; the returned
    :attr:`Writers.plan` names it)."""
    from labelops.evaluation import BaselineWriter, load_text_generator

    settings = Settings(**plan.settings)
    configure_mlflow(settings)
    root = DataRoot(settings.data)
    rows = rows if rows is not None else read_snapshot(root, plan.snapshot_id).to_pylist()
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    checker = FactChecker.from_listings(train)
    tag_classifier = TagClassifier().fit(train)
    categories = sorted({r["category_path"][0] for r in rows if r.get("category_path")})
    if plan.text_writer.system == MODEL:
        text_version = str(plan.text_writer.version)
        generator = load_text_generator(text_version) if load_text else None
    else:
        text_version, generator = BASELINE_PREFIX + plan.text_writer.system, BaselineWriter(plan.text_writer.system, train, checker)
    image_version, image_model = None, None
    if plan.image_writer is not None and plan.image_writer.system == MODEL:
        image_version, image_model = str(plan.image_writer.version), load_image_labeller(str(plan.image_writer.version))
    elif plan.image_writer is not None and plan.image_writer.system == "class_mean":
        image_model = ClassMeanLabeller(rows, root)
        image_version, image_model = (BASELINE_PREFIX + "class_mean", image_model) if image_model.categories else (None, None)
    choice = None
    if image_model is not None:
        from labelops.imagegen.evaluation import TAGGER_SIZE, choose_tagger

        gan = getattr(image_model, "gan", None)
        size = getattr(gan, "image_size", None) or TAGGER_SIZE
        choice = choose_tagger(plan.snapshot_id, image_model if gan is not None else None, image_model.categories,
                               size, settings)
        plan = plan.model_copy(update={"tagger": choice.name, "tagger_size": size})
        image_model = TaggedLabeller(image_model, choice.tagger)
    return Writers(plan, rows, text_version, generator, checker, tag_classifier, categories, image_version, image_model,
                   choice, text_image_scorer(plan.snapshot_id, settings, rows))


_WORKER_WRITERS: dict[str, Writers] = {}  # this process's writers, by plan (one plan at a time)


def for_workers(writers: Writers) -> Writers:
    """What a cluster's workers get of this process's writers (sent once to each): everything
    fitted on the snapshot (fact checker, tag classifier, a baseline, the image writer and its
    tagger, the text-image scorer), without the rows (each partition brings its own) and without a registered text model
    (each worker loads it from the registry once, :func:`worker_writers`)."""
    model = writers.plan.text_writer.system == MODEL
    return replace(writers, rows=[], generator=None if model else writers.generator, tagger=None)


def worker_writers(plan: WriterPlan, shared: Writers) -> Writers:
    """The writers of ``plan`` in this process (a cluster worker): ``shared`` (:func:`for_workers`)
    with the registered text model loaded, once, and kept for every partition of the run and of
    later runs with the same plan (model versions, snapshot, settings)."""
    key = plan.model_dump_json()
    if key not in _WORKER_WRITERS:
        _WORKER_WRITERS.clear()  # a new champion or snapshot: the old writers go
        started = time.perf_counter()
        writers = shared
        if plan.text_writer.system == MODEL:
            from labelops.evaluation import load_text_generator

            configure_mlflow(Settings(**plan.settings))
            writers = replace(shared, generator=load_text_generator(str(plan.text_writer.version)))
        _WORKER_WRITERS[key] = writers
        log.info("writers of snapshot %s ready on this worker in %.1f s (text %s, images %s)", plan.snapshot_id,
                 time.perf_counter() - started, plan.text_writer, plan.image_writer or "none")
    return _WORKER_WRITERS[key]


def label_partition(plan: WriterPlan, shared: Writers, run_id: str, rows: list[dict[str, Any]],
                    batch_size: int) -> tuple[list[list[Label]], str]:
    """On a cluster worker: the labels of ``rows``, a partition of whole batches of ``batch_size``
    from the snapshot's start (so every batch is the one the one-process path makes, with the same
    seeds), and the worker's address."""
    from distributed import get_worker

    writers = worker_writers(plan, shared)
    made = list(writers.labels(rows, run_id=run_id, batch_size=batch_size))
    return made, get_worker().address


def partitions(count: int, batch_size: int, batches_per_partition: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` of each partition of ``count`` rows: whole batches, in order."""
    size = batch_size * max(batches_per_partition, 1)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def labels_on_cluster(client: Any, writers: Writers, run_id: str, batch_size: int, progress: Callable[[int], None],
                      per_worker: dict[str, int]) -> Iterator[list[Label]]:
    """The batches of a run's labels computed on the cluster's workers, in the snapshot's order
    (what :func:`make_labels` yields in one process); ``per_worker`` counts the products each labelled."""
    from labelops.distributed import map_in_order

    shared = client.scatter(for_workers(writers), broadcast=True, hash=False)  # once to each worker
    spans = partitions(len(writers.rows), batch_size)
    pieces = [(writers.plan, shared, run_id, writers.rows[start:stop], batch_size) for start, stop in spans]
    rows_of = {id(piece): span for piece, span in zip(pieces, spans)}
    for number, (made, worker) in enumerate(map_in_order(
            client, label_partition, pieces,
            describe=lambda p: "the labels of rows {}-{}".format(rows_of[id(p)][0], rows_of[id(p)][1] - 1)), 1):
        done = sum(len(batch) for batch in made)
        per_worker[worker] = per_worker.get(worker, 0) + done
        log.info("partition %d of %d (%d products) labelled by %s", number, len(pieces), done, worker)
        for batch in made:
            progress(len(batch))
            yield batch


def label_snapshot(snapshot_id: str, gates: Sequence[Any] = (), settings: Settings | None = None,
                   batch_size: int = 256, use_image_model: bool = True,
                   tags: Mapping[str, str] | None = None, cluster: str | None = None) -> LabelRun:
    """Label every listing of ``snapshot_id`` with what the gate chose (see the module docstring);
    ``tags`` join the MLflow run's (e.g. the orchestrator run that started it).

    ``cluster`` (default: the ``LABELOPS_LABEL_CLUSTER`` setting; empty: this process) is a Dask
    scheduler address or ``local:N``: the labels are then computed on its workers, a partition of
    whole batches at a time, and validated, stored and reported here as in one process: the same
    labels, in the same order."""
    import mlflow

    settings = settings or get_settings()
    cluster = settings.label_cluster if cluster is None else cluster
    configure_mlflow(settings)
    root = DataRoot(settings.data)
    started = time.perf_counter()
    rows = read_snapshot(root, snapshot_id).to_pylist()
    plan = WriterPlan(snapshot_id=snapshot_id, settings=settings.model_dump(mode="json"),
                      text_writer=_text_writer(gates), image_writer=_image_writer(gates, use_image_model))
    writers = load_writers(plan, rows, load_text=not cluster)
    plan, text_writer, image_writer, tagger = writers.plan, plan.text_writer, plan.image_writer, writers.tagger
    text_version, image_version, image_model = writers.text_version, writers.image_version, writers.image_model
    tag_classifier = writers.tag_classifier
    log.info("labels of snapshot %s: text by %s (%s), images by %s, photos tagged by %s", snapshot_id, text_writer,
             text_writer.reason, image_writer or "none", tagger or "none")
    experiment_id = ensure_experiment("labels", settings)
    lineage = {"snapshot_id": snapshot_id, "text_model_version": text_version,
               "image_model_version": image_version or "none"}
    with ExitStack() as stack:
        client = stack.enter_context(cluster_client(cluster)) if cluster else None
        stack.enter_context(named_lock(f"labels-{snapshot_id}", settings))
        run = stack.enter_context(mlflow.start_run(**_run_to_continue(root, experiment_id, lineage),
                                                   run_name=f"labels-{snapshot_id}"))
        run_id = run.info.run_id
        mlflow.set_tags({**(tags or {}), **lineage, "git_commit": git_commit(), "text_writer": str(text_writer),
                         "text_writer_reason": text_writer.reason[:5000],
                         "image_writer": str(image_writer) if image_writer else "none",
                         "image_tagger": str(tagger or "none")[:5000], "label_cluster": cluster or "none"})
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            log.info("labelled %d of %d products (%.0f/s)", done, len(rows), done / (time.perf_counter() - started))

        per_worker: dict[str, int] = {}
        if client is None:
            made = writers.labels(rows, run_id=run_id, batch_size=batch_size, progress=progress)
        else:
            log.info("labelling %d products on the Dask cluster %s (%d workers), %d at a time", len(rows), cluster,
                     worker_count(client), batch_size)
            made = labels_on_cluster(client, writers, run_id, batch_size, progress, per_worker)
        counts = store_labels(root, run_id, made, expects_image_model=image_model is not None)
        if per_worker:
            log.info("products labelled per worker: %s", ", ".join(f"{w} {n}" for w, n in sorted(per_worker.items())))
        valid = root.read_parquet(catalog.labels_path(run_id)).to_pylist()
        html = render_report(run_id=run_id, snapshot_id=snapshot_id, labels=valid, gates=list(gates),
                             counts=counts.model_dump(), models={TEXT_MODEL: text_version, IMAGE_MODEL: image_version},
                             writers={"text": f"{text_writer} ({text_writer.reason})",
                                      "images": f"{image_writer} ({image_writer.reason})" if image_writer else "none"},
                             text_image=writers.text_image.summary() if writers.text_image else None)
        report = write_report(root, run_id, html)
        publish_label_run(root, run_id, {**lineage, "counts": counts.model_dump()})
        seconds = time.perf_counter() - started
        mlflow.log_metrics({"labels_valid": counts.valid, "labels_quarantined": counts.quarantined,
                            "labels_with_findings": counts.with_findings,
                            "text_fallbacks": counts.text_fallbacks, "generated_images": counts.generated_images,
                            "guessed_tags": counts.guessed_tags, "category_disagreements": counts.category_disagreements,
                            "text_image_disagreements": counts.text_image_disagreements,
                            **{f"tag_classifier_{k}": v for k, v in tag_classifier.report.items()},
                            "products_per_s": len(rows) / seconds if seconds else 0.0})
        mlflow.set_tags({"labels": root.uri(catalog.labels_path(run_id)), "report": report})
        quarantine = root.uri(catalog.labels_quarantine_path(run_id)) if counts.quarantined else None
        result = LabelRun(run_id=run_id, snapshot_id=snapshot_id, text_model_version=text_version,
                          image_model_version=image_version, text_writer=f"{text_writer}",
                          image_writer=f"{image_writer}" if image_writer else "", counts=counts,
                          labels=root.uri(catalog.labels_path(run_id)), report=report, quarantine=quarantine,
                          seconds=seconds, gates=[g if isinstance(g, dict) else g.model_dump() for g in gates],
                          cluster=cluster, workers=per_worker)
        # the run keeps the report and the summary themselves, not only where they were written
        mlflow.log_text(html, "report.html")
        mlflow.log_dict(result.model_dump(mode="json"), "summary.json")
        mlflow.log_text(result.to_markdown(), "summary.md")
        log_snapshot_input(run_id, settings, snapshot_id, context="labelling")
    log.info("labels of snapshot %s: %s (report %s)", snapshot_id, root.uri(catalog.labels_path(run_id)), report)
    return result
