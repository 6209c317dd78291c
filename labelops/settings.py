"""Settings from ``LABELOPS_*`` environment variables, with defaults that run on a laptop.

Every knob a data team may want to turn without touching code lives here. Read them with
:func:`get_settings`; nothing else in labelops reads the environment directly.
"""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CrawlSettings(BaseSettings):
    """Politeness and limits for the Scrapy spider (``LABELOPS_CRAWL_*``)."""

    model_config = SettingsConfigDict(env_prefix="LABELOPS_CRAWL_", extra="ignore")

    user_agent: str = "labelops (+https://github.com/labelops/labelops)"
    obey_robots: bool = True
    concurrent_requests: int = Field(16, ge=1)
    concurrent_per_domain: int = Field(8, ge=1)
    download_delay: float = Field(0.0, ge=0)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(8.0, gt=0)
    retry_times: int = Field(2, ge=0)
    download_timeout: float = Field(30.0, gt=0)
    max_page_bytes: int = Field(10 * 1024 * 1024, gt=0, description="pages larger than this are dropped")
    max_pages: int = Field(0, ge=0, description="0 = no limit")
    depth_limit: int = Field(0, ge=0, description="0 = no limit")
    download_images: bool = True
    max_image_pixels: int = Field(25_000_000, ge=0, description="images declaring more pixels are refused "
                                  "before they are decoded (image bombs); 0 = no limit")
    max_crawl_image_pixels: int = Field(50_000_000_000, ge=0, description="pixels of images one crawl decodes "
                                        "in all; past it images are refused; 0 = no limit")
    redis_url: str | None = Field(None, description="share one frontier and one dedup set with every crawl process "
                                  "started with the same crawl id and this Redis (redis://host:6379/0); none: one "
                                  "process, no Redis")
    processes: int = Field(1, ge=1, description="crawl processes this machine starts for one crawl (more than 1 "
                           "needs redis_url)")

    @property
    def distributed(self) -> bool:
        """Whether crawls share a Redis frontier (:mod:`spiders.distributed`); several processes without
        a Redis are refused (ValueError)."""
        if self.processes > 1 and not self.redis_url:
            raise ValueError(f"{self.processes} crawl processes need a Redis to share the frontier: "
                             "give a Redis URL (LABELOPS_CRAWL_REDIS_URL, --redis-url)")
        return bool(self.redis_url)


class Settings(BaseSettings):
    """Top-level settings (``LABELOPS_*``)."""

    model_config = SettingsConfigDict(env_prefix="LABELOPS_", extra="ignore")

    data: str = Field("./data", description="data root: a local folder or any fsspec URL (s3://...)")
    mlflow_uri: str | None = Field(None, description="MLflow tracking URI; default sqlite:///<data>/mlflow.db")
    max_invalid_share: float = Field(
        0.2, ge=0, le=1, description="an ingest fails and publishes nothing when more rows than this are invalid"
    )
    validation_chunk_rows: int = Field(20_000, ge=100, description="rows validated per Great Expectations batch")
    shared_data: Path | None = Field(None, description="real product data beside the project (tests, benchmarks)")
    inception_weights: Path | None = Field(
        None, description="local TorchScript Inception feature extractor for FID (nothing is downloaded)")
    image_evaluator_steps: int = Field(
        400, ge=1, description="training steps of the image evaluator (the CNN that judges generated images)")
    image_evaluator_side: int = Field(
        32, ge=8, description="the image evaluator reads images at most this many pixels a side (larger ones are "
                              "averaged down): its cost at 64 px and more; 64 or 128 on a GPU")
    text_image_steps: int = Field(
        400, ge=1, description="training steps of the text-image scorer (the contrastive model that scores whether "
                               "a label's text and image agree)")
    text_image_trust: float = Field(
        0.3, ge=0, le=1, description="the text-image scorer flags disagreements (and gates) only when the lower "
                                     "bound of its held-out photo-to-description retrieval among 10 is above this")
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    train_deployment: str = Field(
        "train/labelops-train", description="deployment the feedback flow runs to retrain (<flow>/<deployment>)")
    schedule_timezone: str | None = Field(
        None, description="timezone of every deployment schedule (IANA name); default: the one in deployments/prefect.yaml")
    ingest_cron: str | None = Field(None, description="cron of the nightly ingest; default: deployments/prefect.yaml")
    train_cron: str | None = Field(None, description="cron of the weekly retraining; default: deployments/prefect.yaml")
    feedback_cron: str | None = Field(None, description="cron of the feedback check; default: deployments/prefect.yaml")
    work_dir: Path | None = Field(None, description="this machine's folder for training work folders and locks when "
                                  "the data root is remote; default ~/.cache/labelops (only you may use it)")
    ddp_timeout_minutes: float = Field(
        10, gt=0, description="a DDP training's processes wait this long for each other (joining, a collective) before "
                              "failing; PyTorch's default is 30")
    node_wait_minutes: float = Field(
        30, gt=0, description="multi-node training: the other nodes wait this long for node 0 to prepare each training")
    gate_policy: Path | None = Field(None, description="the gate's policy file; default labelops/gate.toml")
    retrain_policy: Path | None = Field(None, description="the retraining policy file; default labelops/retrain.toml")
    expectations: Path | None = Field(None, description="folder of the Great Expectations suites; default the "
                                      "project's expectations/")
    git_commit: str | None = Field(None, description="the commit runs are tagged with where there is no .git "
                                   "(container images bake it in); default: git rev-parse HEAD")
    label_cluster: str = Field("", description="where labels are computed: a Dask scheduler (tcp://host:8786), "
                               "or local:N for N worker processes on this machine; empty: in this process")
    review_hosts: str = Field("", description="host names (or name:port) the review page answers to besides "
                              "127.0.0.1 and localhost, comma-separated (e.g. the name of a proxy in front of it)")

    @field_validator("data")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/") or value

    @property
    def data_is_local(self) -> bool:
        return "://" not in self.data or self.data.startswith("file://")

    @property
    def local_data_path(self) -> Path:
        """The data root as an absolute local path (only for local data roots)."""
        if not self.data_is_local:
            raise ValueError(f"data root {self.data!r} is not a local folder")
        return Path(self.data.removeprefix("file://")).expanduser().resolve()

    @property
    def review_host_names(self) -> list[str]:
        return [name.strip() for name in self.review_hosts.split(",") if name.strip()]

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_uri:
            return self.mlflow_uri
        if self.data_is_local:
            return f"sqlite:///{self.local_data_path / 'mlflow.db'}"
        raise ValueError("LABELOPS_MLFLOW_URI must be set when the data root is not a local folder")


def private_dir(settings: Settings) -> Path:
    """This machine's folder for what must not go to a remote data root (training work folders,
    lock files): ``LABELOPS_WORK_DIR``, else ``$XDG_CACHE_HOME/labelops`` (``~/.cache/labelops``).

    Created readable and writable by this user only; an existing folder of ours is made so, and
    one that belongs to someone else is refused (they could plant checkpoints in it)."""
    base = settings.work_dir or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labelops"
    base = Path(base).expanduser()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.lstat(base)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{base} is not yours (or is a link): "
                              "set LABELOPS_WORK_DIR to a folder only you can write")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(base, 0o700)
    return base


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
