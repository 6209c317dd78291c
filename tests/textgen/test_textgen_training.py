"""Training the text generator: it learns, it registers once, it survives kill -9, DDP works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from labelops import catalog
from labelops.registry import TEXT_MODEL, configure_mlflow
from labelops.settings import get_settings
from labelops.storage import DataRoot
from labelops.textgen.data import collate
from labelops.textgen.generate import GenerationOptions, generate_texts
from labelops.textgen.grounding import complete
from labelops.textgen.metrics import attribute_coverage
from labelops.textgen.model import small_gpt2
from labelops.textgen.train import TextTrainConfig, prepare, train_text
from tests.helpers.listings import demo_listings, publish_demo_snapshot
from tests.helpers.training import kill_after_first_checkpoint, overfit_tiny_generator, versions_of

TINY = dict(vocab_size=600, n_embd=32, n_layer=2, n_head=2, n_positions=384, batch_size=8, max_length=256,
            warmup_steps=2, val_every_steps=5, log_every_steps=1, samples=3)


def test_tiny_model_overfits_eight_products():
    rows = [listing.model_dump() for listing in demo_listings(9)][:8]
    module, tokenizer, encoded, examples = overfit_tiny_generator(rows, slot_tokens=False)
    untrained = small_gpt2(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id, n_embd=64, n_layer=2, n_head=2)
    before = untrained(**collate(encoded, tokenizer.pad_token_id)).loss.item()
    after = module(**collate(encoded, tokenizer.pad_token_id)).loss.item()
    assert after < before / 10
    options = GenerationOptions(max_new_tokens=200, repetition_penalty=1.0)
    generated = generate_texts(module.model, tokenizer, rows, replace(options, complete=False))  # its own text
    exact = sum(g.description == e["description"] for g, e in zip(generated, examples))
    assert exact >= 6, [(g.description, e["description"]) for g, e in zip(generated, examples)][:2]
    assert all(g.tags for g in generated)
    # as labels are written (the default): the model's text, then the facts it leaves out
    labelled = generate_texts(module.model, tokenizer, rows, options)
    assert [g.description for g in labelled] == [complete(g.description, row) for g, row in zip(generated, rows)]
    assert attribute_coverage([g.description for g in labelled], rows) == 1.0


@pytest.fixture
def snapshot(data_root: Path) -> str:
    return publish_demo_snapshot(DataRoot(str(data_root)), 60)


def test_train_registers_a_challenger_that_loads_by_alias_in_a_fresh_process(data_root, snapshot):
    result = train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=12, **TINY))
    assert result.version == "1" and not result.already_registered
    assert {"chrf", "attribute_coverage", "findings_rate", "findings.name", "labels.chrf"} <= set(result.metrics)
    final = Path(result.work_dir) / "final"  # the exemplar index and the fact checker travel with the model
    assert (final / "exemplars.npz").exists() and (final / "exemplars.json").exists()
    assert (final / "factcheck.json").exists() and not (final / "exemplars.pkl").exists()
    configure_mlflow(get_settings())
    # registration and the gate measure a version with one function: the same numbers
    from labelops.evaluation import EvaluationSet, evaluate_versions

    (gate,) = evaluate_versions(TEXT_MODEL, [result.version], EvaluationSet.of_snapshot(DataRoot(str(data_root)), snapshot))
    assert gate.metrics == {k: v for k, v in result.metrics.items() if not k.startswith("labels.")}
    assert gate.label_metrics == {k.removeprefix("labels."): v for k, v in result.metrics.items() if k.startswith("labels.")}
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version_by_alias(TEXT_MODEL, "challenger")
    assert str(version.version) == result.version
    assert version.tags["snapshot_id"] == snapshot and version.tags["git_commit"]
    assert_logged_model_is_documented(version, snapshot, result.run_id)
    # running it again registers nothing new
    assert train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=12, **TINY)).already_registered
    assert len(versions_of(TEXT_MODEL, result.key)) == 1

    script = (
        "import json, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({get_settings().tracking_uri!r})\n"
        "m = mlflow.pyfunc.load_model('models:/product-text-generator@challenger')\n"
        "df = pd.DataFrame([{'title': 'Red cotton T-Shirt', 'brand': 'Seabright', 'attributes': {'color': 'red'}},\n"
        "                   {'title': 'Oak chair', 'category_path': ['Home & Kitchen', 'Chairs'], 'price': '99.00'}])\n"
        "out = m.predict(df, params={'max_new_tokens': 24})\n"
        "print(json.dumps({'columns': list(out.columns), 'rows': out.to_dict('records')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    output = json.loads(done.stdout.strip().splitlines()[-1])
    assert output["columns"] == ["description", "tags", "source"] and len(output["rows"]) == 2
    assert all(isinstance(r["description"], str) and isinstance(r["tags"], list) for r in output["rows"])


def assert_logged_model_is_documented(version, snapshot: str, run_id: str) -> None:
    """Signature, input example, installable requirements, the snapshot as the run's dataset input, a description."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import Model

    from labelops.textgen.pyfunc import INPUT_FIELDS

    folder = Path(mlflow.artifacts.download_artifacts(version.source))
    model = Model.load(folder / "MLmodel")
    assert model.signature.inputs.input_names() == list(INPUT_FIELDS)
    assert model.signature.outputs.input_names() == ["description", "tags", "source"]
    example = model.load_input_example(folder)
    assert list(example.columns) == list(INPUT_FIELDS) and len(example) >= 1 and example["title"].notna().all()
    requirements = (folder / "requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in requirements) and any(r.startswith("scipy==") for r in requirements)
    assert all("+" not in r for r in requirements), requirements  # no local build label (torch's +cpu)
    run = MlflowClient().get_run(run_id)
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.digest == snapshot and snapshot in dataset.dataset.source
    assert {t.key: t.value for t in dataset.tags}["mlflow.data.context"] == "training"
    assert snapshot in version.description and "chrf" in version.description
    assert "text generator" in MlflowClient().get_registered_model(TEXT_MODEL).description


def test_kill_minus_nine_then_same_command_resumes_into_the_same_run(data_root, snapshot):
    config = TextTrainConfig(snapshot_id=snapshot, max_steps=120, checkpoint_every_steps=5, **TINY)
    work = prepare(config)
    run_id = json.loads((work / "prepared.json").read_text())["run_id"]
    last = kill_after_first_checkpoint("labelops.textgen.train", work)
    assert last.exists() and not (work / "trained.json").exists()

    result = train_text(config)  # the same command again
    trained = json.loads((work / "trained.json").read_text())
    assert trained["resumed_from_step"] >= 5
    assert trained["global_step"] == 120
    assert result.run_id == run_id
    assert len(versions_of(TEXT_MODEL, config.key())) == 1


def test_ddp_with_two_cpu_processes_registers_one_version(data_root, snapshot):
    config = TextTrainConfig(snapshot_id=snapshot, max_steps=6, devices=2, accelerator="cpu", **TINY)
    result = train_text(config)
    trained = json.loads((catalog.training_dir("text", config.key(), get_settings()) / "trained.json").read_text())
    assert trained["world_size"] == 2 and trained["global_step"] == 6
    assert len(versions_of(TEXT_MODEL, config.key())) == 1
    from mlflow import MlflowClient

    assert MlflowClient().get_run(result.run_id).data.params["devices"] == "2"


def save_tiny_pretrained(path: Path) -> int:
    """A stand-in for a hub model: a tiny GPT-2 and a BPE tokenizer that know none of our markers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator([r.description for r in demo_listings(30)], trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>")
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=384, n_embd=32, n_layer=2, n_head=2)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return len(tokenizer)


def test_base_model_from_a_local_folder_is_fine_tuned(data_root, snapshot, tmp_path):
    base = tmp_path / "tiny-pretrained"
    original_vocab = save_tiny_pretrained(base)
    config = TextTrainConfig(snapshot_id=snapshot, base_model=str(base), max_steps=4, **TINY)
    result = train_text(config)
    from transformers import AutoConfig

    final = AutoConfig.from_pretrained(Path(result.work_dir) / "final")
    from labelops.textgen.tokenizer import load_tokenizer, slot_token_ids

    slots = slot_token_ids(load_tokenizer(Path(result.work_dir) / "final"))
    assert "brand" in slots and "color" in slots  # each slot one token of its own
    # <pad>, <|sep|>, <|tags|> and the slots were added and the embeddings resized
    assert final.vocab_size == original_vocab + 3 + len(slots)
    assert len(versions_of(TEXT_MODEL, config.key())) == 1


def test_pretraining_on_the_shops_text_comes_first_and_never_sees_held_out_descriptions(data_root, snapshot):
    from labelops.snapshot import read_snapshot
    from labelops.snapshot import split_of
    from labelops.textgen.data import pretraining_examples

    rows = read_snapshot(DataRoot(str(data_root)), snapshot).to_pylist()
    documents = pretraining_examples(rows)
    assert len(documents) == len(rows)
    for row, document in zip(rows, documents):
        assert row["title"] in document
        held_out = split_of(row["listing_id"]) != "train"
        assert (row["description"][:40] in document) != held_out  # a held-out description is never learnt
    config = TextTrainConfig(snapshot_id=snapshot, max_steps=3, pretrain_steps=4, **TINY)
    result = train_text(config)
    work = Path(result.work_dir)
    assert (work / "pretrained" / "config.json").exists() and (work / "final" / "config.json").exists()
    assert len(versions_of(TEXT_MODEL, config.key())) == 1
