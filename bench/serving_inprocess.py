"""In-process serving latency and throughput of the export's ``serving_default`` signature on the
Beauty catalogue: p50/p99 of one request (a history of 50 items) and histories/s at batch 256.

    .venv/bin/python bench/serving_inprocess.py [--run runs/beauty-fame] [--requests 2000]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serving_common import MODELS, beauty_export, describe, histories, machine, percentiles, write  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="trained run directory (default: untrained model, same shapes)")
    parser.add_argument("--model", choices=MODELS, default="train", help="whose default model to measure")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()

    from fame_tf.backend import tf

    load_before = machine()
    base, vocabulary, config = beauty_export(args.run, args.model)
    signature = tf.saved_model.load(os.path.join(base, "1")).signatures["serving_default"]
    singles = [tf.constant([h]) for h in histories(vocabulary, 200)]
    batch = tf.constant(histories(vocabulary, 256, seed=1))
    for history in singles[:50]:  # warm-up
        signature(history=history)
    signature(history=batch)

    seconds = []
    for i in range(args.requests):
        start = time.perf_counter()
        signature(history=singles[i % len(singles)])["item_ids"].numpy()
        seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(args.batches):
        signature(history=batch)["item_ids"].numpy()
    batch_seconds = time.perf_counter() - start
    write(f"serving_inprocess-{args.model if not args.run else 'run'}.json", {
        **describe(args.run, args.model, vocabulary, config),
        "single_request": percentiles(seconds),
        "batch_256": {"histories_per_second": 256 * args.batches / batch_seconds,
                      "ms_per_batch": 1000 * batch_seconds / args.batches},
        "machine_before": load_before, "machine_after": machine(),
    })


if __name__ == "__main__":
    main()
