"""Tasks of the feedback flow: read → validate → store the feedback, decide, start a training."""

from __future__ import annotations

from prefect import task

from labelops import feedback as reviews
from labelops import retraining
from labelops.settings import get_settings
from labelops.snapshot import latest_snapshot_id
from labelops.storage import DataRoot
from tasks.links import RETRAIN_TRIGGER_LIMIT, one_at_a_time


def _root() -> DataRoot:
    return DataRoot(get_settings().data)


@task(name="collect feedback", cache_policy=None)
def collect(files: list[str]) -> reviews.Incoming:
    """The lines waiting in the inbox, and in ``files``."""
    return reviews.read_incoming(_root(), files)


@task(name="validate feedback", cache_policy=None)
def validate(incoming: reviews.Incoming) -> reviews.Checked:
    """The feedback suite and contract on every line; duplicates of stored feedback set aside."""
    return reviews.check_incoming(_root(), incoming)


@task(name="store feedback", cache_policy=None)
def store(checked: reviews.Checked) -> reviews.FeedbackBatch:
    """Valid lines to the feedback table, rejected ones to the quarantine, inbox files to processed/."""
    return reviews.store_feedback(_root(), checked)


@task(name="decide retraining", cache_policy=None)
def decide(record: bool) -> retraining.RetrainDecision:
    """The retraining rule on all feedback and the newest snapshot's drift, under the trigger lock
    (the data root's) and the Prefect global concurrency limit ``labelops-retrain-trigger`` (one
    slot): two feedback runs on two workers never both decide to retrain on the same feedback."""
    with one_at_a_time(RETRAIN_TRIGGER_LIMIT):
        root = _root()
        state = retraining.text_model_state()
        drift = retraining.drift_since_champion(root, state.champion_snapshot, latest_snapshot_id(root))
        return retraining.decide_and_record(root, reviews.read_feedback(root), state, drift, record=record)


@task(name="find training deployment", cache_policy=None)
def training_deployment() -> str | None:
    """The training deployment's name, when a Prefect API with that deployment is configured."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    name = get_settings().train_deployment
    if not PREFECT_API_URL.value():
        return None  # the embedded default: no server, no deployments
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None
    return name


@task(name="run training deployment", cache_policy=None)
def run_training_deployment(name: str, parameters: dict) -> str:
    """Start a run of the training deployment (a worker or ``labelops serve`` runs it); returns its id."""
    from prefect.deployments import run_deployment

    run = run_deployment(name, parameters=parameters, timeout=0)
    return str(run.id)


@task(name="simulate a reviewer", cache_policy=None)
def simulate_reviewer(run_id: str, snapshot_id: str, reject_share: float = 0.4, edits: int = 30) -> str:
    """The demo's reviewer: verdicts on every label of ``run_id`` dropped in the feedback inbox."""
    from labelops.catalog import labels_path
    from labelops.review import simulated_verdicts
    from labelops.snapshot import read_snapshot

    root = _root()
    labels = root.read_parquet(labels_path(run_id)).to_pylist()
    listings = {row["listing_id"]: row for row in read_snapshot(root, snapshot_id).to_pylist()}
    verdicts = simulated_verdicts(labels, listings, reject_share, edits)
    return root.uri(reviews.write_inbox(root, verdicts, f"demo-reviewer-{run_id}"))
