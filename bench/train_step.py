"""Training-step speed with and without XLA (`jit_compile`), side by side in one process.

Times one epoch's worth of the same cached Beauty batches for each setting (after a warm-up that
compiles every batch shape), alternating the settings over rounds; prints and writes
bench/results/train_step.json with seconds per step and the ratio.

    .venv/bin/python bench/train_step.py --steps 20 --rounds 2
"""

from __future__ import annotations

import json
import os
import time

import click

from fame_tf import FameConfig
from fame_tf.data import load_split
from fame_tf.training import build_model, train_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@click.command()
@click.option("--data", default="data/beauty", show_default=True)
@click.option("--variant", default="fame", show_default=True)
@click.option("--steps", default=20, show_default=True)
@click.option("--rounds", default=2, show_default=True)
def main(data, variant, steps, rounds):
    split = load_split(data, 50)
    config = FameConfig(num_items=split.num_items, variant=variant)
    batches = train_dataset(split, config).take(steps).cache()
    models = {jit: build_model(config.replace(jit_compile=jit)) for jit in (False, True)}
    for model in models.values():
        model.fit(batches, epochs=1, verbose=0)  # compiles every batch shape once
    seconds = {False: [], True: []}
    for _ in range(rounds):
        for jit, model in models.items():
            start = time.time()
            model.fit(batches, epochs=1, verbose=0)
            seconds[jit].append((time.time() - start) / steps)
    result = {
        "data": data, "variant": variant, "steps": steps, "rounds": rounds, "load_average": os.getloadavg(),
        "seconds_per_step": {"tf_function": min(seconds[False]), "jit_compile": min(seconds[True])},
        "jit_over_graph": min(seconds[True]) / min(seconds[False]),
    }
    print(json.dumps(result, indent=1))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "train_step.json"), "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
