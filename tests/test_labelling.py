"""A labels run in MLflow: the report and the summary are the run's artifacts, the snapshot its input."""

from __future__ import annotations

import json

from labelops.labelling import label_snapshot
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from tests.helpers.listings import publish_demo_snapshot


def test_a_labels_run_logs_its_report_and_summary_as_artifacts(data_root, tmp_path):
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    snapshot = publish_demo_snapshot(DataRoot(str(data_root)), 30)
    result = label_snapshot(snapshot, use_image_model=False, batch_size=16)  # no champion: a baseline writes
    client = MlflowClient()
    run = client.get_run(result.run_id)
    assert {"report.html", "summary.json", "summary.md"} <= {a.path for a in client.list_artifacts(result.run_id)}
    report = download_artifacts(run_id=result.run_id, artifact_path="report.html", dst_path=str(tmp_path))
    assert snapshot in open(report, encoding="utf-8").read()
    summary = json.loads(open(download_artifacts(run_id=result.run_id, artifact_path="summary.json",
                                                 dst_path=str(tmp_path))).read())
    assert summary["counts"]["valid"] == result.counts.valid > 0 and summary["snapshot_id"] == snapshot
    assert run.data.tags["report"] == result.report  # the paths stay as tags too
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.digest == snapshot and dataset.dataset.name == f"snapshot-{snapshot}"
    assert {t.key: t.value for t in dataset.tags}["mlflow.data.context"] == "labelling"
    assert json.loads(dataset.dataset.profile)["num_rows"] == read_snapshot(DataRoot(str(data_root)), snapshot).num_rows
