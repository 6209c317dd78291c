"""Training throughput of the conditional GAN: the Lightning module vs a plain PyTorch loop.

    python benchmarks/gan_training.py [--steps 60] [--image-size 32] [--width 16] [--arch dcgan|fastgan] [--device cpu|cuda]

Same model, same batches of demo-shop photos in the same order, same optimizers and the same
step code (GanModule.adversarial_step: one discriminator and one generator update, then the
EMA); the plain loop calls ``loss.backward()`` where Lightning calls ``manual_backward``. Each is
timed from its first batch to its last (Lightning's one-off set-up is left out), best of
``--repeats`` alternating runs; prints images/s of both and Lightning's overhead, by wall time and
by the process's CPU time (use ``--threads 1`` on a shared machine: then CPU time is the work done).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loop_timer import LoopTimer  # noqa: E402


def batches(n_products: int, image_size: int, batch_size: int) -> tuple[list, int]:
    from labelops.imagegen.data import build_image_set
    from labelops.storage import DataRoot
    from tests.helpers.listings import demo_listings

    root = DataRoot(tempfile.mkdtemp(prefix="labelops-gan-speed-"))
    rows = [listing.model_dump() for listing in demo_listings(n_products, images_root=root)]
    image_set = build_image_set(rows, root, image_size)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(image_set.labels), generator=generator)
    data = [(image_set.pixels[order[i:i + batch_size]], image_set.labels[order[i:i + batch_size]])
            for i in range(0, len(order) - batch_size + 1, batch_size)]
    return data, len(image_set.classes)


def fresh_module(num_classes: int, args: argparse.Namespace):  # noqa: ANN201
    from labelops.imagegen.model import GanModule

    torch.manual_seed(0)
    return GanModule(num_classes, image_size=args.image_size, g_width=args.width, d_width=args.width, log_every=10**9,
                     arch=args.arch)


def run_lightning(data: list, num_classes: int, args: argparse.Namespace) -> tuple[float, float]:
    import lightning as L

    module = fresh_module(num_classes, args)
    timer = LoopTimer()
    precision = "bf16-mixed" if args.device == "cuda" else "32-true"
    trainer = L.Trainer(accelerator=args.device, devices=1, max_steps=2 * args.steps, precision=precision, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, callbacks=[timer.callback])
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=None, shuffle=False))
    return timer.ended - timer.started, timer.cpu_ended - timer.cpu_started


def run_plain(data: list, num_classes: int, args: argparse.Namespace, steps: int | None = None) -> tuple[float, float]:
    from labelops.imagegen.data import normalise

    steps = steps or args.steps
    module = fresh_module(num_classes, args).to(args.device)
    opt_g, opt_d = module.configure_optimizers()
    module.train()
    cuda = args.device == "cuda"
    started, cpu_started = time.perf_counter(), time.process_time()
    step = 0
    while step < steps:
        for pixels, labels in data:
            real, labels = normalise(pixels.to(args.device)), labels.to(args.device)
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=cuda):
                module.adversarial_step(real, labels, opt_g, opt_d, lambda loss: loss.backward())
            step += 1
            module.update_ema(step)
            if step == steps:
                break
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="GAN iterations per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--arch", default="dcgan", help="labelops.imagegen.model.ARCHITECTURES")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data, num_classes = batches(args.products, args.image_size, args.batch_size)
    images = args.steps * args.batch_size
    parameters = sum(p.numel() for p in fresh_module(num_classes, args).parameters() if p.requires_grad)
    run_plain(data, num_classes, args, steps=3)  # warm up kernels and allocator
    best = (float("inf"), float("inf"))
    results = {"plain PyTorch loop": best, "Lightning module": best}
    for _ in range(args.repeats):  # alternate, keep each one's best: other load on the machine hits both alike
        for name, run in (("plain PyTorch loop", run_plain), ("Lightning module", run_lightning)):
            wall, cpu = run(data, num_classes, args)
            results[name] = (min(results[name][0], wall), min(results[name][1], cpu))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"conditional GAN training, {args.steps} iterations × {args.batch_size} images, "
                        f"{args.arch}, {args.image_size} px, width {args.width}, {parameters / 1e6:.2f} M trainable parameters, "
                        f"{args.device}, {torch.get_num_threads()} threads, best of {args.repeats}")
    for column in ("run", "wall s", "images/s", "overhead (wall)", "CPU s", "images/CPU-s", "overhead (CPU)"):
        table.add_column(column, justify="left" if column == "run" else "right")
    base_wall, base_cpu = results["plain PyTorch loop"]
    for name, (wall, cpu) in results.items():
        table.add_row(name, f"{wall:.2f}", f"{images / wall:,.1f}", f"{(wall / base_wall - 1) * 100:+.1f}%",
                      f"{cpu:.2f}", f"{images / cpu:,.1f}", f"{(cpu / base_cpu - 1) * 100:+.1f}%")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
