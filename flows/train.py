"""The training flow: train the models on a snapshot and register them as challengers.

    labelops train [--snapshot ID] [--models text,gan] [--devices N] [--num-nodes N] [--max-steps N] [--gan-steps N]

On several machines (``num_nodes``) every node runs this flow with the same parameters and the
cluster's rendezvous in its environment (MASTER_ADDR, MASTER_PORT, NODE_RANK; torchrun's or Slurm's):
node 0 prepares, fits as rank 0 and registers; the other nodes wait for its work folder and fit.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.chaining import label_trained_snapshot
from labelops.feedback_training import latest_received
from labelops.models import TRAINABLE, ModelName, TextOptions, check_models, training_configs, training_summary
from labelops.settings import get_settings
from labelops.snapshot import snapshot_or_latest
from labelops.storage import DataRoot
from labelops.cluster import check_rendezvous, leads_training, node_rank
from labelops.imagegen.train import GanPrior
from labelops.training import ending_run_on_failure
from tasks.train import fit_model, prepare_training, register_model, wait_for_node_zero

KNOWN_MODELS = tuple(TRAINABLE)


ImageSize = Literal[16, 32, 64, 128]  # powers of two the GAN builds (labelops.imagegen.model); 16 is for tests


# Run as the train deployment, a completed training starts the generate deployment (the gate) on its
# snapshot through the generate deployment's event trigger (deployments/prefect.yaml); `labelops train`
# and the demo are no deployment runs, so they do not (the trigger matches the train deployment).
@flow(name="train", log_prints=True)
def train(
    snapshot_id: str | None = None,
    models: list[ModelName] = ["text", "gan"],  # noqa: B006 - Prefect shows the default in the UI form
    devices: int = 1,
    num_nodes: int = 1,
    max_steps: int | None = None,
    base_model: str | None = None,
    gan_steps: int | None = None,
    image_size: ImageSize | None = None,
    gan_width: int | None = None,
    gan_prior: GanPrior | None = None,
    text_config: TextOptions | None = None,  # a plain dict of the same fields is accepted too
    use_feedback: bool = True,
    fit_timeout_minutes: float = 180,
) -> dict[str, dict]:
    """Train ``models`` on ``snapshot_id`` (default: the latest snapshot) and register each as ``challenger``.

    Args:
        snapshot_id: the snapshot to train on (empty: the latest one)
        models: which models to train: "text" (the product description generator) and/or "gan"
            (the conditional image GAN)
        devices: devices per model (GPUs, or CPU processes) on each node; more than 1 trains with Lightning DDP
        num_nodes: machines training together (Lightning DDP across nodes). Every node runs this flow
            with the same parameters and, in its environment, MASTER_ADDR/MASTER_PORT (node 0's address
            and a free port) and NODE_RANK (0 here registers; 1 … on the others), or torchrun's or Slurm's
            variables; the nodes must share the training work folders (README: "Training on several machines")
        max_steps: text generator: optimizer steps (empty: 400)
        base_model: text generator: fine-tune this pretrained causal LM (hub name or local path)
            instead of training a small GPT-2 from scratch
        gan_steps: GAN: training iterations (empty: 1500)
        image_size: GAN: image side in pixels (empty: 64)
        gan_width: GAN: generator and discriminator width (empty: 16)
        gan_prior: GAN: what the generator starts from: "class_colour_mean" (empty: the mean training
            photo of the class and colour asked, to which it adds what a mean lacks) or "none" (noise only)
        text_config: text generator: any other training settings (model size, batch size, learning
            rate, pretraining steps, …); empty fields keep their defaults
        use_feedback: reviewers' edits (and accepted labels of products without a description) join
            the text generator's training data
        fit_timeout_minutes: stop a model's fit (all its processes) after this many minutes and fail
            the run; a rerun resumes from the fit's last checkpoint (0: no limit)
    """
    logger = get_run_logger()
    check_models(models)
    check_rendezvous(num_nodes)
    leader = leads_training()
    root = DataRoot(get_settings().data)
    snapshot_id = snapshot_or_latest(root, snapshot_id, "train on")
    label_trained_snapshot(snapshot_id)
    configs = training_configs(snapshot_id, models, devices, num_nodes=num_nodes, max_steps=max_steps, base_model=base_model,
                               gan_steps=gan_steps, image_size=image_size, gan_width=gan_width, gan_prior=gan_prior,
                               text_config=text_config,
                               feedback_until=lambda: latest_received(root) if use_feedback else None)
    results: dict[str, dict] = {}
    for model, config in configs.items():
        work = prepare_training(model, config) if leader else wait_for_node_zero(model, config)
        with ending_run_on_failure(work):  # a failed or cancelled fit leaves its MLflow run FAILED or KILLED
            fit_model(model, work, fit_timeout_minutes)
            if leader:
                results[model] = {**register_model(model, work).model_dump(), "snapshot_id": snapshot_id}
    if not leader:
        logger.info("node %d fitted %s on snapshot %s; node 0 registers them", node_rank(), ", ".join(configs),
                    snapshot_id)
        return {}
    create_markdown_artifact(key="training-summary", markdown=training_summary(snapshot_id, results),
                             description="Models trained")
    logger.info("trained %s on snapshot %s", ", ".join(results), snapshot_id)
    return results
