"""Product extraction quality and speed on a benchmark folder, beside its baselines and plain extruct.

    python benchmarks/extraction.py ../shared/data/extraction-benchmark-dev
    python benchmarks/extraction.py DIR --show-errors --out preds.json

DIR is laid out like the product-extraction benchmark: ``html/<id>.html.gz`` (or ``.html``),
``ground-truth.json`` (per page, lists of accepted values) and ``baselines/<system>.json``
(per page, one predicted value per field). For each field (price, sku, availability, brand,
currency) the table gives F1, precision and recall of labelops (the ``labelops extract`` path:
``labelops.extraction.pages.extract_page``) and of every baseline, scored with the benchmark's
rule (``labelops/extraction/scoring.py``). Generalisation: the headline is leave-one-shop-out
cross-validation (``labelops.extraction.train_chooser``): pages are grouped into shop families
by address, and each family's pages are extracted by a candidate chooser trained on the other
families only; it is printed beside the fit figures (evidence weights, chooser trained on every
page) and the baselines. The evidence weights were written by hand while looking at these pages:
their figures are a fit and have no cross-validated counterpart. Speed: labelops and plain ``extruct.extract`` (all
syntaxes) run on the same pages, read into memory first, one page after the other, alternating
page by page so both see the same machine load; best of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from labelops.extraction.pages import extract_page, find_pages, page_id, read_page  # noqa: E402
from labelops.extraction.scoring import FIELDS, Score, errors, score_all  # noqa: E402
from labelops.extraction.train_chooser import CrossValidation, cross_validate, gather_pages  # noqa: E402

TARGETS = {"price": 0.93, "sku": 0.85, "availability": 0.97, "brand": 0.75, "currency": 0.85}
"""F1 targets of issue 8 on the dev set (a fit: the rules were written looking at these pages)."""
LOSO_TARGETS = {"price": 0.93, "sku": 0.90, "availability": 0.95, "brand": 0.75}
"""Leave-one-shop-out F1 targets of issue 20: the benchmark's headline."""
SPEED_TARGET = 3.0
"""labelops must extract at least this many times faster than plain extruct."""


def load_benchmark(folder: Path) -> tuple[dict, dict[str, dict], dict[str, bytes]]:
    """``(truth, baselines by system name, page bytes by id)`` of a benchmark folder."""
    truth_path = folder / "ground-truth.json"
    if not truth_path.is_file():
        raise SystemExit(f"{truth_path}: no ground truth here")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    baselines = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((folder / "baselines").glob("*.json"))
    }
    pages = {page_id(path): read_page(path) for path in find_pages([folder / "html"])}
    missing = sorted(set(truth) - set(pages))
    if missing:
        raise SystemExit(f"{len(missing)} page(s) of the ground truth have no HTML, e.g. {missing[0]}")
    return truth, baselines, {key: pages[key] for key in truth}


def run(pages: dict[str, bytes], repeat: int = 1) -> tuple[dict[str, dict], float, float]:
    """``(labelops predictions, labelops seconds, extruct seconds)``: both extractors page by page,
    alternating; the best total of ``repeat`` rounds for each."""
    import extruct

    best_ours = best_extruct = float("inf")
    predictions: dict[str, dict] = {}
    for _ in range(max(1, repeat)):
        ours = theirs = 0.0
        for key, body in pages.items():
            started = time.perf_counter()
            predictions[key] = extract_page(body)
            ours += time.perf_counter() - started
            started = time.perf_counter()
            try:
                extruct.extract(body, base_url="", errors="ignore")  # all syntaxes (the default)
            except Exception:  # noqa: BLE001 - a page extruct cannot read still cost its time
                pass
            theirs += time.perf_counter() - started
        best_ours, best_extruct = min(best_ours, ours), min(best_extruct, theirs)
    return predictions, best_ours, best_extruct


def quality_table(truth: dict, systems: dict[str, dict]) -> tuple[Table, dict[str, dict[str, Score]]]:
    table = Table(title="extraction quality (benchmark rule: a prediction counts when it is one of the listed true values)")
    for column in ("field", "system", "F1", "precision", "recall", "TP / FP / FN", "support"):
        table.add_column(column, justify="left" if column in ("field", "system") else "right")
    scores = {name: score_all(truth, predictions) for name, predictions in systems.items()}
    for field in FIELDS:
        for name in systems:
            score = scores[name][field]
            mark = ""
            if name == "labelops":
                mark = " ✓" if score.f1 >= TARGETS[field] else f" ✗ (fit target {TARGETS[field]:.2f})"
            style = "bold" if name == "labelops" else None
            table.add_row(field, name, f"{score.f1:.3f}{mark}", f"{score.precision:.3f}", f"{score.recall:.3f}",
                          f"{score.tp} / {score.fp} / {score.fn}", str(score.support), style=style)
        table.add_section()
    return table, scores


def generalisation_table(truth: dict, cv: CrossValidation, default: dict[str, Score],
                         baselines: dict[str, dict]) -> Table:
    """Fit and leave-one-shop-out F1 side by side, with the baselines (their outputs are fixed:
    nothing of theirs was fitted to these pages by us)."""
    table = Table(title=f"fit and leave-one-shop-out F1 ({len(truth)} pages, {cv.families} shop families)")
    columns = ("field", "labelops default (fit)", "evidence weights (fit)", "learned chooser (fit)",
               "learned chooser (leave-one-shop-out)", *baselines, "target (LOSO)")
    for column in columns:
        table.add_column(column, justify="left" if column == "field" else "right")
    theirs = {name: score_all(truth, predictions, LOSO_TARGETS) for name, predictions in baselines.items()}
    for field, target in LOSO_TARGETS.items():
        loso = cv.learned_loso[field]
        mark = " ✓" if loso.f1 >= target else " ✗"
        table.add_row(field, f"{default[field].f1:.3f}", f"{cv.evidence_fit[field].f1:.3f}", f"{cv.learned_fit[field].f1:.3f}",
                      f"[bold]{loso.f1:.3f}[/]{mark} ({loso.tp}/{loso.fp}/{loso.fn})",
                      *(f"{theirs[name][field].f1:.3f}" for name in baselines), f"{target:.2f}")
    table.caption = ("fit: chosen with every page seen; leave-one-shop-out: each shop's pages extracted by a chooser "
                     "trained on the other shops (TP/FP/FN). The evidence weights were hand-set on these pages: fit only.")
    return table


def speed_table(pages: int, ours: float, theirs: float) -> Table:
    table = Table(title="extraction speed (same pages, same process, one core)")
    for column in ("system", "pages", "seconds", "pages/s"):
        table.add_column(column, justify="left" if column == "system" else "right")
    table.add_row("labelops", str(pages), f"{ours:.2f}", f"{pages / ours:.1f}", style="bold")
    table.add_row("extruct (all syntaxes)", str(pages), f"{theirs:.2f}", f"{pages / theirs:.1f}")
    ratio = theirs / ours
    table.caption = f"labelops is {ratio:.1f}× as fast as plain extruct" + (" ✓" if ratio >= SPEED_TARGET else " ✗")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="benchmark folder: html/, ground-truth.json, baselines/")
    parser.add_argument("--repeat", type=int, default=1, help="timing rounds (best is kept)")
    parser.add_argument("--out", type=Path, help="also write labelops' predictions here (JSON)")
    parser.add_argument("--show-errors", action="store_true", help="list every page a field is wrong on")
    args = parser.parse_args(argv)

    console = Console(width=max(110, Console().width))
    truth, baselines, pages = load_benchmark(args.folder)
    predictions, ours, theirs = run(pages, args.repeat)
    if args.out:
        args.out.write_text(json.dumps(predictions, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    table, scores = quality_table(truth, {"labelops": predictions, **baselines})
    console.print(table)
    cv = cross_validate(truth, gather_pages(pages))
    console.print(generalisation_table(truth, cv, scores["labelops"], baselines))
    console.print(speed_table(len(pages), ours, theirs))
    if args.show_errors:
        for field in FIELDS:
            for page, true, predicted in errors(truth, predictions, field):
                console.print(f"{field:12} {page[:12]}  true {true!r}  predicted {predicted!r}", highlight=False)
    met = (all(cv.learned_loso[field].f1 >= target for field, target in LOSO_TARGETS.items())
           and theirs / ours >= SPEED_TARGET)
    console.print("[bold green]all targets met[/]" if met else "[bold red]some targets not met[/]")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
