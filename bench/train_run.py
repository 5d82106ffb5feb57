"""One `fame-tf train` run of a benchmark, in its own process (so its peak memory is its own): trained,
resumed from its directory if it was interrupted, or only read back if it has finished."""

import json
import os
import subprocess
import sys
import time


def train(data: str, out: str, options) -> dict:
    """The run's metrics.json, training (or resuming) it first when it has not finished."""
    metrics_path = os.path.join(out, "metrics.json")
    if not os.path.exists(metrics_path):
        command = [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "train", "--data", data,
                   "--output", out, "--quiet", *options]
        print("$", " ".join(command), flush=True)
        start = time.time()
        subprocess.run(command, check=True)
        print(f"{out}: {time.time() - start:.0f}s", flush=True)
    with open(metrics_path) as handle:
        return json.load(handle)
