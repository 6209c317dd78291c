"""The gate: may a challenger become champion? A pure decision from metrics and a policy.

The policy lives in ``labelops/gate.toml`` (or the file ``LABELOPS_GATE_POLICY`` names). For one
model it has absolute *floors* every challenger must meet, a *primary* metric that must improve
over the champion by a minimum, and *guard* metrics that may regress by at most a tolerance.
Both models are measured on the same rows (the snapshot's frozen test split) before
:func:`decide` is called; with no champion yet, the floors alone decide. Every reason, passed or
failed, is kept, so a person reading the decision sees why.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, Field

from labelops.policy import read_policy

DEFAULT_POLICY = Path(__file__).with_name("gate.toml")


class Bound(BaseModel):
    min: float | None = None
    max: float | None = None


class Primary(BaseModel):
    metric: str
    higher_is_better: bool = True
    min_improvement: float = 0.0


class Guard(BaseModel):
    higher_is_better: bool = True
    tolerance: float = 0.0


class ModelPolicy(BaseModel):
    primary: Primary
    floors: dict[str, Bound] = Field(default_factory=dict)
    guards: dict[str, Guard] = Field(default_factory=dict)


class GatePolicy(BaseModel):
    version: int
    models: dict[str, ModelPolicy]
    source: str = ""
    sha256: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> GatePolicy:
        return cls.model_validate(read_policy(DEFAULT_POLICY, "LABELOPS_GATE_POLICY", "gate policy", path))

    def for_model(self, model_name: str) -> ModelPolicy:
        if model_name not in self.models:
            raise KeyError(f"gate policy {self.source} has no section [models.{model_name}]")
        return self.models[model_name]


class Check(BaseModel):
    """One rule applied: its kind (floor, primary, guard), whether it passed, and in words why."""

    kind: str
    metric: str
    passed: bool
    reason: str


class Decision(BaseModel):
    model_name: str
    promote: bool
    checks: list[Check]
    challenger: dict[str, float]
    champion: dict[str, float] | None = None

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks]

    @property
    def verdict(self) -> str:
        return "promote" if self.promote else "refuse"

    def summary(self) -> str:
        failed = [c.reason for c in self.checks if not c.passed]
        return f"{self.verdict}: " + ("; ".join(failed) if failed else "every check passed")


def _value(metrics: dict[str, float], name: str) -> float | None:
    value = metrics.get(name)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def decide(model_name: str, policy: ModelPolicy, challenger: dict[str, float],
           champion: dict[str, float] | None = None) -> Decision:
    """Apply ``policy`` to the challenger's metrics (and the champion's, if there is one)."""
    checks: list[Check] = []
    for metric, bound in policy.floors.items():
        value = _value(challenger, metric)
        if value is None:
            checks.append(Check(kind="floor", metric=metric, passed=False, reason=f"{metric} was not measured"))
            continue
        if bound.min is not None:
            ok = value >= bound.min
            checks.append(Check(kind="floor", metric=metric, passed=ok,
                                reason=f"{metric} {value:.4g} {'≥' if ok else '<'} floor {bound.min:g}"))
        if bound.max is not None:
            ok = value <= bound.max
            checks.append(Check(kind="floor", metric=metric, passed=ok,
                                reason=f"{metric} {value:.4g} {'≤' if ok else '>'} ceiling {bound.max:g}"))
    if champion is not None:
        primary = policy.primary
        new, old = _value(challenger, primary.metric), _value(champion, primary.metric)
        if new is None or old is None:
            checks.append(Check(kind="primary", metric=primary.metric, passed=False,
                                reason=f"{primary.metric} is missing for the {'challenger' if new is None else 'champion'}"))
        else:
            gain = (new - old) if primary.higher_is_better else (old - new)
            ok = gain >= primary.min_improvement
            checks.append(Check(kind="primary", metric=primary.metric, passed=ok, reason=(
                f"{primary.metric} {new:.4g} vs champion {old:.4g}: improvement {gain:+.4g} "
                f"{'≥' if ok else '<'} required {primary.min_improvement:g}")))
        for metric, guard in policy.guards.items():
            new, old = _value(challenger, metric), _value(champion, metric)
            if new is None or old is None:
                checks.append(Check(kind="guard", metric=metric, passed=False, reason=f"{metric} is missing"))
                continue
            regression = (old - new) if guard.higher_is_better else (new - old)
            ok = regression <= guard.tolerance
            checks.append(Check(kind="guard", metric=metric, passed=ok, reason=(
                f"{metric} {new:.4g} vs champion {old:.4g}: regression {max(regression, 0):.4g} "
                f"{'≤' if ok else '>'} tolerated {guard.tolerance:g}")))
    return Decision(model_name=model_name, promote=all(c.passed for c in checks), checks=checks,
                    challenger=challenger, champion=champion)


# ------------------------------------------------------------------------------- running a gate
class GateResult(BaseModel):
    """What one gate run did for one model."""

    model_name: str
    challenger_version: str | None
    champion_before: str | None
    champion_after: str | None
    promoted: bool
    summary: str
    decision: Decision | None = None
    run_id: str | None = None


def run_gate(model_name: str, evaluation, policy: GatePolicy | None = None,  # noqa: ANN001 - EvaluationSet
             settings=None, evaluators=None) -> GateResult:  # noqa: ANN001
    """Measure ``challenger`` and ``champion`` on ``evaluation``'s rows, decide, record, promote.

    The decision is an MLflow run of its own (experiment ``gate``): both versions' metrics, the
    policy (version, sha256, file), the verdict, every reason, and the test rows' ids; the
    challenger version gets ``gate_verdict`` and ``gate_run_id`` tags.
    """
    import mlflow
    from mlflow import MlflowClient

    from labelops.evaluation import evaluate_versions
    from labelops.promotion import CHALLENGER, PromotionError, champion_version, promote
    from labelops.registry import configure_mlflow, ensure_experiment, version_by_alias
    from labelops.settings import get_settings

    settings = settings or get_settings()
    policy = policy or GatePolicy.load()
    configure_mlflow(settings)
    challenger = version_by_alias(model_name, CHALLENGER)
    champion = champion_version(model_name)
    if challenger is None:
        return GateResult(model_name=model_name, challenger_version=None, champion_before=champion,
                          champion_after=champion, promoted=False, summary="no challenger registered: nothing to decide")
    challenger_version = str(challenger.version)
    if challenger_version == champion:
        return GateResult(model_name=model_name, challenger_version=challenger_version, champion_before=champion,
                          champion_after=champion, promoted=False,
                          summary=f"version {champion} is already the champion: nothing to decide")
    new, old = evaluate_versions(model_name, [challenger_version, champion], evaluation, evaluators)
    decision = decide(model_name, policy.for_model(model_name), new, old)
    client = MlflowClient()
    experiment_id = ensure_experiment("gate", settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"gate-{model_name}-v{challenger_version}") as run:
        mlflow.log_params({"model": model_name, "challenger_version": challenger_version,
                           "champion_version": champion or "none", "snapshot_id": evaluation.snapshot_id,
                           "test_rows": len(evaluation.test_rows), "policy_version": policy.version,
                           "policy_sha256": policy.sha256, "policy_file": policy.source})
        mlflow.log_metrics({f"challenger.{k}": v for k, v in new.items()})
        if old:
            mlflow.log_metrics({f"champion.{k}": v for k, v in old.items()})
        promoted, summary = decision.promote, decision.summary()
        if decision.promote:
            try:
                promote(model_name, challenger_version, champion, run.info.run_id, settings)
            except PromotionError as error:
                promoted, summary = False, f"refuse: {error}"
        mlflow.set_tags({"action": "gate", "model": model_name, "verdict": "promote" if promoted else "refuse",
                         "summary": summary[:5000]})
        mlflow.log_dict({"decision": decision.model_dump(), "promoted": promoted, "summary": summary,
                         "policy": policy.model_dump(), "test_listing_ids": evaluation.listing_ids}, "decision.json")
    client.set_model_version_tag(model_name, challenger_version, "gate_verdict", "promote" if promoted else "refuse")
    client.set_model_version_tag(model_name, challenger_version, "gate_run_id", run.info.run_id)
    return GateResult(model_name=model_name, challenger_version=challenger_version, champion_before=champion,
                      champion_after=champion_version(model_name), promoted=promoted, summary=summary,
                      decision=decision, run_id=run.info.run_id)


def decisions_markdown(snapshot_id: str, gates: list[GateResult]) -> str:
    """The gate's decisions as a markdown table per model (the generation flow's artifact)."""
    lines = ["# Gate", "", f"snapshot `{snapshot_id}`", ""]
    for gate in gates:
        verdict = f"**promoted** version {gate.challenger_version}" if gate.promoted else \
            f"champion unchanged (version {gate.champion_after or 'none'})"
        lines += [f"## {gate.model_name}: {verdict}", "", gate.summary, ""]
        if gate.decision:
            champion = gate.decision.champion or {}
            lines += [f"| metric | challenger v{gate.challenger_version} | champion "
                      f"{'v' + gate.champion_before if gate.champion_before else '(none)'} |", "|---|---:|---:|"]
            lines += [f"| {m} | {v:.4f} | {champion[m]:.4f} |" if m in champion else f"| {m} | {v:.4f} | |"
                      for m, v in gate.decision.challenger.items()]
            lines += ["", *[f"- {'✔' if c.passed else '✘'} {c.reason}" for c in gate.decision.checks], ""]
    return "\n".join(lines)
