"""The HTML report of a generation run: ``labels/<run_id>/report.html``.

Who wrote the labels and why, the gate's decision with every system's metrics (challenger,
champion, baselines, references) and each check with its interval, the image model's sample grids
(a row per class: generated images beside real photos), then every product with its photo (or the
generated image, marked), description, tags, categories, the fact checker's findings and the
text-image scores (the distribution, whether the scorer is trusted and why, and the labels whose
text and image do not fit; :mod:`labelops.textimage`), searchable and paginated in the page
(thousands of products stay fast: only one page is in the
document at a time).

Every scraped or generated string is untrusted. The template is rendered with autoescaping; the
labels travel as JSON inside a ``<script type="application/json">`` block with ``<``, ``>``,
``&`` and line separators escaped, so no string can close the block; the page script builds
the product cards with ``textContent`` only, never as HTML; and a Content-Security-Policy
allows no script but the page's own. A sample grid travels as a ``data:`` URL of a PNG whose
base64 text is checked to be nothing but base64.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from labelops import catalog
from labelops.gate import systems_table
from labelops.storage import DataRoot
from labelops.web import script_safe_json

PAGE_SIZE = 50
BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
REPORT_COLUMNS = ("listing_id", "title", "description", "tags", "guessed_tags", "category", "text_category",
                  "image_category",
                  "image_category_confidence", "categories_agree", "image", "image_generated", "text_model_version",
                  "image_model_version", "has_findings", "findings", "text_image_score", "image_text_score",
                  "text_image_disagreement")
SCORE_BINS = 10
LISTED_DISAGREEMENTS = 100


def template_environment() -> Environment:
    return Environment(loader=PackageLoader("labelops", "templates"), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def render_report(*, run_id: str, snapshot_id: str, labels: Iterable[Mapping[str, Any]], gates: list[Any],
                  counts: Mapping[str, Any], models: Mapping[str, str | None],
                  writers: Mapping[str, str] | None = None, page_size: int = PAGE_SIZE,
                  text_image: Mapping[str, Any] | None = None) -> str:
    """The report as an HTML string (``gates``: :class:`labelops.gate.GateResult` objects or dicts;
    ``writers``: who wrote the text and the images, in words; ``text_image``: the text-image
    scorer's :meth:`~labelops.textimage.TextImageScorer.summary`, None when there is none)."""
    rows = [{k: row.get(k) for k in REPORT_COLUMNS} for row in labels]
    return template_environment().get_template("report.html").render(
        run_id=run_id, snapshot_id=snapshot_id, created_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        gates=[g if isinstance(g, Mapping) else g.model_dump() for g in gates], counts=counts, models=models,
        tables=[systems_table(g) for g in gates], grids=[sample_grids(g) for g in gates], writers=writers or {},
        labels_json=script_safe_json(rows), page_size=page_size,
        agreement=text_image_section(rows, text_image))


def score_distribution(scores: list[float], bins: int = SCORE_BINS) -> dict[str, Any]:
    """Count, quantiles and an equal-width histogram of ``scores`` (empty: count 0)."""
    if not scores:
        return {"count": 0}
    values = np.asarray(scores, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=bins, range=(low, high if high > low else low + 1e-6))
    peak = max(int(counts.max()), 1)
    return {"count": len(values), "quantiles": dict(zip(("min", "5%", "25%", "median", "75%", "95%", "max"),
                                                        map(float, np.quantile(values, [0, .05, .25, .5, .75, .95, 1])))),
            "histogram": [{"low": float(a), "high": float(b), "count": int(n), "width": round(100 * int(n) / peak)}
                          for a, b, n in zip(edges[:-1], edges[1:], counts)]}


def text_image_section(rows: list[dict[str, Any]], scorer: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report's "Text and image agree" section: the scorer's state, the distribution of both
    scores, and the labels it flags (lowest score first, the first ``LISTED_DISAGREEMENTS``)."""
    flagged = sorted((r for r in rows if r.get("text_image_disagreement")),
                     key=lambda r: min(s for s in (r.get("text_image_score"), r.get("image_text_score")) if s is not None))
    return {"scorer": dict(scorer) if scorer else None,
            "text": score_distribution([r["text_image_score"] for r in rows if r.get("text_image_score") is not None]),
            "image": score_distribution([r["image_text_score"] for r in rows if r.get("image_text_score") is not None]),
            "disagreements": len(flagged), "listed": flagged[:LISTED_DISAGREEMENTS]}


def write_report(root: DataRoot, run_id: str, html: str) -> str:
    """Write the report; returns its URL (a path for a local data root)."""
    with root.open(catalog.report_path(run_id), "w", encoding="utf-8") as handle:
        handle.write(html)
    return root.uri(catalog.report_path(run_id))


def sample_grids(gate: Any) -> list[tuple[str, str]]:
    """(system, base64 PNG) of each sample grid a gate kept (:attr:`labelops.gate.GateResult.grids`),
    only those whose text is plain base64 of a PNG."""
    grids = gate.get("grids") if isinstance(gate, Mapping) else getattr(gate, "grids", None)
    return [(str(system), png) for system, png in (grids or {}).items()
            if isinstance(png, str) and png.startswith("iVBORw0KGgo") and BASE64.match(png)]
