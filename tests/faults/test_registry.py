"""The registry fails closed: only a real "no such alias" means there is no champion."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from labelops.evaluation import EvaluationSet, Scores
from labelops.factcheck import FactChecker
from labelops.gate import GatePolicy, run_gate
from labelops.promotion import CHAMPION, champion_version
from labelops.registry import TEXT_MODEL, version_by_alias
from tests.test_promotion import register_versions

SCORES = {"1": 60.0, "2": 21.0}  # the champion is much better than the challenger


def scored(version: str, evaluation: EvaluationSet) -> Scores:
    return Scores(system=f"version {version}", kind="text",
                  metrics={"n": 0.0, "chrf": SCORES[version], "findings_rate": 0.0})


def policy() -> GatePolicy:
    """The shipped policy without baselines and guards: these versions have metrics, no texts."""
    shipped = GatePolicy.load()
    shipped.models[TEXT_MODEL] = shipped.for_model(TEXT_MODEL).model_copy(update={"baselines": [], "guards": {}})
    return shipped


NO_ROWS = EvaluationSet("snap", [], [], FactChecker())


@pytest.fixture
def champion_and_worse_challenger(data_root):
    v1, v2 = register_versions(2)
    client = MlflowClient()
    client.set_registered_model_alias(TEXT_MODEL, CHAMPION, v1)
    client.set_registered_model_alias(TEXT_MODEL, "challenger", v2)
    return v1, v2


def test_a_missing_alias_or_model_is_no_version(data_root):
    register_versions(1)
    assert version_by_alias(TEXT_MODEL, CHAMPION) is None
    assert version_by_alias("no-such-model", CHAMPION) is None


def test_a_failing_champion_lookup_stops_the_gate_instead_of_promoting_on_floors(champion_and_worse_challenger,
                                                                                 monkeypatch):
    v1, _ = champion_and_worse_challenger
    lookup = MlflowClient.get_model_version_by_alias

    def locked(self, name, alias):  # noqa: ANN001 - the champion lookup hits a locked database
        if alias == CHAMPION:
            raise MlflowException("(sqlite3.OperationalError) database is locked", error_code=TEMPORARILY_UNAVAILABLE)
        return lookup(self, name, alias)

    monkeypatch.setattr(MlflowClient, "get_model_version_by_alias", locked)
    with pytest.raises(MlflowException, match="database is locked"):
        run_gate(TEXT_MODEL, NO_ROWS, policy(), evaluators={TEXT_MODEL: scored})
    monkeypatch.undo()
    assert champion_version(TEXT_MODEL) == v1  # chrF 21 did not replace chrF 60
    # with the registry answering again, the gate compares the two and keeps the champion
    result = run_gate(TEXT_MODEL, NO_ROWS, policy(), evaluators={TEXT_MODEL: scored})
    assert not result.promoted and champion_version(TEXT_MODEL) == v1
