"""Training on several machines: two "nodes" of one process each on 127.0.0.1 (gloo), each an
independent process group started the way a cluster starts them (the same command, its own
NODE_RANK), sharing the data root. Node 0 alone prepares, logs and registers; a lost node fails
the other promptly, and the same command on both resumes from the last checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from labelops import catalog
from labelops.cluster import check_rendezvous, fit_environment, leads_training, node_rank, process_rank
from labelops.imagegen.train import GanTrainConfig
from labelops.registry import IMAGE_MODEL, configure_mlflow
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tests.helpers.listings import publish_demo_snapshot
from tests.helpers.training import versions_of

PROJECT = Path(__file__).resolve().parents[1]
TINY = dict(image_size=16, z_dim=16, g_width=8, d_width=8, batch_size=16, log_every_steps=2, sample_every_steps=4,
            grid_columns=4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_env(data_root: Path, rank: int, port: int, **extra: str) -> dict[str, str]:
    """One node's environment, as a cluster sets it: the rendezvous and its own rank; CPU only."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("PREFECT_HOME", "PREFECT_API_URL", "RANK", "LOCAL_RANK", "GROUP_RANK")}
    return {**env, "LABELOPS_DATA": str(data_root), "PYTHONPATH": str(PROJECT), "CUDA_VISIBLE_DEVICES": "",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "NODE_RANK": str(rank), "WORLD_SIZE": "2",
            "LABELOPS_DDP_TIMEOUT_MINUTES": "2", "LABELOPS_NODE_WAIT_MINUTES": "3", **extra}


def start_node(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A node: its own session (process group), as a separate machine or container would be."""
    return subprocess.Popen(command, env=env, cwd=PROJECT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def finish(nodes: list[subprocess.Popen], logs: list[Path], timeout: float = 400) -> list[int]:
    deadline = time.monotonic() + timeout
    try:
        return [node.wait(timeout=max(1.0, deadline - time.monotonic())) for node in nodes]
    except subprocess.TimeoutExpired:
        for node in nodes:
            lose_node(node)
        pytest.fail("a node did not finish:\n" + "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in logs))


def lose_node(node: subprocess.Popen) -> None:
    """The machine is gone: SIGKILL to every process of the node (the command, its fit, their children)."""
    try:
        processes = [psutil.Process(node.pid), *psutil.Process(node.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    node.wait()


def gan_runs(client) -> list:  # noqa: ANN001
    experiment = client.get_experiment_by_name(IMAGE_MODEL)
    return client.search_runs([experiment.experiment_id]) if experiment else []


@pytest.fixture
def snapshot(data_root: Path) -> str:
    return publish_demo_snapshot(DataRoot(str(data_root)), 60, images=True)


def test_node_rank_and_the_leader_from_each_clusters_environment():
    assert node_rank({}) == 0 and leads_training({})
    assert node_rank({"NODE_RANK": "1"}) == 1 and not leads_training({"NODE_RANK": "1"})
    torchrun = {"GROUP_RANK": "1", "RANK": "2", "LOCAL_RANK": "0", "TORCHELASTIC_RUN_ID": "x"}
    assert node_rank(torchrun) == 1 and not leads_training(torchrun)
    assert leads_training({**torchrun, "GROUP_RANK": "0", "RANK": "0"})
    assert not leads_training({"GROUP_RANK": "0", "RANK": "1", "TORCHELASTIC_RUN_ID": "x"})  # node 0's 2nd worker
    slurm = {"SLURM_NODEID": "0", "SLURM_PROCID": "1", "SLURM_NTASKS": "4"}
    assert node_rank(slurm) == 0 and process_rank(slurm) == 1 and not leads_training(slurm)  # node 0's 2nd task
    kubeflow = {"MASTER_ADDR": "trainer-master-0", "MASTER_PORT": "23456", "WORLD_SIZE": "2", "RANK": "1"}
    assert node_rank(kubeflow) == 1 and not leads_training(kubeflow)
    assert fit_environment(kubeflow)["NODE_RANK"] == "1"  # Lightning reads NODE_RANK, not a pod's RANK
    assert node_rank({"JOB_COMPLETION_INDEX": "3"}) == 3
    assert "NODE_RANK" not in fit_environment(torchrun) and "NODE_RANK" not in fit_environment(slurm)
    assert fit_environment({"NODE_RANK": "0", "RANK": "5"})["NODE_RANK"] == "0"  # what the cluster set stays

    check_rendezvous(1, {})
    check_rendezvous(2, {"MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"})
    check_rendezvous(2, {"SLURM_NTASKS": "2"})
    with pytest.raises(ValueError, match="MASTER_PORT"):
        check_rendezvous(2, {"MASTER_ADDR": "10.0.0.1"})


def test_one_node_keeps_its_training_key_and_more_nodes_make_a_new_one():
    one = GanTrainConfig(snapshot_id="s")
    dumped = one.model_dump_json(exclude={"num_nodes", "r1_gamma", "r1_every"})
    import hashlib

    assert one.key() == hashlib.sha256(dumped.encode()).hexdigest()[:12]  # the key before num_nodes existed
    assert GanTrainConfig(snapshot_id="s", num_nodes=2).key() != one.key()


@pytest.mark.slow  # about 150 s on 2 shared CPU cores: each node starts its own Prefect and fit
def test_two_nodes_run_the_same_train_command_and_node_zero_alone_registers(data_root, snapshot, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "train", "--models", "gan", "--snapshot", snapshot,
               "--num-nodes", "2", "--devices", "1", "--gan-steps", "6", "--image-size", "32", "--gan-width", "8"]
    logs = [tmp_path / f"node{rank}.log" for rank in (0, 1)]
    started = time.monotonic()
    nodes = [start_node(command, node_env(data_root, rank, port), logs[rank]) for rank in (1, 0)][::-1]
    codes = finish(nodes, logs)
    seconds = time.monotonic() - started
    assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
    print(f"two nodes, CLI: {seconds:.0f} s")

    config = GanTrainConfig(snapshot_id=snapshot, max_steps=6, image_size=32, g_width=8, d_width=8, num_nodes=2)
    work = catalog.training_dir("gan", config.key(), get_settings())
    trained = json.loads((work / "trained.json").read_text())
    assert trained["world_size"] == 2 and trained["global_step"] == 6
    configure_mlflow(get_settings())
    from mlflow import MlflowClient

    client = MlflowClient()
    (run,) = gan_runs(client)  # node 1 opened no run of its own
    assert run.data.params["num_nodes"] == "2" and run.info.status == "FINISHED"
    assert len(versions_of(IMAGE_MODEL, config.key())) == 1
    assert "version 1" in logs[0].read_text() and "node 0 registers" in logs[1].read_text()
    assert (data_root / catalog.PREFECT_HOME / "rank-1").is_dir()  # node 1's embedded Prefect kept its own database


@pytest.mark.slow  # about 3 minutes on 2 shared CPU cores: two rounds of two nodes, then registration
def test_a_lost_node_fails_the_other_promptly_and_both_resume_from_the_checkpoint(data_root, snapshot, tmp_path):
    config = GanTrainConfig(snapshot_id=snapshot, max_steps=60, checkpoint_every_steps=5, num_nodes=2,
                            accelerator="cpu", **{**TINY, "sample_every_steps": 50, "log_every_steps": 5})
    script = ("import sys\nfrom labelops.imagegen.train import GanTrainConfig, train_gan\n"
              "result = train_gan(GanTrainConfig.model_validate_json(sys.argv[1]))\n"
              "print('registered version', result.version if result else None)\n")
    command = [sys.executable, "-c", script, config.model_dump_json()]
    work = catalog.training_dir("gan", config.key(), get_settings())
    port = free_port()
    logs = [tmp_path / f"node{rank}-first.log" for rank in (0, 1)]
    nodes = [start_node(command, node_env(data_root, rank, port), logs[rank]) for rank in (0, 1)]
    last = work / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and time.monotonic() < deadline and all(n.poll() is None for n in nodes):
        time.sleep(0.2)
    assert last.exists(), "\n".join(log.read_text()[-3000:] for log in logs)
    time.sleep(0.5)
    lost = time.monotonic()
    lose_node(nodes[1])
    assert finish(nodes[:1], logs[:1], timeout=90)[0] != 0
    failed_after = time.monotonic() - lost
    print(f"node 0 failed {failed_after:.1f} s after node 1 was lost")
    assert failed_after < 60  # gloo notices the lost peer; nothing waits for the process group's timeout
    assert not (work / "trained.json").exists()
    assert "resumes from it" in logs[0].read_text()  # the resume hint
    configure_mlflow(get_settings())
    from mlflow import MlflowClient

    client = MlflowClient()
    (run,) = gan_runs(client)
    assert run.info.status == "FAILED"

    port = free_port()  # the cluster restarts both with the same command
    logs = [tmp_path / f"node{rank}-again.log" for rank in (0, 1)]
    nodes = [start_node(command, node_env(data_root, rank, port), logs[rank]) for rank in (0, 1)]
    assert finish(nodes, logs) == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
    trained = json.loads((work / "trained.json").read_text())
    assert trained["resumed_from_step"] > 0 and trained["global_step"] == 60 and trained["world_size"] == 2
    (again,) = gan_runs(client)
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert len(versions_of(IMAGE_MODEL, config.key())) == 1
    assert "registered version 1" in logs[0].read_text() and "registered version None" in logs[1].read_text()
    losses = client.get_metric_history(run.info.run_id, "train/d_loss")
    assert max(m.step for m in losses) >= 55  # the resumed fit logged into the same run


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun is not installed beside this Python")
def test_torchrun_starts_each_node_of_the_fit(data_root, snapshot, tmp_path):
    from labelops.imagegen.train import prepare, register

    config = GanTrainConfig(snapshot_id=snapshot, max_steps=6, num_nodes=2, accelerator="cpu", **TINY)
    work = prepare(config)  # node 0's first step; torchrun then starts the fit on each node
    torchrun = str(Path(sys.executable).parent / "torchrun")
    port = free_port()
    logs = [tmp_path / f"torchrun{rank}.log" for rank in (0, 1)]
    env = {name: value for name, value in os.environ.items() if name not in ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK")}
    env.update(PYTHONPATH=str(PROJECT), CUDA_VISIBLE_DEVICES="", LABELOPS_DDP_TIMEOUT_MINUTES="2")
    nodes = [start_node([torchrun, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
                         "--master-addr", "127.0.0.1", "--master-port", str(port),
                         "-m", "labelops.imagegen.train", str(work)], env, logs[rank]) for rank in (0, 1)]
    assert finish(nodes, logs) == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
    trained = json.loads((work / "trained.json").read_text())
    assert trained["world_size"] == 2 and trained["global_step"] == 6
    assert register(work).version == "1"
    configure_mlflow(get_settings())
    from mlflow import MlflowClient

    assert len(gan_runs(MlflowClient())) == 1
