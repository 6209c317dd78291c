"""Generation speed: batched generation vs one product at a time, same model, same products.

    python benchmarks/text_generation.py [--model-dir DIR] [--products 64] [--batch-size 32]

Without ``--model-dir`` it first trains a small generator on the demo catalog (a couple of
minutes on CPU) so that outputs have realistic lengths. Prints products/s for both.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def quick_model(steps: int):
    import lightning as L
    import torch

    from labelops.textgen.data import build_example, collate, encode_example
    from labelops.textgen.model import TextGeneratorModule, small_gpt2
    from labelops.textgen.tokenizer import train_tokenizer
    from tests.helpers.listings import demo_listings

    rows = [r.model_dump() for r in demo_listings(500)]
    examples = [e for e in (build_example(r) for r in rows) if e]
    tokenizer = train_tokenizer((t for e in examples for t in (e["prompt"], e["target"])), 4096)
    encoded = [encode_example(tokenizer, e["prompt"], e["target"], 320) for e in examples]
    network = small_gpt2(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    module = TextGeneratorModule(network, max_steps=steps)
    loader = torch.utils.data.DataLoader(encoded, batch_size=16, shuffle=True,
                                         collate_fn=lambda b: collate(b, tokenizer.pad_token_id))
    L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False).fit(module, loader)
    return module.model, tokenizer, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--products", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-steps", type=int, default=250)
    args = parser.parse_args()

    from labelops.textgen.generate import GenerationOptions, generate_texts
    from tests.helpers.listings import demo_listings

    if args.model_dir:
        from transformers import AutoModelForCausalLM

        from labelops.textgen.tokenizer import load_tokenizer

        model, tokenizer = AutoModelForCausalLM.from_pretrained(args.model_dir), load_tokenizer(args.model_dir)
        rows = [r.model_dump() for r in demo_listings(500)]
    else:
        with tempfile.TemporaryDirectory():
            model, tokenizer, rows = quick_model(args.train_steps)
    rows = rows[-args.products:]
    results = {}
    for name, batch_size in (("one at a time", 1), (f"batched ({args.batch_size})", args.batch_size)):
        started = time.perf_counter()
        out = generate_texts(model, tokenizer, rows, GenerationOptions(batch_size=batch_size))
        results[name] = (time.perf_counter() - started, sum(len(g.description) for g in out) / len(out))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"text generation, {len(rows)} products, greedy, KV cache, CPU")
    for column in ("run", "seconds", "products/s", "speed-up", "mean description chars"):
        table.add_column(column, justify="left" if column == "run" else "right")
    base = results["one at a time"][0]
    for name, (seconds, chars) in results.items():
        table.add_row(name, f"{seconds:.1f}", f"{len(rows) / seconds:.2f}", f"{base / seconds:.1f}×", f"{chars:.0f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
