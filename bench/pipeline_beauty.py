"""Wall time of the README's main command — the local pipeline on the bundled Beauty data with the
default settings — and of each of its components (from ML Metadata), with the run's outcome.

    .venv/bin/python bench/pipeline_beauty.py [--output bench/work/pipeline-beauty]

Runs `fame-tf pipeline run --data DATA --output OUTPUT` in a fresh output directory (so nothing is
served from the cache) and writes bench/results/pipeline_beauty.json."""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import pipeline  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from pipeline.local_runner import paths, run_report
from pipeline.trainer import TrainerSettings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/beauty")
    parser.add_argument("--output", default="bench/work/pipeline-beauty")
    parser.add_argument("--result", default="bench/results/pipeline_beauty.json")
    args = parser.parse_args()
    shutil.rmtree(args.output, ignore_errors=True)
    command = [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "pipeline", "run",
               "--data", args.data, "--output", args.output]
    start = time.time()
    subprocess.run(command, check=True)
    seconds = time.time() - start
    report = run_report(paths(args.output)["metadata"])
    result = {
        "command": " ".join(["fame-tf"] + command[1:]),
        "command_seconds": seconds,
        "settings": TrainerSettings().to_custom_config(),
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(), "python": platform.python_version()},
        **report,
    }
    with open(args.result, "w") as handle:
        json.dump(result, handle, indent=2)
    for name, node in report["components"].items():
        print(f"{name:28s} {node['state']:9s} {node['seconds']:8.1f} s")
    print(f"{'whole command':38s} {seconds:8.1f} s")


if __name__ == "__main__":
    main()
