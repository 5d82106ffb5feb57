"""Benchmark runs: one `fame-tf train` run in its own process (so its peak memory is its own):
trained, resumed from its directory if it was interrupted, or only read back if it has finished."""

import json
import os
import subprocess
import sys
import time


def train(data: str, out: str, options, cpus=None) -> dict:
    """The run's metrics.json, training (or resuming) it first when it has not finished; ``cpus``
    pins the process to those CPUs (TensorFlow then sizes its thread pools to them)."""
    metrics_path = os.path.join(out, "metrics.json")
    if not os.path.exists(metrics_path):
        command = [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "train", "--data", data,
                   "--output", out, "--quiet", *options]
        print("$", " ".join(command), flush=True)
        start = time.time()
        with subprocess.Popen(command) as process:
            try:
                if cpus:  # before TensorFlow is imported, so every thread it starts inherits the pinning
                    os.sched_setaffinity(process.pid, cpus)
                returncode = process.wait()
            except BaseException:  # as subprocess.run: an interrupted benchmark leaves no run behind
                process.kill()
                raise
        if returncode:
            raise subprocess.CalledProcessError(returncode, command)
        print(f"{out}: {time.time() - start:.0f}s", flush=True)
    with open(metrics_path) as handle:
        return json.load(handle)
