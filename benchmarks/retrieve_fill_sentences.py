"""Retrieve-and-fill on each data set's held-out rows, before (every sentence of the neighbour's
text) and after (only its sentences that state one of its facts), side by side:

    LABELOPS_SHARED_DATA=../shared/data python benchmarks/retrieve_fill_sentences.py demo advertisegen flipkart books
"""
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.text_quality import make_snapshot
from labelops.settings import get_settings
from labelops.storage import DataRoot
import labelops.textgen.serialize as serialize

keep = serialize.slotted_sentences
for name in sys.argv[1:]:
    data = tempfile.mkdtemp(prefix=f"rf-{name}-")
    os.environ["LABELOPS_DATA"] = data
    os.environ["LABELOPS_TEXT_IMAGE_STEPS"] = "1"  # the agreement metric is not what is measured here
    get_settings.cache_clear()
    root = DataRoot(data)
    snapshot = make_snapshot(name, root)
    from labelops.evaluation import EvaluationSet, text_baseline_scores
    from labelops.significance import paired_bootstrap
    evaluation = EvaluationSet.of_snapshot(root, snapshot)
    out = {}
    for label, fn in (("before", lambda t: t), ("after", keep)):
        serialize.slotted_sentences = fn
        out[label] = text_baseline_scores(evaluation, ("retrieve_fill",), samples=len(evaluation.rows))["retrieve_fill"]
    serialize.slotted_sentences = keep
    gain = paired_bootstrap(out["after"].row_metric("chrf"), out["before"].row_metric("chrf"), len(evaluation.rows))
    for label, s in out.items():
        m = s.metrics
        words = sum(len(x["text"].split()) for x in s.samples) / max(len(s.samples), 1)
        print(f"{name} {label}: n {int(m['n'])} chrF {m['chrf']:.2f} findings {m['findings_rate']:.3f} "
              f"coverage {m['attribute_coverage']:.3f} words/text {words:.1f}", flush=True)
    print(f"{name} chrF after − before: {gain}", flush=True)
