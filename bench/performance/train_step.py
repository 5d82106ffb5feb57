"""Training-step speed with and without XLA (`jit_compile`), side by side in one process.

Times the same Beauty training examples (the default prefix scheme, in the same order) through each
setting, after a warm-up that compiles every batch shape; with XLA the batches keep the bucket
widths (4, 8, 16, 32, max_len) instead of the longest history, so XLA compiles a few shapes only.
The settings alternate over rounds; prints and writes bench/results/performance/train_step.json with seconds
per step (the fastest round) and the ratio.

    python -m bench train-step --steps 200 --rounds 3 --variant sasrec
"""

from __future__ import annotations

import os
import time

import click

from fame_tf import FameConfig
from fame_tf.readers import load_split
from fame_tf.inputs import ArrayData, train_dataset
from fame_tf.training import build_model
from fame_tf.presets import BENCHMARK
from bench.common import result_path, write_result


@click.command()
@click.option("--data", "data_path", default="data/beauty", show_default=True)
@click.option("--variant", default="fame", show_default=True)
@click.option("--steps", default=20, show_default=True)
@click.option("--rounds", default=2, show_default=True)
def main(data_path, variant, steps, rounds):
    split = load_split(data_path, 50)
    config = FameConfig.for_variant(variant, num_items=split.num_items, **BENCHMARK.changes)
    configs = {jit: config.replace(jit_compile=jit) for jit in (False, True)}
    data = {jit: train_dataset(ArrayData(split), c).take(steps).cache() for jit, c in configs.items()}
    models = {jit: build_model(c) for jit, c in configs.items()}
    for jit, model in models.items():
        model.fit(data[jit], epochs=1, verbose=0)  # compiles every batch shape once
    seconds = {False: [], True: []}
    for _ in range(rounds):
        for jit, model in models.items():
            start = time.time()
            model.fit(data[jit], epochs=1, verbose=0)
            seconds[jit].append((time.time() - start) / steps)
    result = {
        "data": data_path, "variant": variant, "training_scheme": config.training_scheme, "steps": steps,
        "rounds": rounds, "load_average": os.getloadavg(),
        "seconds_per_step": {"tf_function": min(seconds[False]), "jit_compile": min(seconds[True])},
        "jit_over_graph": min(seconds[True]) / min(seconds[False]),
    }
    write_result(result_path("performance", "train_step"), "train-step", result)


if __name__ == "__main__":
    main()
