"""Prefect ↔ MLflow links, the table artifacts, and the gate's global concurrency limit, read back
through the Prefect client and MLflow (a throwaway Prefect API; small flows, no training)."""

from __future__ import annotations

import json
import threading

import pytest
from mlflow import MlflowClient

from labelops.gate import Check, Decision, GateResult, Writer
from labelops.labelling import LabelRun
from labelops.labels import LabelCounts
from labelops.registry import RunPage
from labelops.significance import Interval


def read_artifacts(key: str, flow_run_id: str | None = None) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    artifact_filter = ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
    if flow_run_id:
        artifact_filter.flow_run_id = ArtifactFilterFlowRunId(any_=[flow_run_id])
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=artifact_filter)


def test_an_mlflow_run_names_its_prefect_run_and_the_prefect_run_opens_it(prefect_backend, data_root, monkeypatch):
    import mlflow
    from prefect import flow, task
    from prefect.runtime import flow_run

    from labelops.registry import configure_mlflow, ensure_experiment
    from labelops.settings import get_settings
    from tasks import links

    @task
    def tracked(tag_later: bool) -> str:
        settings = get_settings()
        configure_mlflow(settings)
        experiment_id = ensure_experiment("links", settings)
        tags = {} if tag_later else links.prefect_run_tags()
        with mlflow.start_run(experiment_id=experiment_id, run_name="linked", tags=tags) as run:
            pass
        links.link_mlflow_run(run.info.run_id, "mlflow-run", "the run", tag=tag_later)
        return run.info.run_id

    @flow
    def linked(tag_later: bool = False) -> tuple[str, str]:
        return tracked(tag_later), str(flow_run.id)

    for tag_later in (False, True):  # tags given at the start (gate, labels), or added after (training)
        run_id, flow_run_id = linked(tag_later)
        tags = MlflowClient().get_run(run_id).data.tags
        assert tags[links.FLOW_RUN_ID] == flow_run_id and links.TASK_RUN_ID in tags
        if links.flow_run_url("probe"):
            assert tags[links.FLOW_RUN_URL].endswith(f"/runs/flow-run/{flow_run_id}")
        (artifact,) = read_artifacts("mlflow-run", flow_run_id)
        assert artifact.type == "markdown"  # a SQLite tracking URI: no page to link to, the command that serves one
        assert run_id in artifact.data and "mlflow ui --backend-store-uri sqlite:///" in artifact.data
        assert "links" in artifact.data  # the experiment

    # with a tracking server, a link to the run's page
    page = RunPage(run_id="abc", experiment_id="7", experiment_name="gate", tracking_uri="http://mlflow:5000",
                   url="http://mlflow:5000/#/experiments/7/runs/abc")
    monkeypatch.setattr(links, "run_page", lambda run_id, settings: page)

    @flow
    def served() -> str:
        links.link_mlflow_run("abc", "mlflow-server-run", "the run")
        return str(flow_run.id)

    (artifact,) = read_artifacts("mlflow-server-run", served())
    assert page.url in artifact.data  # a link artifact (Prefect stores it as markdown: [text](url))


def test_the_prefect_ui_url_comes_from_the_api_url_when_unset():
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    from tasks.links import flow_run_url

    with temporary_settings(updates={PREFECT_API_URL: "http://prefect.internal:4200/api"},
                            restore_defaults={PREFECT_UI_URL}):
        assert flow_run_url("f1") == "http://prefect.internal:4200/runs/flow-run/f1"
    with temporary_settings(updates={PREFECT_UI_URL: "https://prefect.example.org/"}):
        assert flow_run_url("f1") == "https://prefect.example.org/runs/flow-run/f1"
    with temporary_settings(restore_defaults={PREFECT_UI_URL, PREFECT_API_URL}):
        assert flow_run_url("f1") is None  # an ephemeral server has no UI to link to


def gate_result() -> GateResult:
    checks = [Check(kind="floor", metric="chrf", passed=True, reason="chrf 40 ≥ floor 10"),
              Check(kind="primary", metric="chrf", against="champion", passed=False,
                    reason="chrf 40 vs champion 39: not significantly better",
                    interval=Interval(gain=1.0, low=-0.5, high=2.5))]
    decision = Decision(model_name="product-text-generator", promote=False, checks=checks,
                        challenger={"chrf": 40.0}, champion={"chrf": 39.0})
    return GateResult(model_name="product-text-generator", challenger_version="2", champion_before="1",
                      champion_after="1", promoted=False, summary=decision.summary(), decision=decision,
                      run_id="r1", writer=Writer(system="model", version="1"))


def test_the_gate_checks_and_the_label_counts_are_tables(prefect_backend, data_root):
    from prefect import flow
    from prefect.runtime import flow_run

    from tasks.generate import gate_table_artifact, label_counts_artifact, labels_report_artifact

    no_challenger = GateResult(model_name="product-image-gan", challenger_version=None, champion_before=None,
                               champion_after=None, promoted=False, summary="no challenger registered")
    run = LabelRun(run_id="r2", snapshot_id="s1", text_model_version="1", image_model_version=None,
                   counts=LabelCounts(valid=5, quarantined=1, failed_expectations={"title_not_empty": 1}),
                   labels="/data/labels/r2/labels.parquet", report="/data/labels/r2/report.html", quarantine=None,
                   seconds=1.0)

    @flow
    def tables() -> str:
        gate_table_artifact([gate_result(), no_challenger])
        label_counts_artifact(run)
        labels_report_artifact(run)
        return str(flow_run.id)

    flow_run_id = tables()
    (checks,) = read_artifacts("gate-checks", flow_run_id)
    rows = json.loads(checks.data)
    assert checks.type == "table" and len(rows) == 3
    primary = next(r for r in rows if r["kind"] == "primary")
    assert (primary["metric"], primary["challenger"], primary["against"], primary["against_value"]) == \
        ("chrf", 40.0, "champion", 39.0)
    assert (primary["gain"], primary["low"], primary["high"], primary["verdict"]) == (1.0, -0.5, 2.5, "fail")
    assert rows[-1]["model"] == "product-image-gan" and rows[-1]["verdict"] == "no decision"
    (counts,) = read_artifacts("labels-counts", flow_run_id)
    counted = {r["what"]: r["count"] for r in json.loads(counts.data)}
    assert counted["valid labels"] == 5 and counted["quarantined"] == 1 and counted["broke title_not_empty"] == 1
    (report,) = read_artifacts("labels-report", flow_run_id)
    assert "(file:///data/labels/r2/report.html)" in report.data


def test_the_ingest_counts_are_a_table(prefect_backend, data_root):
    from prefect import flow
    from prefect.runtime import flow_run

    from labelops.crawl import CrawlReport
    from labelops.ingest import IngestSummary
    from labelops.storage import DataRoot
    from tasks.ingest import report_ingest

    root = DataRoot(str(data_root))
    crawl = CrawlReport(crawl_id="c1", start_urls=["http://shop.test/"], items_path="raw/c1/items.jsonl",
                        pages_seen=12, product_pages=10, other_pages=2)
    summary = IngestSummary(data_root=root.url, crawl=crawl)

    @flow
    def ingest_report() -> str:
        report_ingest(root, summary)
        return str(flow_run.id)

    (counts,) = read_artifacts("ingest-counts", ingest_report())
    rows = json.loads(counts.data)
    assert rows == [{"what": what, "count": value} for what, value in summary.counts()]
    assert {"what": "pages seen", "count": "12"} in rows


def test_one_gate_per_model_at_a_time_across_workers(prefect_backend):
    """The gate's Prefect global concurrency limit: created with one slot on first use; a second
    holder waits (here: times out) while the first holds it."""
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency

    from tasks.links import gate_limit_name, one_at_a_time

    name = gate_limit_name("test-model")
    with one_at_a_time(name):
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(name)
        assert limit.limit == 1 and limit.active and limit.active_slots == 1
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with concurrency(name, occupy=1, timeout_seconds=1, strict=True):
                    pass
            except BaseException as error:  # noqa: BLE001 - the test reads it
                errors.append(error)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(30)
        assert errors and "timed out" in str(errors[0]).lower()
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(name).active_slots == 0
    with one_at_a_time(name, timeout_seconds=5):  # free again; an existing limit is reused
        pass


@pytest.mark.parametrize("url", [None, "http://mlflow:5000/#/experiments/3/runs/abc"])
def test_a_run_page_says_how_to_open_the_run(url):
    page = RunPage(run_id="abc", run_name="gate-x", experiment_id="3", experiment_name="gate",
                   tracking_uri="sqlite:////data/mlflow.db" if url is None else "http://mlflow:5000", url=url)
    text = page.to_markdown()
    assert "`abc`" in text and "gate (id `3`)" in text
    if url is None:
        assert "mlflow ui --backend-store-uri sqlite:////data/mlflow.db" in text and page.artifact_url("r") is None
    else:
        assert f"[open the run]({url})" in text
        assert page.artifact_url("report.html") == f"{url}/artifactPath/report.html"


def test_the_gate_task_tags_its_run_links_it_and_holds_the_models_limit(prefect_backend, data_root, monkeypatch):
    """``gate_model`` hands the Prefect ids to the library's gate as tags, holds the model's global
    concurrency limit while it runs, and leaves an artifact that opens the gate's MLflow run."""
    import mlflow
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    from labelops.registry import configure_mlflow, ensure_experiment
    from labelops.settings import get_settings
    from tasks import generate as generate_tasks
    from tasks.links import FLOW_RUN_ID, gate_limit_name

    slots: list[int] = []

    def fake_gate(model_name, evaluation, tags=None):  # noqa: ANN001, ANN202
        with get_client(sync_client=True) as client:
            slots.append(client.read_global_concurrency_limit_by_name(gate_limit_name(model_name)).active_slots)
        configure_mlflow(get_settings())
        with mlflow.start_run(experiment_id=ensure_experiment("gate", get_settings()), tags=tags) as run:
            pass
        result = gate_result()
        return result.model_copy(update={"model_name": model_name, "run_id": run.info.run_id})

    monkeypatch.setattr(generate_tasks.gating, "run_gate", fake_gate)

    @flow
    def gate_flow() -> tuple[str, str]:
        return generate_tasks.gate_model("product-text-generator", None).run_id, str(flow_run.id)

    run_id, flow_run_id = gate_flow()
    assert slots == [1]
    assert MlflowClient().get_run(run_id).data.tags[FLOW_RUN_ID] == flow_run_id
    (artifact,) = read_artifacts("gate-run-product-text-generator", flow_run_id)
    assert run_id in artifact.data


def test_one_retraining_decision_at_a_time_across_workers(prefect_backend, monkeypatch):
    """The feedback flow's decision holds the global concurrency limit labelops-retrain-trigger: a
    decision that starts while another worker holds it waits, and decides only once it is free."""
    from labelops import retraining
    from tasks.feedback import decide
    from tasks.links import RETRAIN_TRIGGER_LIMIT, one_at_a_time

    entered = threading.Event()

    def decided(*args, **kwargs):  # the decision itself is tested elsewhere: here, only when it starts
        entered.set()
        raise RuntimeError("stop here")

    monkeypatch.setattr(retraining, "text_model_state", decided)
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            decide.fn(record=False)
        except BaseException as error:  # noqa: BLE001 - the test reads it
            errors.append(error)

    with one_at_a_time(RETRAIN_TRIGGER_LIMIT):
        thread = threading.Thread(target=second_worker)
        thread.start()
        assert not entered.wait(3), "the decision ran while another worker held the limit"
    thread.join(60)
    assert entered.is_set() and [str(e) for e in errors] == ["stop here"]
