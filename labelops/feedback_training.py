"""Reviewers' feedback → training data: the verdicts stored in the feedback table
(:mod:`labelops.feedback`) applied to a snapshot's rows before the text generator trains on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel

from labelops.feedback import newest_verdicts, read_feedback
from labelops.storage import DataRoot


class FeedbackTargets(BaseModel):
    """How reviewers' verdicts changed a training set."""

    edited: int = 0
    accepted_as_target: int = 0
    rejected: int = 0
    test_rows_untouched: int = 0


def latest_received(root: DataRoot) -> datetime | None:
    """When the newest stored feedback arrived (what a training that uses feedback records)."""
    table = read_feedback(root)
    return None if table.empty else table["received_at"].max().to_pydatetime()


def apply_to_training(rows: list[dict[str, Any]], feedback: pd.DataFrame, labels: pd.DataFrame,
                      until: datetime | None, is_test: Any) -> tuple[list[dict[str, Any]], FeedbackTargets]:
    """Reviewers' verdicts (received up to ``until``) applied to a snapshot's rows before training.

    Per listing, the newest verdict counts:

    - **edit**: the reviewer's description replaces the shop's as the target, and their tags (if
      any) replace the reference tags; a person's text is a better target than a scraped one;
    - **accept** of a listing the shop gave no description: the accepted generated description
      becomes its target (a person vouched for it); otherwise nothing changes;
    - **reject**: nothing changes: a rejected generated text never becomes a target (and generated
      text is never a target unless a person accepted it).

    Held-out rows (``is_test(listing_id)``: the val and test splits every evaluation measures on)
    are left as the shop published them, so every model is still measured against the same
    references and validated on the same targets.
    """
    counts = FeedbackTargets()
    if feedback.empty or until is None:
        return rows, counts
    used = feedback[feedback["received_at"] <= pd.Timestamp(until)]
    newest = {r["listing_id"]: r for r in newest_verdicts(used, per="listing_id").to_dict("records")}
    out = []
    for row in rows:
        verdict = newest.get(row["listing_id"])
        if verdict is None:
            out.append(row)
            continue
        if is_test(row["listing_id"]):
            counts.test_rows_untouched += 1
            out.append(row)
            continue
        if verdict["verdict"] == "edit":
            tags = verdict.get("edited_tags")
            row = {**row, "description": verdict.get("edited_description") or row.get("description"),
                   "reviewed_tags": list(tags) if tags is not None and len(tags) else None}
            counts.edited += 1
        elif verdict["verdict"] == "accept" and not row.get("description") and verdict["label_id"] in labels.index:
            row = {**row, "description": labels.loc[verdict["label_id"], "description"]}
            counts.accepted_as_target += 1
        elif verdict["verdict"] == "reject":
            counts.rejected += 1
        out.append(row)
    return out, counts
