"""Process set-up for the embedded defaults: a local Prefect under the data root, quiet tools.

Call :func:`use_embedded_prefect` before Prefect is imported. A user who points
``PREFECT_API_URL`` at a Prefect server, or sets ``PREFECT_HOME``, keeps their choice.
"""

from __future__ import annotations

import logging
import os

from labelops import catalog
from labelops.quiet import drop_lightning_tips
from labelops.settings import Settings
from labelops.cluster import leads_training, process_rank


def use_embedded_prefect(settings: Settings) -> None:
    """Local Prefect: its database under ``<data>/prefect``, a start-up timeout that fits a cold start."""
    if "PREFECT_API_URL" not in os.environ and "PREFECT_HOME" not in os.environ and settings.data_is_local:
        home = settings.local_data_path / catalog.PREFECT_HOME
        if not leads_training():  # a multi-node training's other commands: a database each, never shared
            home = home / f"rank-{process_rank()}"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # labelops' own progress and result logs show in the console and the Prefect UI.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "labelops,spiders")



QUIET_LOGGERS = (
    "scrapy", "great_expectations", "asyncio", "filelock", "httpx",
    "mlflow.store.db.utils",  # "Creating initial MLflow database tables...", "Updating database tables"
    "alembic",  # MLflow's migrations: "Context impl SQLiteImpl.", "Will assume non-transactional DDL."
)
"""Loggers whose INFO lines say nothing a person running a command needs."""

def quiet_third_party_logs() -> None:
    """Keep the console for what a person needs; labelops' own logs and reports say what happened.

    Environment variables (read at import, and inherited by the training subprocesses): no
    progress bars from transformers or the Hugging Face hub ("Loading weights"). Logger levels
    and filters (this process): MLflow's database set-up lines, Lightning's tips."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' tqdm reads it at import
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    drop_lightning_tips()
    for name in ("labelops", "spiders"):  # shown through Prefect's handlers (PREFECT_LOGGING_EXTRA_LOGGERS)
        logging.getLogger(name).setLevel(logging.INFO)

