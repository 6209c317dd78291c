"""The command line checks its arguments and cheap preconditions before it starts Prefect: a usage
error exits 2 and a user error exits 1 with one line, at once, and neither starts a server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli as cli
from app.cli import app

PROJECT = Path(__file__).resolve().parents[2]


def run_cli(*arguments: str, data: Path | str, **env: str | None) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m app.cli ARGUMENTS`` in a fresh process (nothing imported yet), and its wall time;
    ``env`` adds variables (None: removes one)."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), "LABELOPS_DATA": str(data), "COLUMNS": "200",
                   "PREFECT_HOME": None, "PREFECT_API_URL": None, **env}
    environment = {name: value for name, value in environment.items() if value is not None}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app.cli", *arguments], cwd=PROJECT, env=environment,
                          capture_output=True, text=True, timeout=60)
    return done, time.perf_counter() - started


def assert_no_prefect(done: subprocess.CompletedProcess, data: Path) -> None:
    output = done.stdout + done.stderr
    assert "Starting temporary server" not in output and "Traceback" not in output, output
    assert not (data / "prefect").exists()  # the embedded Prefect's home is made only when it starts


@pytest.mark.parametrize("arguments, says", [
    (["ingest", "--start-url", "ftp://shop.example/"], "not an http(s) URL"),
    (["ingest", "--start-url", "http://"], "not an http(s) URL"),
    (["ingest", "--sitemap", "shop.example/sitemap.xml"], "not an http(s) URL"),
    (["ingest"], "give --start-url or --sitemap"),
    (["train", "--models", "text,bert"], "bert: choose from text, gan"),
    (["train", "--image-size", "48"], "choose 32, 64 or 128"),
    (["deploy", "--pool", "swarm"], "'swarm' is not one of"),
])
def test_a_usage_error_exits_2_at_once_without_starting_prefect(tmp_path, arguments, says):
    data = tmp_path / "data"
    done, seconds = run_cli(*arguments, data=data)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in " ".join((done.stdout + done.stderr).split())
    assert seconds < 5  # well under a second on an idle machine; generous for a loaded one
    assert_no_prefect(done, data)


@pytest.mark.parametrize("arguments, prepare, says", [
    (["train", "--snapshot", "nope"], False, "data root {data} (LABELOPS_DATA) does not exist"),
    (["train", "--snapshot", "nope"], True, "no snapshot nope in data root {data}"),
    (["generate"], True, "no snapshot to label in data root {data}: run `labelops ingest` first"),
    (["status"], False, "data root {data} (LABELOPS_DATA) does not exist"),
    (["feedback", "no-such-file.jsonl"], True, "no-such-file.jsonl: no such feedback file"),
])
def test_a_user_error_is_one_line_naming_the_data_root_and_exits_1(tmp_path, arguments, prepare, says):
    data = tmp_path / "data"
    if prepare:
        data.mkdir()
    done, seconds = run_cli(*arguments, data=data)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert lines == [f"error: {says.format(data=data)}"] or (
        len(lines) == 1 and says.format(data=data) in lines[0]), lines
    assert seconds < 5
    if prepare:
        assert_no_prefect(done, data)


def test_s3_without_credentials_says_which_settings_to_set(tmp_path):
    nowhere = str(tmp_path / "none")
    done, _ = run_cli("status", data="s3://labelops-test-bucket/data", LABELOPS_MLFLOW_URI=f"sqlite:///{tmp_path}/m.db",
                      AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None, AWS_PROFILE=None,
                      AWS_DEFAULT_PROFILE=None, AWS_SHARED_CREDENTIALS_FILE=nowhere, AWS_CONFIG_FILE=nowhere,
                      AWS_EC2_METADATA_DISABLED="true", AWS_CONTAINER_CREDENTIALS_FULL_URI=None,
                      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=None, HOME=str(tmp_path))
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, output
    assert "no S3 credentials for data root s3://labelops-test-bucket/data" in output
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in output and "Traceback" not in output


def test_credentials_errors_are_found_through_the_exception_chain():
    from botocore.exceptions import NoCredentialsError

    try:
        try:
            raise NoCredentialsError()
        except NoCredentialsError as error:
            raise OSError("could not list") from error
    except OSError as wrapped:
        assert cli._credentials_error(wrapped)
    assert not cli._credentials_error(OSError("disk full"))


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("labelops ")


def test_the_model_choices_are_the_models_labelops_trains():
    from labelops.models import TRAINABLE

    assert set(cli.MODEL_CHOICES) == set(TRAINABLE)


def test_the_pool_choices_are_the_kinds_deployments_render_for():
    from app.deployments import POOLS, read_yaml

    assert [pool.value for pool in cli.Pool] == list(POOLS)
    assert set(POOLS) == set(read_yaml()["definitions"]["work_pools"])


def test_quiet_logs_drop_mlflow_set_up_and_lightning_tips(monkeypatch):
    from app.runtime import quiet_third_party_logs
    from labelops.quiet import LIGHTNING_RANK_ZERO_LOGGERS

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    quiet_third_party_logs()
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"  # transformers' "Loading weights" bars
    assert not logging.getLogger("mlflow.store.db.utils").isEnabledFor(logging.INFO)
    lightning = logging.getLogger(LIGHTNING_RANK_ZERO_LOGGERS[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(lightning.name, logging.INFO, __file__, 1, message, None, None)

    assert not lightning.filter(record("💡 Tip: For seamless cloud logging and experiment tracking, try litlogger"))
    assert lightning.filter(record("GPU available: False, used: False"))


def test_quiet_logs_silence_mlflow_creating_its_database(tmp_path):
    script = ("import sys; from app.runtime import quiet_third_party_logs; quiet = sys.argv[1] == 'quiet'\n"
              "quiet and quiet_third_party_logs()\n"
              "import mlflow; mlflow.set_tracking_uri(f'sqlite:///{sys.argv[2]}/mlflow.db')\n"
              "mlflow.MlflowClient().search_experiments()")
    outputs = {}
    for mode in ("loud", "quiet"):
        folder = tmp_path / mode
        folder.mkdir()
        done = subprocess.run([sys.executable, "-c", script, mode, str(folder)], cwd=PROJECT, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT),
                                                           "MLFLOW_DISABLE_TELEMETRY": "true"})
        assert done.returncode == 0, done.stderr
        outputs[mode] = done.stdout + done.stderr
    assert "Creating initial MLflow database tables" in outputs["loud"]  # what the quiet run is measured against
    assert "Creating initial MLflow database tables" not in outputs["quiet"]
    assert "Updating database tables" not in outputs["quiet"]
