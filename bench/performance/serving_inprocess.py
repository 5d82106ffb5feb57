"""In-process serving latency and throughput of the export's ``serving_default`` signature on the
Beauty catalogue: p50/p99 of one request (a history of 50 items) and histories/s at batch 256.

    python -m bench serving-inprocess [--run runs/beauty-fame] [--requests 2000]
"""

import os
import time

import click

from bench.common import machine
from bench.performance.serving_common import MODELS, beauty_export, describe, histories, percentiles, write


@click.command()
@click.option("--run", default=None, help="Trained run directory [default: an untrained model, same shapes].")
@click.option("--model", type=click.Choice(MODELS), default="train", show_default=True,
              help="Whose default model to measure.")
@click.option("--requests", default=2000, show_default=True)
@click.option("--batches", default=30, show_default=True)
def main(run, model, requests, batches):
    """In-process latency and throughput of the export's serving signature."""
    from fame_tf.backend import tf
    from fame_tf.contract import ITEM_IDS, SERVING_DEFAULT


    load_before = machine()
    base, vocabulary, config = beauty_export(run, model)
    signature = tf.saved_model.load(os.path.join(base, "1")).signatures[SERVING_DEFAULT]
    singles = [tf.constant([h]) for h in histories(vocabulary, 200)]
    batch = tf.constant(histories(vocabulary, 256, seed=1))
    for history in singles[:50]:  # warm-up
        signature(history=history)
    signature(history=batch)

    seconds = []
    for i in range(requests):
        start = time.perf_counter()
        signature(history=singles[i % len(singles)])[ITEM_IDS].numpy()
        seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(batches):
        signature(history=batch)[ITEM_IDS].numpy()
    batch_seconds = time.perf_counter() - start
    write(f"serving_inprocess-{model if not run else 'run'}", {
        **describe(run, model, vocabulary, config),
        "single_request": percentiles(seconds),
        "batch_256": {"histories_per_second": 256 * batches / batch_seconds,
                      "ms_per_batch": 1000 * batch_seconds / batches},
        "machine_before": load_before, "machine_after": machine(),
    })


if __name__ == "__main__":
    main()
