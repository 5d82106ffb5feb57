"""Two-worker training (MultiWorkerMirroredStrategy over 127.0.0.1) against one process, on Beauty.

Both run `fame-tf train` with the same global batch for two capped epochs; the second epoch's
training time (without its validation) gives the throughput in training examples per second, and
the validation NDCG@10 after both epochs shows that both learn alike. On one 2-core machine two
workers share the cores and add an all-reduce per step, so they cannot be faster here: this
measures the cost of the strategy, not a speed-up. Writes bench/results/performance/multi_worker.json.

    python -m bench multi-worker [--steps 150]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import click
from fame_tf.presets import BENCHMARK
from bench.common import result_path, work_dir, write_result

WORK = work_dir("multi_worker")
RESULT = result_path("performance", "multi_worker")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def throughput(output: str, steps: int) -> dict:
    with open(os.path.join(output, "metrics.json")) as handle:
        metrics = json.load(handle)
    first, second = metrics["validation_history"][:2]
    seconds = second["train_seconds"] - first["train_seconds"] - second["eval_seconds"]
    batch = metrics["config"]["batch_size"]
    return {"second_epoch_training_seconds": seconds, "examples_per_second": steps * batch / seconds,
            "global_batch": batch, "validation_ndcg@10_after_two_epochs": second["ndcg@10"]}


@click.command()
@click.option("--data", default="data/beauty", show_default=True)
@click.option("--steps", default=150, show_default=True, help="Steps per epoch (two epochs).")
def main(data, steps):
    shutil.rmtree(WORK, ignore_errors=True)
    fame_tf = os.path.join(os.path.dirname(sys.executable), "fame-tf")
    common = [fame_tf, "train", "--data", data, "--quiet", "--epochs", "2", "--steps-per-epoch", str(steps),
              *(f"--{name.replace('_', '-')}={value}" for name, value in BENCHMARK.changes.items())]
    single = os.path.join(WORK, "single")
    subprocess.run(common + ["--output", single, "--distribution", "default"], check=True)
    cluster = {"worker": [f"127.0.0.1:{free_port()}" for _ in range(2)]}
    multi = os.path.join(WORK, "two_workers")
    workers = [subprocess.Popen(common + ["--output", multi, "--distribution", "multi_worker"],
                                env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                                            "task": {"type": "worker", "index": i}})})
               for i in range(2)]
    if any(worker.wait() for worker in workers):
        raise SystemExit("a worker failed")
    result = {"data": data, "steps_per_epoch": steps, "single_process": throughput(single, steps),
              "two_workers_loopback": throughput(multi, steps)}
    result["two_over_one_throughput"] = (result["two_workers_loopback"]["examples_per_second"]
                                         / result["single_process"]["examples_per_second"])
    write_result(RESULT, "multi-worker", result)


if __name__ == "__main__":
    main()
