"""A multi-node training's place in the cluster, read from the environment the cluster set.

Lightning finds the rendezvous itself (torchrun's variables, Slurm's, or MASTER_ADDR, MASTER_PORT and
NODE_RANK); these functions answer what labelops decides on its own: which node this is, whether this
process prepares and registers (:func:`leads_training`), and what the fit process inherits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

_TORCHRUN = ("GROUP_RANK", "TORCHELASTIC_RUN_ID")  # set by torchrun (torch.distributed.run) for its workers


def node_rank(environ: Mapping[str, str] = os.environ) -> int:
    """This machine's rank among the training's nodes, as the cluster set it: ``NODE_RANK``
    (Lightning's own, e.g. set from a Kubernetes indexed Job's completion index), ``GROUP_RANK``
    (torchrun), ``SLURM_NODEID`` (srun), ``RANK`` (a Kubeflow PyTorchJob: one process per pod),
    ``JOB_COMPLETION_INDEX`` (a Kubernetes indexed Job); 0 when none is set."""
    for name in ("NODE_RANK", "GROUP_RANK", "SLURM_NODEID", "RANK", "JOB_COMPLETION_INDEX"):
        if environ.get(name, "").strip():
            return int(environ[name])
    return 0


def process_rank(environ: Mapping[str, str] = os.environ) -> int:
    """This process's rank among the training's commands: the worker's global rank where a launcher
    starts one process per rank (torchrun's ``RANK``, srun's ``SLURM_PROCID``), else the node's
    (:func:`node_rank`: one command per node, and Lightning starts the node's other ranks itself)."""
    if any(name in environ for name in _TORCHRUN):
        return int(environ.get("RANK", 0))
    if "SLURM_PROCID" in environ and "SLURM_NTASKS" in environ:
        return int(environ["SLURM_PROCID"])
    return node_rank(environ)


def leads_training(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process starts the training's rank 0, which alone prepares, logs and registers."""
    return process_rank(environ) == 0


def check_rendezvous(num_nodes: int, environ: Mapping[str, str] = os.environ) -> None:
    """Raise ``ValueError`` when several nodes are asked for and the environment does not say where
    they meet (without it each node would pick a port of its own and wait for the others in vain)."""
    if num_nodes <= 1 or "SLURM_NTASKS" in environ:  # Slurm: Lightning takes the first node of the job's list
        return
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not environ.get(name)]
    if missing:
        raise ValueError(
            f"training on {num_nodes} nodes needs {' and '.join(missing)} (node 0's address and a free port on it) and "
            "NODE_RANK (0 on the node that prepares and registers, 1 … on the others) in every node's environment, "
            "as torchrun, a Kubeflow PyTorchJob or Slurm set them")


def fit_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The fit process's environment: this one's, which Lightning reads the rendezvous from; where
    only a rank Lightning does not read tells the node (a Kubeflow PyTorchJob's ``RANK``, an indexed
    Job's ``JOB_COMPLETION_INDEX``), it is passed on as ``NODE_RANK``. Nothing the cluster set is replaced."""
    env = {**environ, "PYTHONUNBUFFERED": "1"}
    lightning_reads = ("NODE_RANK", "GROUP_RANK", "SLURM_NTASKS", *_TORCHRUN)
    if not any(name in env for name in lightning_reads) and ("RANK" in env or "JOB_COMPLETION_INDEX" in env):
        env["NODE_RANK"] = str(node_rank(env))
    return env
