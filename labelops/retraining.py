"""Deciding to retrain: a rule over reviewers' feedback and catalogue drift, with a cooldown.

The policy is ``labelops/retrain.toml`` (or ``LABELOPS_RETRAIN_POLICY``). A retraining is due when
any of these fires:

- **reject rate**: over the champion text generator's last ``window`` reviewed labels (with no
  champion, over the labels a baseline wrote: the labels now shipped) (the latest
  verdict per label), the share of rejections exceeds ``max`` (with at least ``min_reviews``);
- **edits**: at least ``min_since_training`` edits were received since the last training of the
  text generator (the newest registered version, champion or not);
- **drift**: the newest snapshot differs from the one the champion was trained on in its
  category mix (total variation distance), its size or its mean description length
  (:func:`snapshot_drift`) beyond the thresholds.

A due retraining is *triggered* unless the last trigger was less than ``cooldown_hours`` ago.
:func:`decide_and_record` takes a lock, decides and writes the trigger down
(``feedback/triggers/<time>.json``) in one step, so concurrent feedback runs and storms of
rejections trigger one training, not fifty. The triggered training still has to pass the gate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from labelops import catalog
from labelops.feedback import distinct_verdicts, newest_verdicts
from labelops.locks import named_lock
from labelops.markdown import table
from labelops.policy import read_policy
from labelops.settings import Settings, get_settings
from labelops.storage import DataRoot

log = logging.getLogger(__name__)

DEFAULT_POLICY = Path(__file__).with_name("retrain.toml")


class RejectRateRule(BaseModel):
    window: int = Field(100, ge=1)
    min_reviews: int = Field(20, ge=1)
    max: float = Field(0.3, ge=0, le=1)


class EditsRule(BaseModel):
    min_since_training: int = Field(25, ge=1)


class DriftRule(BaseModel):
    category_shift: float = Field(0.25, ge=0, le=1)
    size_change: float = Field(0.5, ge=0)
    text_length_change: float = Field(0.3, ge=0)


class TriggerRule(BaseModel):
    cooldown_hours: float = Field(24.0, ge=0)
    models: list[str] = Field(default_factory=lambda: ["text"])


class RetrainPolicy(BaseModel):
    version: int
    reject_rate: RejectRateRule = Field(default_factory=RejectRateRule)
    edits: EditsRule = Field(default_factory=EditsRule)
    drift: DriftRule = Field(default_factory=DriftRule)
    trigger: TriggerRule = Field(default_factory=TriggerRule)
    source: str = ""
    sha256: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> RetrainPolicy:
        return cls.model_validate(read_policy(DEFAULT_POLICY, Settings().retrain_policy, "retraining policy", path))


# ------------------------------------------------------------------------------------ drift
class SnapshotDrift(BaseModel):
    """How the newest snapshot differs from the champion's training snapshot."""

    old_snapshot: str | None = None
    new_snapshot: str | None = None
    category_shift: float = 0.0
    size_change: float = 0.0
    text_length_change: float = 0.0


def _top_category(row: Mapping[str, Any]) -> str:
    path = row.get("category_path")
    return path[0] if path is not None and len(path) else "(none)"


def _mean_length(rows: list[Mapping[str, Any]]) -> float:
    return sum(len(r.get("description") or "") for r in rows) / len(rows) if rows else 0.0


def snapshot_drift(old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]],
                   old_id: str | None = None, new_id: str | None = None) -> SnapshotDrift:
    """Category mix (total variation distance of top-level categories), size and mean description
    length (relative changes) of ``new`` against ``old``."""
    old, new = list(old), list(new)
    if not old or not new:
        return SnapshotDrift(old_snapshot=old_id, new_snapshot=new_id)
    p, q = Counter(map(_top_category, old)), Counter(map(_top_category, new))
    shift = 0.5 * sum(abs(p[c] / len(old) - q[c] / len(new)) for c in set(p) | set(q))
    old_length, new_length = _mean_length(old), _mean_length(new)
    length_change = abs(new_length - old_length) / old_length if old_length else (1.0 if new_length else 0.0)
    return SnapshotDrift(old_snapshot=old_id, new_snapshot=new_id, category_shift=round(shift, 4),
                         size_change=round(abs(len(new) - len(old)) / len(old), 4),
                         text_length_change=round(length_change, 4))


# ------------------------------------------------------------------------------------ the rule
class Rule(BaseModel):
    name: str
    value: float | None
    threshold: float
    fired: bool
    detail: str


class RetrainDecision(BaseModel):
    """Whether to retrain now, every rule with its numbers, and the cooldown."""

    due: bool
    trigger: bool
    rules: list[Rule]
    decided_at: datetime
    champion_version: str | None = None
    last_trigger_at: datetime | None = None
    cooldown_until: datetime | None = None
    snapshot_id: str | None = None
    models: list[str] = Field(default_factory=list)
    policy: str = ""
    policy_sha256: str = ""

    @property
    def summary(self) -> str:
        fired = [r.detail for r in self.rules if r.fired]
        if not fired:
            return "no retraining due: " + "; ".join(r.detail for r in self.rules)
        if not self.trigger and self.cooldown_until is None:
            return f"retraining due ({'; '.join(fired)}); not triggered: this run only reports"
        if not self.trigger:
            return f"retraining due ({'; '.join(fired)}) but in cooldown until {self.cooldown_until:%Y-%m-%d %H:%M UTC}"
        return "retraining triggered: " + "; ".join(fired)

    def to_markdown(self) -> str:
        verdict = "**retraining triggered**" if self.trigger else "**no retraining**" if not self.due else \
            "**due, held back by the cooldown**" if self.cooldown_until else "**due (report only)**"
        lines = ["# Retraining decision", "", f"{verdict} (champion text generator: "
                 f"{'version ' + self.champion_version if self.champion_version else 'none'}; snapshot "
                 f"`{self.snapshot_id or 'none'}`)", ""]
        lines += table(["rule", "value", "threshold", "fired"],
                       [[rule.name, "n/a" if rule.value is None else f"{rule.value:.3f}", f"{rule.threshold:g}",
                         "yes" if rule.fired else "no"] for rule in self.rules])
        lines += ["", self.summary]
        if self.last_trigger_at:
            lines.append(f"\nlast trigger: {self.last_trigger_at:%Y-%m-%d %H:%M UTC}")
        lines.append(f"\npolicy: `{self.policy}` (sha256 {self.policy_sha256[:12]})")
        return "\n".join(lines)


def decide(policy: RetrainPolicy, feedback: pd.DataFrame, *, champion_version: str | None,
           last_training_at: datetime | None, drift: SnapshotDrift, last_trigger_at: datetime | None,
           now: datetime) -> RetrainDecision:
    """The retraining rule (a pure function of its inputs); each verdict counts once
    (:func:`~labelops.feedback.distinct_verdicts`)."""
    rules: list[Rule] = []
    feedback = distinct_verdicts(feedback)

    # the labels now shipped: the champion's, or, when no model beat the baselines, a baseline's
    reviewed = newest_verdicts(feedback)
    writer = "the champion's" if champion_version is not None else "the baselines'"
    if not reviewed.empty:
        versions = reviewed["text_model_version"].astype(str)
        reviewed = reviewed[versions == champion_version if champion_version is not None
                            else versions.str.startswith("baseline:")]
    window = reviewed.tail(policy.reject_rate.window)
    if len(window) >= policy.reject_rate.min_reviews:
        rate = float((window["verdict"] == "reject").mean())
        rules.append(Rule(name="reject rate", value=rate, threshold=policy.reject_rate.max,
                          fired=rate > policy.reject_rate.max,
                          detail=f"{rate:.0%} of {writer} last {len(window)} reviewed labels rejected "
                                 f"(limit {policy.reject_rate.max:.0%})"))
    else:
        rules.append(Rule(name="reject rate", value=None, threshold=policy.reject_rate.max, fired=False,
                          detail=f"{len(window)} of {writer} labels reviewed, fewer than "
                                 f"{policy.reject_rate.min_reviews} needed for a reject rate"))

    edits = feedback[feedback["verdict"] == "edit"] if not feedback.empty else feedback
    if last_training_at is not None and not edits.empty:
        edits = edits[edits["received_at"] > pd.Timestamp(last_training_at)]
    rules.append(Rule(name="edits since last training", value=float(len(edits)),
                      threshold=policy.edits.min_since_training, fired=len(edits) >= policy.edits.min_since_training,
                      detail=f"{len(edits)} edits since the last training (retrain at {policy.edits.min_since_training})"))

    for name, value, threshold in (("category shift", drift.category_shift, policy.drift.category_shift),
                                   ("size change", drift.size_change, policy.drift.size_change),
                                   ("text length change", drift.text_length_change, policy.drift.text_length_change)):
        rules.append(Rule(name=name, value=value, threshold=threshold, fired=value > threshold,
                          detail=f"{name} {value:.2f} between snapshots {drift.old_snapshot} and {drift.new_snapshot} "
                                 f"(limit {threshold:g})"))

    due = any(rule.fired for rule in rules)
    cooldown_until = last_trigger_at + timedelta(hours=policy.trigger.cooldown_hours) if last_trigger_at else None
    in_cooldown = cooldown_until is not None and now < cooldown_until
    return RetrainDecision(due=due, trigger=due and not in_cooldown, rules=rules, decided_at=now,
                           champion_version=champion_version, last_trigger_at=last_trigger_at,
                           cooldown_until=cooldown_until if in_cooldown else None, snapshot_id=drift.new_snapshot,
                           models=list(policy.trigger.models), policy=policy.source, policy_sha256=policy.sha256)


# ------------------------------------------------------------------------------------ state
class TextModelState(BaseModel):
    champion_version: str | None = None
    champion_snapshot: str | None = None
    last_training_at: datetime | None = None


def text_model_state(settings: Settings | None = None) -> TextModelState:
    """The champion text generator, the snapshot it learnt from, and when the newest version was
    registered, from the project's registry (``LABELOPS_MLFLOW_URI``)."""
    from mlflow import MlflowClient

    from labelops.promotion import CHAMPION
    from labelops.registry import TEXT_MODEL, configure_mlflow, version_by_alias

    configure_mlflow(settings or get_settings())
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{TEXT_MODEL}'")  # [] when nothing is registered
    newest = max((v.creation_timestamp for v in versions), default=None)
    champion = version_by_alias(TEXT_MODEL, CHAMPION)
    return TextModelState(
        champion_version=str(champion.version) if champion else None,
        champion_snapshot=(champion.tags or {}).get("snapshot_id") if champion else None,
        last_training_at=datetime.fromtimestamp(newest / 1000, timezone.utc) if newest else None)


def last_trigger(root: DataRoot) -> dict | None:
    names = [n for n in root.listdir(catalog.RETRAINING_TRIGGERS) if n.endswith(".json")]
    return root.read_json(f"{catalog.RETRAINING_TRIGGERS}/{names[-1]}") if names else None


def record_trigger(root: DataRoot, decision: RetrainDecision) -> str:
    relative = f"{catalog.RETRAINING_TRIGGERS}/{decision.decided_at:%Y%m%dT%H%M%S%fZ}.json"
    root.write_json(relative, decision.model_dump(mode="json"))
    return relative


def decide_and_record(root: DataRoot, feedback: pd.DataFrame, state: TextModelState, drift: SnapshotDrift,
                      policy: RetrainPolicy | None = None, settings: Settings | None = None,
                      now: datetime | None = None, record: bool = True) -> RetrainDecision:
    """Decide under the retraining lock and write a trigger down, so only one of many concurrent
    deciders triggers within the cooldown. ``record=False`` only reports (nothing is triggered)."""
    policy = policy or RetrainPolicy.load()
    with named_lock("retrain-trigger", settings or get_settings()):
        previous = last_trigger(root)
        decision = decide(policy, feedback, champion_version=state.champion_version,
                          last_training_at=state.last_training_at, drift=drift,
                          last_trigger_at=datetime.fromisoformat(previous["decided_at"]) if previous else None,
                          now=now or datetime.now(timezone.utc))
        if not record:
            decision.trigger = False
        elif decision.trigger:
            path = record_trigger(root, decision)
            log.info("retraining triggered (%s); recorded in %s", decision.summary, root.uri(path))
        else:
            log.info(decision.summary)
    return decision


def drift_since_champion(root: DataRoot, champion_snapshot: str | None, newest_snapshot: str | None) -> SnapshotDrift:
    """:func:`snapshot_drift` of the newest snapshot against the champion's training snapshot (none
    when either is missing or they are the same)."""
    from labelops.snapshot import read_snapshot

    if not champion_snapshot or not newest_snapshot or champion_snapshot == newest_snapshot \
            or not root.exists(catalog.snapshot_listings(champion_snapshot)):
        return SnapshotDrift(old_snapshot=champion_snapshot, new_snapshot=newest_snapshot)
    columns = ["category_path", "description"]
    old = read_snapshot(root, champion_snapshot, columns=columns).to_pylist()
    new = read_snapshot(root, newest_snapshot, columns=columns).to_pylist()
    return snapshot_drift(old, new, champion_snapshot, newest_snapshot)
