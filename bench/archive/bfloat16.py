"""Whether bfloat16 pays on this CPU: the training step's dominant work (the [B, d] x [d, |V|]
full-softmax scores, the cross-entropy and their gradients) in float32 and in bfloat16 (scores
cast to float32 for the loss), side by side in one process, alternating rounds. Prints and writes
bench/archive/results/bfloat16.json with milliseconds per step (fastest round) and the ratio.

    python -m bench.archive.bfloat16 --items 12102 --batch 256
"""

from __future__ import annotations

import json
import os
import time

import click

from bench.common import ROOT

ARCHIVE_RESULTS = os.path.join(ROOT, "bench", "archive", "results")


@click.command()
@click.option("--items", default=12102, show_default=True, help="Catalogue rows (Beauty + padding).")
@click.option("--batch", default=256, show_default=True)
@click.option("--hidden", default=64, show_default=True)
@click.option("--steps", default=50, show_default=True)
@click.option("--rounds", default=3, show_default=True)
def main(items, batch, hidden, steps, rounds):
    from fame_tf.backend import tf

    queries, candidates = tf.random.normal([batch, hidden]), tf.random.normal([items, hidden])
    targets = tf.random.uniform([batch], 0, items, tf.int32)

    @tf.function
    def step(q, c):
        with tf.GradientTape() as tape:
            tape.watch([q, c])
            scores = tf.cast(tf.matmul(q, c, transpose_b=True), tf.float32)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, scores))
        return tape.gradient(loss, [q, c])

    inputs = {"float32": (queries, candidates),
              "bfloat16": (tf.cast(queries, tf.bfloat16), tf.cast(candidates, tf.bfloat16))}
    for args in inputs.values():
        step(*args)  # traces once per dtype
    seconds = {name: [] for name in inputs}
    for _ in range(rounds):
        for name, args in inputs.items():
            start = time.perf_counter()
            for _ in range(steps):
                step(*args)
            seconds[name].append((time.perf_counter() - start) / steps)
    result = {"items": items, "batch": batch, "hidden": hidden, "steps": steps, "rounds": rounds,
              "load_average": os.getloadavg(),
              "ms_per_step": {name: 1000 * min(values) for name, values in seconds.items()},
              "bfloat16_over_float32": min(seconds["bfloat16"]) / min(seconds["float32"])}
    print(json.dumps(result, indent=1))
    with open(os.path.join(ARCHIVE_RESULTS, "bfloat16.json"), "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
