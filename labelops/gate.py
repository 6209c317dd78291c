"""The gate: may a challenger become champion, and who writes the labels? A decision from scores
measured on the same rows, with intervals, and a policy.

The policy lives in ``labelops/gate.toml`` (or the file ``LABELOPS_GATE_POLICY`` names). For one
model it names:

- *baselines*: the simple methods every model must beat (text: the template and retrieve-and-fill;
  images: class-mean images and noise). A challenger must beat each on the *primary* metric, with
  the lower bound of the gain's paired-bootstrap interval above ``min_improvement``, and be no
  worse, significantly, on the ``baseline_guards`` (text: the fact checker's findings rate);
- *primary*: with a champion, the challenger's gain over it must have its lower bound above
  ``min_improvement`` too (a re-registered copy of the champion is "not significantly better");
- *guards*: metrics on which the challenger may not be significantly worse than the champion (the
  interval of the gain lies wholly below ``-tolerance``); a metric that is not per row (KID) is
  significantly worse when it is worse by more than 1.96 times the two measurements' combined
  standard deviation, plus the tolerance;
- *floors*: absolute bounds (a findings rate no model may exceed), or bounds relative to a
  reference system (``of``: images must reach 0.70 × the evaluator's accuracy on real photos;
  the reference's value taken as at least 0, since an unbiased KID can fall below it), optionally
  within the measurements' spread (``within_spread``);
- *references*: systems measured beside that no model must beat and that never write labels
  (images: ``real``, the real photos themselves), read by relative floors;
- *versus*: per baseline, the rule of each metric, ``better`` (the gain's lower bound above the
  threshold) or ``not_worse`` (non-inferiority: the gain's upper bound not below minus the
  tolerance); a baseline listed here is judged on these rules instead of the default ones
  (primary better, baseline guards not worse);
- *writers*: the baselines that may write labels (default: every baseline).

Every check, passed or failed, is kept with its interval, so a person reading the decision sees
why. The same baseline checks decide who writes the labels (:func:`choose_writer`): the champion
when it beats the baselines on these rows, otherwise the best baseline, and the decision says so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from labelops.markdown import table
from labelops.policy import read_policy
from labelops.settings import Settings
from labelops.significance import Interval, paired_bootstrap

DEFAULT_POLICY = Path(__file__).with_name("gate.toml")
KID_SPREAD = 1.96  # a KID this many combined standard deviations worse is significantly worse
MODEL = "model"  # the writer when a registered version writes the labels
LAST_RESORT = {"chrf": "retrieve_fill", "conditional_accuracy": "class_mean"}  # by primary metric: text, images


class Bound(BaseModel):
    """An absolute bound, or with ``of`` a multiple of a reference system's value of the metric;
    ``within_spread``: the bound moves by 1.96 × the combined standard deviation of both
    measurements (``<metric>_std``, for metrics that are not per row such as KID)."""

    min: float | None = None
    max: float | None = None
    of: str | None = None
    within_spread: bool = False


class Primary(BaseModel):
    metric: str
    higher_is_better: bool = True
    min_improvement: float = Field(0.0, description="the gain's lower bound must exceed this")


class Guard(BaseModel):
    higher_is_better: bool = True
    tolerance: float = 0.0


Rule = Literal["better", "not_worse"]


class ModelPolicy(BaseModel):
    primary: Primary
    baselines: list[str] = Field(default_factory=list)
    baseline_guards: list[str] = Field(default_factory=list)
    floors: dict[str, Bound] = Field(default_factory=dict)
    guards: dict[str, Guard] = Field(default_factory=dict)
    references: list[str] = Field(default_factory=list, description="measured beside, never beaten, never writers")
    versus: dict[str, dict[str, Rule]] = Field(default_factory=dict, description="per baseline: metric → rule")
    writers: list[str] | None = Field(None, description="the baselines that may write labels (None: all)")

    @model_validator(mode="after")
    def _known_systems_and_directions(self) -> ModelPolicy:
        measured = set(self.baselines) | set(self.references)
        for name, rules in self.versus.items():
            if name not in self.baselines:
                raise ValueError(f"versus.{name}: {name} is not one of the baselines {self.baselines}")
            for metric in rules:
                if metric != self.primary.metric and metric not in self.guards:
                    raise ValueError(f"versus.{name}.{metric}: say whether higher is better (a guard, or the primary)")
        for metric, bound in self.floors.items():
            if bound.of is not None and bound.of not in measured:
                raise ValueError(f"floors.{metric}: {bound.of} is neither a baseline nor a reference")
        unknown = set(self.writers or []) - set(self.baselines)
        if unknown:
            raise ValueError(f"writers {sorted(unknown)} are not baselines")
        return self

    def direction(self, metric: str) -> tuple[bool, float]:
        """(higher is better, threshold) of a metric: the primary's or its guard's."""
        if metric == self.primary.metric:
            return self.primary.higher_is_better, self.primary.min_improvement
        guard = self.guards.get(metric, Guard(higher_is_better=False))
        return guard.higher_is_better, guard.tolerance

    @property
    def measured(self) -> list[str]:
        """Every system measured beside a model: its baselines, then its references."""
        return list(dict.fromkeys([*self.baselines, *self.references]))


class GatePolicy(BaseModel):
    version: int
    resamples: int = 1000
    confidence: float = 0.95
    models: dict[str, ModelPolicy]
    source: str = ""
    sha256: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> GatePolicy:
        return cls.model_validate(read_policy(DEFAULT_POLICY, Settings().gate_policy, "gate policy", path))

    def for_model(self, model_name: str) -> ModelPolicy:
        if model_name not in self.models:
            raise KeyError(f"gate policy {self.source} has no section [models.{model_name}]")
        return self.models[model_name]


class Check(BaseModel):
    """One rule applied: its kind (floor, baseline, primary, guard), what it compared with, whether
    it passed, the interval of the gain where there is one, and in words why."""

    kind: str
    metric: str
    against: str = ""
    passed: bool
    reason: str
    interval: Interval | None = None
    skipped: bool = False  # neither side measured the metric, and the scores say why (Scores.notes)


class Decision(BaseModel):
    model_name: str
    promote: bool
    checks: list[Check]
    challenger: dict[str, float]
    champion: dict[str, float] | None = None
    baselines: dict[str, dict[str, float]] = Field(default_factory=dict)
    challenger_labels: dict[str, float] = Field(default_factory=dict)  # as labels state it: reported, not decided on

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks]

    @property
    def verdict(self) -> str:
        return "promote" if self.promote else "refuse"

    def summary(self) -> str:
        failed = [c.reason for c in self.checks if not c.passed]
        return f"{self.verdict}: " + ("; ".join(failed) if failed else "every check passed")


def _value(metrics: dict[str, float] | None, name: str) -> float | None:
    value = (metrics or {}).get(name)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _compare(kind: str, metric: str, against: str, new, old, higher_is_better: bool,  # noqa: ANN001 - Scores
             threshold: float, policy: GatePolicy, must_win: bool) -> Check:
    """``new`` against ``old`` on ``metric``: a win (lower bound above ``threshold``) when
    ``must_win``, otherwise not significantly worse (upper bound not below ``-threshold``)."""
    first, second = new.row_metric(metric), old.row_metric(metric)
    a, b = _value(new.metrics, metric), _value(old.metrics, metric)
    if a is None and b is None and (getattr(new, "notes", {}) or {}).get(metric):
        return Check(kind=kind, metric=metric, against=against, passed=True, skipped=True,
                     reason=f"{metric} skipped: not measured ({new.notes[metric]})")
    if a is None or b is None:
        missing = new.system if a is None else old.system
        return Check(kind=kind, metric=metric, against=against, passed=False, reason=f"{metric} is missing for {missing}")
    if first is not None and second is not None and new.n == old.n and new.n > 0:
        interval = paired_bootstrap(first, second, new.n, higher_is_better=higher_is_better,
                                    resamples=policy.resamples, confidence=policy.confidence)
    else:  # not per row (KID): the two measurements' spread decides
        gain = (a - b) if higher_is_better else (b - a)
        spread = KID_SPREAD * math.hypot(_value(new.metrics, f"{metric}_std") or 0.0,
                                         _value(old.metrics, f"{metric}_std") or 0.0)
        interval = Interval(gain=gain, low=gain - spread, high=gain + spread, confidence=policy.confidence, resamples=0)
    shown = f"{metric} {a:.4g} vs {against} {b:.4g}: gain {interval} ({policy.confidence:.0%})"
    if must_win:
        ok = interval.low > threshold
        verdict = "significantly better" if ok else "not significantly better"
        if not ok and interval.high < -threshold:
            verdict = "significantly worse"
        return Check(kind=kind, metric=metric, against=against, passed=ok, interval=interval, reason=f"{shown}: {verdict}")
    ok = interval.high >= -threshold
    return Check(kind=kind, metric=metric, against=against, passed=ok, interval=interval,
                 reason=f"{shown}: {'no worse' if ok else 'significantly worse'}")


def baseline_checks(policy: ModelPolicy, scores, baselines: dict, gate_policy: GatePolicy) -> list[Check]:  # noqa: ANN001
    """Does ``scores`` meet every baseline's rules (``versus``), or by default beat it on the
    primary metric and be no worse on the baseline guards?"""
    checks = []
    for name in policy.baselines:
        if name not in baselines:
            checks.append(Check(kind="baseline", metric=policy.primary.metric, against=name, passed=False,
                                reason=f"baseline {name} was not measured"))
            continue
        if name in policy.versus:
            for metric, rule in policy.versus[name].items():
                higher_is_better, threshold = policy.direction(metric)
                checks.append(_compare("baseline", metric, name, scores, baselines[name], higher_is_better, threshold,
                                       gate_policy, rule == "better"))
            continue
        checks.append(_compare("baseline", policy.primary.metric, name, scores, baselines[name],
                               policy.primary.higher_is_better, policy.primary.min_improvement, gate_policy, True))
        for metric in policy.baseline_guards:
            guard = policy.guards.get(metric, Guard(higher_is_better=False))
            checks.append(_compare("baseline", metric, name, scores, baselines[name], guard.higher_is_better,
                                   guard.tolerance, gate_policy, False))
    return checks


def floor_checks(metric: str, bound: Bound, scores, systems: dict) -> list[Check]:  # noqa: ANN001 - Scores
    """``scores``' value of ``metric`` within ``bound``: absolute, or relative to ``systems[bound.of]``."""
    value = _value(scores.metrics, metric)
    if value is None:
        return [Check(kind="floor", metric=metric, against=bound.of or "", passed=False,
                      reason=f"{metric} was not measured")]
    scale, shown, std = 1.0, "", 0.0
    if bound.of is not None:
        reference = systems.get(bound.of)
        scale = _value(reference.metrics, metric) if reference is not None else None
        if scale is None:
            return [Check(kind="floor", metric=metric, against=bound.of, passed=False,
                          reason=f"{metric} of the reference {bound.of} was not measured")]
        scale = max(scale, 0.0)  # an unbiased estimate (KID) below zero means no distance, not less than none
        shown, std = f" × {bound.of} {scale:.4g}", _value(reference.metrics, f"{metric}_std") or 0.0
    checks = []
    for limit, is_min in ((bound.min, True), (bound.max, False)):
        if limit is None:
            continue
        spread = KID_SPREAD * math.hypot(_value(scores.metrics, f"{metric}_std") or 0.0, limit * std) \
            if bound.within_spread else 0.0
        edge = limit * scale - spread if is_min else limit * scale + spread
        ok = value >= edge if is_min else value <= edge
        sign = ("≥" if ok else "<") if is_min else ("≤" if ok else ">")
        allowance = f" {'−' if is_min else '+'} spread {spread:.3g}" if bound.within_spread else ""
        what = "floor" if is_min else "ceiling"
        reason = f"{metric} {value:.4g} {sign} {what} {limit:g}{shown}{allowance}" + (f" = {edge:.4g}" if shown or allowance else "")
        checks.append(Check(kind="floor", metric=metric, against=bound.of or "", passed=ok, reason=reason))
    return checks


def decide(model_name: str, policy: ModelPolicy, challenger, champion=None,  # noqa: ANN001 - Scores
           baselines: dict | None = None, gate_policy: GatePolicy | None = None) -> Decision:
    """Apply ``policy`` to the challenger's scores, beside the baselines' and the champion's."""
    gate_policy = gate_policy or GatePolicy(version=0, models={})
    baselines = baselines or {}
    checks: list[Check] = []
    for metric, bound in policy.floors.items():
        checks += floor_checks(metric, bound, challenger, baselines)
    checks += baseline_checks(policy, challenger, baselines, gate_policy)
    if champion is not None:
        primary = policy.primary
        checks.append(_compare("primary", primary.metric, "champion", challenger, champion, primary.higher_is_better,
                               primary.min_improvement, gate_policy, True))
        for metric, guard in policy.guards.items():
            checks.append(_compare("guard", metric, "champion", challenger, champion, guard.higher_is_better,
                                   guard.tolerance, gate_policy, False))
    return Decision(model_name=model_name, promote=all(c.passed for c in checks), checks=checks,
                    challenger=challenger.metrics, champion=champion.metrics if champion else None,
                    baselines={name: b.metrics for name, b in baselines.items()},
                    challenger_labels=challenger.label_metrics)


def best_baseline(policy: ModelPolicy, baselines: dict, gate_policy: GatePolicy | None = None) -> str | None:  # noqa: ANN001
    """The writer when no model beats the baselines: the one with the best primary metric among
    those not significantly worse than another on a baseline guard (fewer findings first)."""
    gate_policy = gate_policy or GatePolicy(version=0, models={})
    writers = policy.baselines if policy.writers is None else policy.writers
    scored = [(name, _value(baselines[name].metrics, policy.primary.metric)) for name in writers if name in baselines]
    scored = [(name, value) for name, value in scored if value is not None]
    if not scored:
        return None

    def worse_on_a_guard(name: str) -> bool:
        for metric in policy.baseline_guards:
            guard = policy.guards.get(metric, Guard(higher_is_better=False))
            for other, _ in scored:
                if other != name and not _compare("baseline", metric, other, baselines[name], baselines[other],
                                                  guard.higher_is_better, guard.tolerance, gate_policy, False).passed:
                    return True
        return False

    candidates = [(name, value) for name, value in scored if not worse_on_a_guard(name)] or scored
    sign = 1 if policy.primary.higher_is_better else -1
    return max(candidates, key=lambda item: sign * item[1])[0]


class Writer(BaseModel):
    """Who writes the labels: a registered version (``system`` "model") or a baseline by name."""

    system: str
    version: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        return f"version {self.version}" if self.system == MODEL else f"the {self.system} baseline"


def choose_writer(policy: ModelPolicy, version: str | None, scores, baselines: dict,  # noqa: ANN001
                  gate_policy: GatePolicy) -> Writer:
    """The champion when it beats the baselines on these rows, else the best baseline."""
    if version is not None and scores is not None:
        failed = [c.reason for c in baseline_checks(policy, scores, baselines, gate_policy) if not c.passed]
        if not failed:
            return Writer(system=MODEL, version=version, reason=f"version {version} beats the baselines")
        fallback = best_baseline(policy, baselines, gate_policy)
        if fallback is None:
            return Writer(system=MODEL, version=version, reason="no baseline to compare with")
        return Writer(system=fallback, reason=f"version {version} does not beat the baselines: " + "; ".join(failed))
    fallback = best_baseline(policy, baselines, gate_policy)
    if fallback is None:  # a policy without baselines, and no champion: labels must still be written
        return Writer(system=LAST_RESORT.get(policy.primary.metric, "none"), reason="no champion, and no baseline measured")
    return Writer(system=fallback, reason="no champion")


# ------------------------------------------------------------------------------- running a gate
class GateResult(BaseModel):
    """What one gate run did for one model, and who writes its labels now."""

    model_name: str
    challenger_version: str | None
    champion_before: str | None
    champion_after: str | None
    promoted: bool
    summary: str
    decision: Decision | None = None
    run_id: str | None = None
    writer: Writer | None = None
    baselines: dict[str, dict[str, float]] = Field(default_factory=dict)
    champion_metrics: dict[str, float] | None = None
    references: list[str] = Field(default_factory=list)  # which of ``baselines`` are references (never beaten)
    # per system ("challenger v3", "champion v2"): its sample grid, a base64 PNG (images); kept for
    # the report, left out of dumps (the gate's MLflow run has them as files)
    grids: dict[str, str] = Field(default_factory=dict, exclude=True)


def _grid_png(scores) -> str | None:  # noqa: ANN001 - Scores
    """The base64 PNG sample grid an image system's scores keep, if any."""
    for sample in (scores.samples if scores is not None else []):
        if isinstance(sample, dict) and isinstance(sample.get("grid_png"), str):
            return sample["grid_png"]
    return None


def _json_samples(scores, artifact: str) -> list:  # noqa: ANN001 - Scores
    """Samples for decision.json: a grid is named by its artifact path, not inlined."""
    return [{**{k: v for k, v in s.items() if k != "grid_png"}, "grid": artifact} if isinstance(s, dict) and "grid_png" in s
            else s for s in scores.samples]


def _log_grids(grids: dict[str, str]) -> dict[str, str]:
    """Log each system's grid as ``samples/<system>.png`` in the active run; their artifact paths."""
    import base64
    import io

    import mlflow
    from PIL import Image

    paths = {}
    for system, png in grids.items():
        path = f"samples/{system.replace(' ', '-')}.png"
        mlflow.log_image(Image.open(io.BytesIO(base64.b64decode(png))), artifact_file=path)
        paths[system] = path
    return paths


def run_gate(model_name: str, evaluation, policy: GatePolicy | None = None,  # noqa: ANN001 - EvaluationSet
             settings=None, evaluators=None, baseline_evaluators=None,  # noqa: ANN001
             tags: dict[str, str] | None = None) -> GateResult:
    """Measure the challenger, the champion and the baselines on ``evaluation``'s rows, decide,
    record, promote, and choose who writes the labels.

    The decision is an MLflow run of its own (experiment ``gate``): every system's metrics, the
    intervals, the policy (version, sha256, file), the verdict, each reason, the writer and the
    test rows' ids, and ``tags`` (e.g. the orchestrator run that started it); the challenger
    version gets ``gate_verdict`` and ``gate_run_id`` tags.
    """
    import mlflow
    from mlflow import MlflowClient

    from labelops.evaluation import BASELINE_EVALUATORS, evaluate_versions
    from labelops.promotion import CHALLENGER, PromotionError, champion_version, promote
    from labelops.registry import configure_mlflow, ensure_experiment, version_by_alias
    from labelops.settings import get_settings

    settings = settings or get_settings()
    policy = policy or GatePolicy.load()
    model_policy = policy.for_model(model_name)
    configure_mlflow(settings)
    challenger = version_by_alias(model_name, CHALLENGER)
    champion = champion_version(model_name)
    challenger_version = None if challenger is None else str(challenger.version)
    like = challenger_version or champion
    baselines = (baseline_evaluators or BASELINE_EVALUATORS)[model_name](evaluation, model_policy.measured, like) \
        if model_policy.measured else {}
    baseline_metrics = {name: b.metrics for name, b in baselines.items()}
    references = [name for name in model_policy.references if name in baselines]

    if challenger_version is None or challenger_version == champion:
        (old,) = evaluate_versions(model_name, [champion], evaluation, evaluators)
        writer = choose_writer(model_policy, champion, old, baselines, policy)
        summary = "no challenger registered: nothing to decide" if challenger_version is None else \
            f"version {champion} is already the champion: nothing to decide"
        grid = _grid_png(old)
        return GateResult(model_name=model_name, challenger_version=challenger_version, champion_before=champion,
                          champion_after=champion, promoted=False, summary=summary, writer=writer,
                          baselines=baseline_metrics, champion_metrics=old.metrics if old else None,
                          references=references, grids={f"champion v{champion}": grid} if grid else {})

    new, old = evaluate_versions(model_name, [challenger_version, champion], evaluation, evaluators)
    decision = decide(model_name, model_policy, new, old, baselines, policy)
    grids = {system: png for system, png in ((f"challenger v{challenger_version}", _grid_png(new)),
                                             (f"champion v{champion}", _grid_png(old))) if png}
    client = MlflowClient()
    experiment_id = ensure_experiment("gate", settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"gate-{model_name}-v{challenger_version}",
                          tags=dict(tags or {})) as run:
        mlflow.log_params({"model": model_name, "challenger_version": challenger_version,
                           "champion_version": champion or "none", "snapshot_id": evaluation.snapshot_id,
                           "test_rows": len(evaluation.rows), "policy_version": policy.version,
                           "policy_sha256": policy.sha256, "policy_file": policy.source,
                           "resamples": policy.resamples, "confidence": policy.confidence})
        mlflow.log_metrics(_metric_names("challenger", new.metrics))
        mlflow.log_metrics(_metric_names("challenger.labels", new.label_metrics))
        if old:
            mlflow.log_metrics(_metric_names("champion", old.metrics))
        for name, scores in baselines.items():
            mlflow.log_metrics(_metric_names(f"{'reference' if name in references else 'baseline'}.{name}",
                                             scores.metrics))
        grid_paths = _log_grids(grids)
        for check in decision.checks:
            if check.interval is not None:
                mlflow.log_metrics(_metric_names(f"gain.{check.against}.{check.metric}", {
                    "": check.interval.gain, "low": check.interval.low, "high": check.interval.high}))
        promoted, summary = decision.promote, decision.summary()
        if decision.promote:
            try:
                promote(model_name, challenger_version, champion, run.info.run_id, settings)
            except PromotionError as error:
                promoted, summary = False, f"refuse: {error}"
        if promoted:
            writer = Writer(system=MODEL, version=challenger_version, reason=f"version {challenger_version} was promoted")
        else:
            writer = choose_writer(model_policy, champion, old, baselines, policy)
        mlflow.set_tags({"action": "gate", "model": model_name, "verdict": "promote" if promoted else "refuse",
                         "summary": summary[:5000], "writer": str(writer), "writer_reason": writer.reason[:5000]})
        mlflow.log_dict({"decision": decision.model_dump(), "promoted": promoted, "summary": summary,
                         "writer": writer.model_dump(), "policy": policy.model_dump(),
                         "samples": {"challenger": _json_samples(new, grid_paths.get(f"challenger v{challenger_version}", "")),
                                     **{n: b.samples for n, b in baselines.items()}},
                         "test_listing_ids": evaluation.listing_ids}, "decision.json")
    client.set_model_version_tag(model_name, challenger_version, "gate_verdict", "promote" if promoted else "refuse")
    client.set_model_version_tag(model_name, challenger_version, "gate_run_id", run.info.run_id)
    return GateResult(model_name=model_name, challenger_version=challenger_version, champion_before=champion,
                      champion_after=champion_version(model_name), promoted=promoted, summary=summary,
                      decision=decision, run_id=run.info.run_id, writer=writer, baselines=baseline_metrics,
                      champion_metrics=old.metrics if old else None, references=references, grids=grids)


def _metric_names(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    """MLflow metric names (letters, digits, ``_-./`` and spaces) under ``prefix``."""
    return {f"{prefix}.{k}".rstrip("."): float(v) for k, v in metrics.items()
            if v is not None and not (isinstance(v, float) and math.isnan(v))}


def systems_table(gate: GateResult | dict) -> tuple[list[str], list[tuple[str, list[float | None]]]]:
    """Every system the gate measured (challenger, the challenger's text as labels state it,
    champion, baselines) as column headers, and one row per metric (a finding kind only when some
    system has it)."""
    gate = gate if isinstance(gate, GateResult) else GateResult.model_validate(gate)
    systems: dict[str, dict[str, float]] = {}
    if gate.decision:
        systems[f"challenger v{gate.challenger_version}"] = gate.decision.challenger
        if gate.decision.challenger_labels:
            systems["challenger as labels (grounded, completed; not gated)"] = gate.decision.challenger_labels
    if gate.champion_metrics:
        systems[f"champion v{gate.champion_before}"] = gate.champion_metrics
    systems.update({f"{name} {'(reference)' if name in gate.references else 'baseline'}": metrics
                    for name, metrics in gate.baselines.items()})
    if not systems:
        return [], []
    metrics = list(dict.fromkeys(m for s in systems.values() for m in s))
    rows = [(m, [s.get(m) for s in systems.values()]) for m in metrics
            if not m.startswith("findings.") or any(s.get(m) for s in systems.values())]
    return list(systems), rows


def decision_rows(gates: list[GateResult]) -> list[dict[str, Any]]:
    """One row per check of every gate that decided (model, kind, metric, the challenger's value,
    what it was compared with and its value, the gain and its interval, the verdict): the
    generation flow's table artifact."""
    rows = []
    for gate in gates:
        decision = gate.decision
        if decision is None:
            rows.append({"model": gate.model_name, "kind": "", "metric": "", "challenger": None, "against": "",
                         "against_value": None, "gain": None, "low": None, "high": None,
                         "verdict": "no decision", "reason": gate.summary})
            continue
        for check in decision.checks:
            other = decision.champion if check.against == "champion" else decision.baselines.get(check.against)
            interval = check.interval
            rows.append({"model": gate.model_name, "kind": check.kind, "metric": check.metric,
                         "challenger": _value(decision.challenger, check.metric), "against": check.against,
                         "against_value": _value(other, check.metric),
                         "gain": None if interval is None else interval.gain,
                         "low": None if interval is None else interval.low,
                         "high": None if interval is None else interval.high,
                         "verdict": "skipped" if check.skipped else "pass" if check.passed else "fail",
                         "reason": check.reason})
    return rows


def decisions_markdown(snapshot_id: str, gates: list[GateResult]) -> str:
    """The gate's decisions as markdown: per model, the verdict, who writes the labels, every
    system's metrics and each check with its interval (the generation flow's artifact)."""
    lines = ["# Gate", "", f"snapshot `{snapshot_id}`", ""]
    for gate in gates:
        verdict = f"**promoted** version {gate.challenger_version}" if gate.promoted else \
            f"champion unchanged (version {gate.champion_after or 'none'})"
        lines += [f"## {gate.model_name}: {verdict}", "", gate.summary, ""]
        if gate.writer:
            lines += [f"**Labels are written by {gate.writer}** ({gate.writer.reason}).", ""]
        headers, rows = systems_table(gate)
        if headers:
            lines += table(["metric", *headers], [[m, *("" if v is None else f"{v:.4f}" for v in values)]
                                                  for m, values in rows], right=range(1, len(headers) + 1))
            lines.append("")
        if gate.decision:
            lines += [*[f"- {'–' if c.skipped else '✔' if c.passed else '✘'} {c.reason}" for c in gate.decision.checks], ""]
    return "\n".join(lines)
