"""Training throughput of the text generator: the Lightning module vs a plain PyTorch loop.

    python benchmarks/text_training.py [--steps 60] [--device cpu|cuda] [--peak-tflops 989]
                                       [--n-embd 128 --n-layer 4 --n-head 4]   # a larger model on a GPU

Same model, same batches in the same order, same optimizer, schedule and clipping; each timed
from its first batch to its last (Lightning's one-off set-up, about half a second, is left out),
best of ``--repeats`` alternating runs; prints tokens/s of both and Lightning's overhead. On a GPU it trains in bf16 and also prints MFU
(6 · parameters · tokens/s over the peak you give).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loop_timer import LoopTimer  # noqa: E402


def batches(n_products: int, batch_size: int):
    from labelops.textgen.data import build_example, collate, encode_example
    from labelops.textgen.tokenizer import train_tokenizer
    from tests.helpers.listings import demo_listings

    examples = [e for e in (build_example(r.model_dump()) for r in demo_listings(n_products)) if e]
    tokenizer = train_tokenizer((t for e in examples for t in (e["prompt"], e["target"])), 4096)
    encoded = [encode_example(tokenizer, e["prompt"], e["target"], 320) for e in examples]
    return tokenizer, [collate(encoded[i:i + batch_size], tokenizer.pad_token_id)
                       for i in range(0, len(encoded) - batch_size + 1, batch_size)]


SIZE = {"n_embd": 128, "n_layer": 4, "n_head": 4}  # the training default; --n-embd etc. change it


def fresh_module(tokenizer, steps: int):
    from labelops.textgen.model import TextGeneratorModule, small_gpt2

    torch.manual_seed(0)
    network = small_gpt2(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id, **SIZE)
    return TextGeneratorModule(network, lr=3e-3, warmup_steps=10, max_steps=steps)


def run_lightning(tokenizer, data, steps: int, device: str, precision: str) -> float:
    import lightning as L

    module = fresh_module(tokenizer, steps)
    timer = LoopTimer()
    trainer = L.Trainer(accelerator=device, devices=1, max_steps=steps, precision=precision, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        gradient_clip_val=1.0, num_sanity_val_steps=0, callbacks=[timer.callback])
    loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False)
    trainer.fit(module, loader)
    return timer.ended - timer.started


def run_plain(tokenizer, data, steps: int, device: str, precision: str) -> float:
    module = fresh_module(tokenizer, steps).to(device)
    configured = module.configure_optimizers()
    optimizer, schedule = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    module.train()
    started = time.perf_counter()
    step = 0
    while step < steps:
        for batch in data:
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device, dtype=torch.bfloat16, enabled=precision.startswith("bf16")):
                loss = module(**batch).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if step == steps:
                break
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak (bf16) for MFU, e.g. 989 for H100/H200")
    parser.add_argument("--n-embd", type=int, default=SIZE["n_embd"])
    parser.add_argument("--n-layer", type=int, default=SIZE["n_layer"])
    parser.add_argument("--n-head", type=int, default=SIZE["n_head"])
    args = parser.parse_args()
    SIZE.update(n_embd=args.n_embd, n_layer=args.n_layer, n_head=args.n_head)
    precision = "bf16-mixed" if args.device == "cuda" else "32-true"
    tokenizer, data = batches(args.products, args.batch_size)
    steps_data = [data[i % len(data)] for i in range(args.steps)]
    tokens = sum(int(b["attention_mask"].sum()) for b in steps_data)
    parameters = sum(p.numel() for p in fresh_module(tokenizer, args.steps).parameters())
    run_plain(tokenizer, data[:3], 3, args.device, precision)  # warm up kernels and allocator
    results = {"plain PyTorch loop": float("inf"), "Lightning module": float("inf")}
    for _ in range(args.repeats):  # alternate, keep each one's best: other load on the machine hits both alike
        results["plain PyTorch loop"] = min(results["plain PyTorch loop"],
                                            run_plain(tokenizer, data, args.steps, args.device, precision))
        results["Lightning module"] = min(results["Lightning module"],
                                          run_lightning(tokenizer, data, args.steps, args.device, precision))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"text generator training, {args.steps} steps × {args.batch_size} products, "
                        f"{parameters / 1e6:.2f} M parameters, {args.device} {precision}")
    for column in ("run", "seconds", "tokens/s", "overhead vs plain") + (("MFU",) if args.peak_tflops else ()):
        table.add_column(column, justify="left" if column == "run" else "right")
    base = tokens / results["plain PyTorch loop"]
    for name, seconds in results.items():
        rate = tokens / seconds
        row = [name, f"{seconds:.1f}", f"{rate:,.0f}", f"{(base / rate - 1) * 100:+.1f}%"]
        if args.peak_tflops:
            row.append(f"{6 * parameters * rate / (args.peak_tflops * 1e12):.2%}")
        table.add_row(*row)
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
