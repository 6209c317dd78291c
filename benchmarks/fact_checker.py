"""How often the fact checker flags text people wrote, and how much of what is wrong it catches.

    LABELOPS_SHARED_DATA=../shared/data python benchmarks/fact_checker.py [--datasets demo flipkart books advertisegen]

1. **People's text** (false alarms): each data set's shop descriptions (cleaned as training targets
   are), split as the pipeline splits them; the checker is built from the training split and run on
   the held-out split (val + test), which it never saw. Its thresholds were chosen by 2-fold
   cross-validation inside the training splits. Flipkart's copy states a price other than the
   listing's in about one description in ten (written at another time): those are real
   contradictions and are shown apart.
2. **Labels main wrote before the checker** (``tests/fixtures/demo-labels-307b3dc.json.gz``, text
   model versions 1 and 2 of `make demo` at 307b3dc): the share of labels naming a product line
   that is not the product's (counted independently, from the demo catalogue's line names) that the
   checker flags with a ``name`` finding.
3. **Injected errors** (recall per kind): held-out demo descriptions each corrupted one way (another
   line's name, a value moved under another attribute, a changed number, an emptied slot, a
   repeated sentence, another brand), checked like a label.

Prints three tables.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "demo-labels-307b3dc.json.gz"


def own_text(name: str) -> dict:
    from labelops.factcheck import FINDING_KINDS, FactChecker, finding_rates
    from labelops.snapshot import split_of
    from labelops.textgen.serialize import clean_description
    from tests.helpers.real_data import dataset_rows

    rows = [{**r, "description": clean_description(r["description"])} for r in dataset_rows(name)]
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    heldout = [r for r in rows if split_of(r["listing_id"]) != "train" and r["description"]]
    checker = FactChecker.from_listings(train)
    findings = [checker.check(r["description"], r) for r in heldout]
    price = [[f for f in found if f.detail.startswith("its price")] for found in findings]
    other = [[f for f in found if not f.detail.startswith("its price")] for found in findings]
    rates = finding_rates(findings)
    return {"dataset": name, "texts": len(heldout), "all": rates["findings_rate"],
            "stale price": finding_rates(price)["findings_rate"], "other": finding_rates(other)["findings_rate"],
            "kinds": {k: rates[f"findings.{k}"] for k in FINDING_KINDS if rates[f"findings.{k}"]},
            "examples": [str(f[0]) for f in other if f][:5]}


def fixture_labels() -> list[dict]:
    from labelops.factcheck import FactChecker, finding_rates
    from labelops.shop.catalog import _MODELS
    from labelops.snapshot import split_of

    data = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    listings = {r["listing_id"]: r for r in data["listings"]}
    checker = FactChecker.from_listings([r for r in listings.values() if split_of(r["listing_id"]) == "train"])
    results = []
    for version in sorted({label["text_model_version"] for label in data["labels"]}):
        labels = [label for label in data["labels"] if label["text_model_version"] == version]
        wrong = caught = 0
        findings = []
        for label in labels:
            listing = listings[label["listing_id"]]
            found = checker.check(label["description"], listing)
            findings.append(found)
            own = {m for m in _MODELS if re.search(rf"\b{m}\b", listing["title"])}
            named = {m for m in _MODELS if re.search(rf"\b{m}\b", label["description"])}
            if named - own:
                wrong += 1
                caught += any(f.kind == "name" for f in found)
        rates = finding_rates(findings)
        results.append({"version": version, "labels": len(labels), "wrong name": wrong, "caught": caught,
                        "findings rate": rates["findings_rate"],
                        "kinds": {k.removeprefix("findings."): v for k, v in rates.items() if k != "findings_rate" and v}})
    return results


def injected(seed: int = 0) -> dict[str, tuple[int, int]]:
    """Recall per kind on held-out demo descriptions with one error injected each."""
    from labelops.factcheck import FactChecker
    from labelops.shop.catalog import _MODELS
    from labelops.snapshot import split_of
    from tests.helpers.real_data import demo_rows

    rng = random.Random(seed)
    rows = demo_rows()
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    heldout = [r for r in rows if split_of(r["listing_id"]) != "train"]
    checker = FactChecker.from_listings(train)
    brands = sorted({r["brand"] for r in train if r.get("brand")})
    counts: dict[str, list[int]] = {}

    def attempt(kind: str, text: str | None, row: dict) -> None:
        if text is None or text == row["description"]:
            return
        hit = any(f.kind == kind or (kind == "wrong_attribute" and f.kind == "number") for f in checker.check(text, row))
        counts.setdefault(kind, [0, 0])
        counts[kind][0] += hit
        counts[kind][1] += 1

    for row in heldout:
        text, attributes = row["description"], row["attributes"]
        line = next((m for m in _MODELS if re.search(rf"\b{m}\b", row["title"])), None)
        if line:
            attempt("name", re.sub(rf"\b{line}\b", rng.choice([m for m in _MODELS if m != line]), text), row)
        other_brand = rng.choice([b for b in brands if b != row.get("brand")])
        attempt("brand", text.replace(row["brand"], other_brand) if row.get("brand") in text else None, row)
        keys = [k for k, v in attributes.items() if re.search(r"\d", v)]
        if len(keys) >= 2:
            a, b = rng.sample(keys, 2)
            attempt("wrong_attribute", f"{text} Its {a} is {attributes[b]}.", row)
        numbered = [v for v in attributes.values() if re.match(r"\d+ ", v)]
        if numbered:
            value = rng.choice(numbered)
            number = int(value.split()[0])
            attempt("number", text.replace(value, f"{number + rng.choice([2, 3, 5, 7])} {value.split(' ', 1)[1]}"), row)
        colour = attributes.get("color")
        if colour and colour in text:
            attempt("empty_slot", text.replace(f" {colour}", " ", 1).replace(" ,", " ,"), row)
        sentences = re.split(r"(?<=[.!?])\s+", text)
        if len(sentences) > 1:
            attempt("repetition", text + " " + sentences[1], row)
    return {kind: (hit, total) for kind, (hit, total) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "flipkart", "books", "advertisegen"])
    args = parser.parse_args()
    if any(d != "demo" for d in args.datasets) and not os.environ.get("LABELOPS_SHARED_DATA"):
        raise SystemExit("LABELOPS_SHARED_DATA must point at the shared data for real datasets")

    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table(title="findings on text people wrote (held-out split; checker built from the training split)")
    for column in ("dataset", "texts", "flagged", "stale price", "anything else", "by kind", "first of the rest"):
        table.add_column(column, justify="left" if column in ("dataset", "by kind", "first of the rest") else "right")
    for name in args.datasets:
        r = own_text(name)
        table.add_row(name, str(r["texts"]), f"{r['all']:.3f}", f"{r['stale price']:.3f}", f"{r['other']:.3f}",
                      ", ".join(f"{k} {v:.3f}" for k, v in r["kinds"].items()), "; ".join(r["examples"][:2])[:120])
    console.print(table)

    table = Table(title="labels `make demo` wrote on main at 307b3dc (before the checker)")
    for column in ("text model", "labels", "naming another line", "flagged as name", "recall", "findings rate", "by kind"):
        table.add_column(column, justify="right" if column != "by kind" else "left")
    for r in fixture_labels():
        table.add_row(f"v{r['version']}", str(r["labels"]), str(r["wrong name"]), str(r["caught"]),
                      f"{r['caught'] / max(r['wrong name'], 1):.3f}", f"{r['findings rate']:.3f}",
                      ", ".join(f"{k} {v:.3f}" for k, v in r["kinds"].items()))
    console.print(table)

    table = Table(title="one error injected into each held-out demo description")
    for column in ("kind", "texts", "caught", "recall"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, (hit, total) in injected().items():
        table.add_row(kind, str(total), str(hit), f"{hit / max(total, 1):.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
