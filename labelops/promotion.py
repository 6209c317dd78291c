"""Moving the ``champion`` alias: promotion after the gate, and rollback by hand.

Nothing but :func:`promote` and :func:`rollback` moves ``champion``. Both hold a lock per
model in the data root (:func:`labelops.locks.named_lock`: a file lock on a local or shared disk, a
lease object on an object store, so it holds across machines; the generation flow's gate task also
holds a Prefect global concurrency limit of one per model), and
:func:`promote` also checks that the champion is still the one the challenger was measured
against: when two gates run at once, the second finds the champion moved and refuses rather
than promoting a model that was never compared with the new champion.

Every move is written down: the model's ``champion_history`` tag (versions, oldest first),
and tags on the versions (``promoted_by_run``, ``rolled_back_by_run``, ``rollback_reason``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from mlflow import MlflowClient

from labelops.locks import LockTimeout, named_lock
from labelops.registry import version_by_alias
from labelops.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"


class PromotionError(RuntimeError):
    """A move of the champion alias that must not happen (it names why)."""


@contextmanager
def champion_lock(model_name: str, settings: Settings | None = None, timeout: float = 600) -> Iterator[None]:
    """Hold the lock on ``model_name``'s champion alias."""
    try:
        with named_lock(model_name, settings, timeout):
            yield
    except LockTimeout as error:
        raise PromotionError(f"another gate is moving {model_name}'s champion: {error}") from error


def champion_version(model_name: str) -> str | None:
    version = version_by_alias(model_name, CHAMPION)
    return None if version is None else str(version.version)


def champion_history(model_name: str) -> list[str]:
    """Versions that were champion, oldest first (the current champion last)."""
    from mlflow.exceptions import MlflowException

    from labelops.registry import is_not_found

    try:
        tags = MlflowClient().get_registered_model(model_name).tags
    except MlflowException as error:
        if is_not_found(error):  # no such model yet; any other error must not read as an empty history
            return []
        raise
    return json.loads(tags.get(HISTORY_TAG, "[]"))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def promote(model_name: str, version: str, expected_champion: str | None, run_id: str,
            settings: Settings | None = None) -> None:
    """Make ``version`` the champion, if the champion is still ``expected_champion``."""
    client = MlflowClient()
    with champion_lock(model_name, settings):
        current = champion_version(model_name)
        if current != expected_champion:
            raise PromotionError(
                f"{model_name}: the champion moved to version {current} while version {version} was compared "
                f"with version {expected_champion}; run the gate again")
        client.set_registered_model_alias(model_name, CHAMPION, version)
        history = [v for v in champion_history(model_name)] + [str(version)]
        client.set_registered_model_tag(model_name, HISTORY_TAG, json.dumps(history))
        client.set_model_version_tag(model_name, version, "promoted_by_run", run_id)
        client.set_model_version_tag(model_name, version, "promoted_at", _now())
    log.info("%s version %s is now @%s (was %s)", model_name, version, CHAMPION, expected_champion or "none")


def rollback(model_name: str, reason: str, settings: Settings | None = None) -> tuple[str, str]:
    """Move the champion back to the previous champion; returns (from version, to version).

    The move is an MLflow run of its own (experiment ``gate``) with the reason.
    """
    import mlflow

    from labelops.registry import configure_mlflow, ensure_experiment

    settings = settings or get_settings()
    if not reason.strip():
        raise PromotionError("a rollback needs a reason")
    configure_mlflow(settings)
    client = MlflowClient()
    with champion_lock(model_name, settings):
        current = champion_version(model_name)
        history = champion_history(model_name)
        if current is None:
            raise PromotionError(f"{model_name} has no champion to roll back")
        if len(history) < 2 or history[-1] != current:
            raise PromotionError(f"{model_name} has no previous champion to go back to (history: {history or 'empty'})")
        previous = history[-2]
        experiment_id = ensure_experiment("gate", settings)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"rollback-{model_name}-v{current}") as run:
            mlflow.set_tags({"action": "rollback", "model": model_name, "from_version": current,
                             "to_version": previous, "reason": reason})
        client.set_registered_model_alias(model_name, CHAMPION, previous)
        client.set_registered_model_tag(model_name, HISTORY_TAG, json.dumps(history[:-1]))
        client.set_model_version_tag(model_name, current, "rolled_back_by_run", run.info.run_id)
        client.set_model_version_tag(model_name, current, "rollback_reason", reason)
    log.info("%s: champion rolled back from version %s to %s (%s)", model_name, current, previous, reason)
    return current, previous


__all__ = ["CHALLENGER", "CHAMPION", "PromotionError", "champion_history", "champion_lock", "champion_version",
           "promote", "rollback"]
