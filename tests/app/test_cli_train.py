"""`labelops train` picks the models and passes the GAN options to the flow."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import app.cli as cli
from app.cli import app


class _Done:
    def is_failed(self) -> bool:
        return False

    def result(self) -> dict:
        return {}


@pytest.mark.parametrize("arguments, models", [
    (["--models", "gan"], ["gan"]),
    (["--models", "text,gan"], ["text", "gan"]),
    (["-m", "text", "-m", "gan"], ["text", "gan"]),
    ([], ["text", "gan"]),
])
def test_train_command_passes_the_chosen_models(monkeypatch, data_root, arguments, models):
    import flows.train
    from labelops.storage import DataRoot
    from tests.helpers.listings import publish_demo_snapshot

    publish_demo_snapshot(DataRoot(str(data_root)), 3)  # the command checks there is one before it starts Prefect
    calls = []
    monkeypatch.setattr(flows.train, "train", lambda **kwargs: calls.append(kwargs) or _Done())
    monkeypatch.setattr(cli, "_prepare_runtime", lambda: None)
    result = CliRunner().invoke(app, ["train", *arguments, "--gan-steps", "7", "--image-size", "32"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["models"] == models and call["gan_steps"] == 7 and call["image_size"] == 32


def test_train_command_passes_the_number_of_nodes(monkeypatch, data_root):
    import flows.train
    from labelops.storage import DataRoot
    from tests.helpers.listings import publish_demo_snapshot

    publish_demo_snapshot(DataRoot(str(data_root)), 3)
    calls = []
    monkeypatch.setattr(flows.train, "train", lambda **kwargs: calls.append(kwargs) or _Done())
    monkeypatch.setattr(cli, "_prepare_runtime", lambda: None)
    result = CliRunner().invoke(app, ["train", "--models", "gan", "--num-nodes", "2", "--devices", "4"])
    assert result.exit_code == 0, result.output
    assert "node 0 registers" in result.output  # a node that registered nothing says who does
    (call,) = calls
    assert call["num_nodes"] == 2 and call["devices"] == 4
    assert CliRunner().invoke(app, ["train", "--num-nodes", "0"]).exit_code != 0


def test_train_command_passes_the_gan_prior_and_refuses_an_unknown_one(monkeypatch, data_root):
    import flows.train
    from labelops.models import training_configs
    from labelops.storage import DataRoot
    from tests.helpers.listings import publish_demo_snapshot

    publish_demo_snapshot(DataRoot(str(data_root)), 3)
    calls = []
    monkeypatch.setattr(flows.train, "train", lambda **kwargs: calls.append(kwargs) or _Done())
    monkeypatch.setattr(cli, "_prepare_runtime", lambda: None)
    result = CliRunner().invoke(app, ["train", "--models", "gan", "--gan-prior", "none"])
    assert result.exit_code == 0, result.output
    assert calls[0]["gan_prior"] == "none"
    assert training_configs("snap", ["gan"], gan_prior="none")["gan"].prior_side == 0  # the networks get no prior
    assert training_configs("snap", ["gan"])["gan"].prior == "class_colour_mean"
    refused = CliRunner().invoke(app, ["train", "--models", "gan", "--gan-prior", "median"])
    assert refused.exit_code != 0 and "class_colour_mean" in refused.output and len(calls) == 1
