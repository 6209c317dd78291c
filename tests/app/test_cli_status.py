"""`labelops status` lists the snapshots, the champions and the latest labels runs, starting no Prefect."""

from __future__ import annotations

from mlflow import MlflowClient
from rich.console import Console
from typer.testing import CliRunner

import app.cli as cli
from app.cli import app
from labelops.registry import TEXT_MODEL, configure_mlflow
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels
from tests.helpers.listings import publish_demo_snapshot


def test_status_of_an_empty_data_root(data_root, monkeypatch):
    monkeypatch.setattr(cli, "console", Console(width=200, force_terminal=False))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "snapshots: none" in result.output and "models: none registered" in result.output
    assert "labels runs: none" in result.output
    assert not (data_root / "mlflow.db").exists()  # status creates no MLflow database
    assert not (data_root / "prefect").exists()


def test_status_lists_snapshots_champions_and_label_runs(data_root, monkeypatch):
    monkeypatch.setattr(cli, "console", Console(width=200, force_terminal=False))
    root = DataRoot(str(data_root))
    snapshot_id = publish_demo_snapshot(root, 12)
    write_labels(root, "run-one", 3, snapshot_id=snapshot_id)
    configure_mlflow(get_settings())
    client = MlflowClient()
    client.create_registered_model(TEXT_MODEL)
    for i in range(3):
        client.create_model_version(TEXT_MODEL, source=f"file:///nowhere/{i}")
    client.set_registered_model_alias(TEXT_MODEL, "champion", "2")
    client.set_registered_model_alias(TEXT_MODEL, "challenger", "3")

    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    out = result.output
    (line,) = [line for line in out.splitlines() if snapshot_id in line and "latest" in line]
    assert "12" in line  # rows
    (line,) = [line for line in out.splitlines() if TEXT_MODEL in line]
    assert [cell.strip() for cell in line.split("│")[2:5]] == ["2", "3", "3"], line  # champion, challenger, latest
    assert "run-one" in out and str(data_root) in out
    assert not (data_root / "prefect").exists()
