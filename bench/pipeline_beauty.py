"""Wall time of each pipeline component and of the whole local pipeline on the bundled Beauty data
with the default settings (what `fame-tf pipeline run` does), from ML Metadata.

    .venv/bin/python bench/pipeline_beauty.py [--output bench/work/pipeline-beauty]

Writes bench/results/pipeline_beauty.json. The output directory is emptied first, so nothing is
served from the cache."""

import argparse
import json
import os
import platform
import shutil

import pipeline  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from pipeline.local_runner import run_local
from pipeline.trainer import TrainerSettings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/beauty")
    parser.add_argument("--output", default="bench/work/pipeline-beauty")
    parser.add_argument("--result", default="bench/results/pipeline_beauty.json")
    args = parser.parse_args()
    shutil.rmtree(args.output, ignore_errors=True)
    report = run_local(args.data, args.output, TrainerSettings())
    result = {
        "data": args.data,
        "settings": TrainerSettings().to_custom_config(),
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(), "python": platform.python_version()},
        **report,
    }
    with open(args.result, "w") as handle:
        json.dump(result, handle, indent=2)
    for name, node in report["components"].items():
        print(f"{name:28s} {node['state']:9s} {node['seconds']:8.1f} s")
    print(f"{'whole pipeline':38s} {report['seconds']:8.1f} s")


if __name__ == "__main__":
    main()
