"""The demo: the whole pipeline on the built-in demo shop.

    labelops demo            # or: make demo

Builds the synthetic shop under the data root, serves it on 127.0.0.1, ingests it, trains the
text generator and the conditional GAN on the snapshot (each registered in MLflow as
``challenger``), then runs the generation flow: the gate decides whether each challenger becomes
``champion``, and every product is labelled with the champions (labels table and HTML report).
Last, a simulated reviewer judges every label (corrects or rejects every label with findings,
rejects the weakest of the rest up to 40 % and rewrites up to 30 in all, never with findings), and the
feedback flow collects the verdicts, decides to retrain, trains the text generator again with the
edits, and gates the new challenger.
The GAN trains small for the demo (64 px, width 8, ``gan_steps`` iterations) to stay within a
few minutes on two CPU cores.
"""

from __future__ import annotations

from prefect import flow

from flows.feedback import feedback
from flows.generate import generate
from flows.ingest import ingest
from flows.train import train
from labelops import catalog
from labelops.crawl import new_crawl_id
from labelops.models import ModelName
from labelops.settings import get_settings
from labelops.shop import serve_folder
from tasks.feedback import simulate_reviewer
from tasks.shop import build_demo_shop

# The demo's GAN: small enough to train, evaluate and register in about four minutes on two CPU cores
# (1,600 iterations: at 1,000 the gate found its KID not yet significantly better than the class-and-colour means',
# and at 1,300 a second snapshot of the demo catalogue fell 0.02 under the recognisability floor).
DEMO_IMAGE_SIZE = 64
DEMO_GAN_WIDTH = 8
DEMO_GAN_STEPS = 1600


@flow(name="demo", log_prints=True)
def demo(products: int = 500, seed: int = 0, port: int = 8765, crawl_id: str | None = None,
         train_steps: int = 300, gan_steps: int = DEMO_GAN_STEPS, models: list[ModelName] = ["text", "gan"],  # noqa: B006
         review: bool = True) -> dict:
    """Build the demo shop, serve it on 127.0.0.1:``port``, ingest it, train on it, gate and label;
    returns ids, URL, models and the label run.

    The port is fixed by default so that listing URLs, and with them snapshot ids, are the same
    from one demo run to the next.

    Args:
        products: how many products the demo shop has
        seed: the demo shop's random seed (the same seed builds the same shop)
        port: the port on 127.0.0.1 the demo shop is served on while it is crawled
        crawl_id: name of the raw crawl folder (empty: a new time-ordered id)
        train_steps: text generator's optimizer steps (also for the retraining after feedback)
        gan_steps: GAN training iterations
        models: which models to train: "text" and/or "gan"
        review: let a simulated reviewer judge the labels, then collect the feedback and retrain
    """
    shop_dir = build_demo_shop(catalog.demo_shop_dir(get_settings(), products, seed), products, seed)
    crawl_id = crawl_id or new_crawl_id()
    with serve_folder(shop_dir, port=port) as base_url:
        print(f"demo shop {shop_dir} served at {base_url}")
        snapshot_id = ingest(start_urls=[f"{base_url}/"], sitemap_urls=[f"{base_url}/sitemap.xml"], crawl_id=crawl_id)
    trained = train(snapshot_id=snapshot_id, models=models, max_steps=train_steps, gan_steps=gan_steps,
                    image_size=DEMO_IMAGE_SIZE, gan_width=DEMO_GAN_WIDTH)
    labels = generate(snapshot_id=snapshot_id)
    reviewed = None
    if review:
        print(f"simulated reviewer's verdicts: {simulate_reviewer(labels.run_id, snapshot_id)}")
        reviewed = feedback(max_steps=train_steps)
    return {"snapshot_id": snapshot_id, "crawl_id": crawl_id, "shop_dir": str(shop_dir), "shop_url": base_url,
            "models": trained, "labels": labels, "feedback": reviewed}
