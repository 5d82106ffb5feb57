"""Wall time of the README's main command — the local pipeline on the bundled Beauty data with the
default settings — and of each of its components (from ML Metadata), with the run's outcome.

    python -m bench pipeline-beauty [--output bench/work/pipeline-beauty]

Runs `fame-tf pipeline run --data DATA --output OUTPUT` in a fresh output directory (so nothing is
served from the cache) and writes bench/results/performance/pipeline_beauty.json."""

import os
import shutil
import subprocess
import sys
import time

import click

from bench.common import result_path, work_dir, write_result


@click.command()
@click.option("--data", default="data/beauty", show_default=True)
@click.option("--output", default=work_dir("pipeline-beauty"), show_default=True)
def main(data, output):
    """Wall time of `fame-tf pipeline run` on the bundled data, whole and per component."""
    import pipeline  # noqa: F401  (TensorFlow with its Keras switch, before TFX)
    from pipeline.local_runner import paths, run_report
    from pipeline.trainer import TrainerSettings

    shutil.rmtree(output, ignore_errors=True)
    command = [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "pipeline", "run",
               "--data", data, "--output", output]
    start = time.time()
    subprocess.run(command, check=True)
    seconds = time.time() - start
    report = run_report(paths(output)["metadata"])
    write_result(result_path("performance", "pipeline_beauty"), "pipeline-beauty", {
        "measured_command": " ".join(["fame-tf"] + command[1:]),
        "command_seconds": seconds,
        "settings": TrainerSettings().to_custom_config(),
        **report,
    }, echo=False)
    for name, node in report["components"].items():
        print(f"{name:28s} {node['state']:9s} {node['seconds']:8.1f} s")
    print(f"{'whole command':38s} {seconds:8.1f} s")


if __name__ == "__main__":
    main()
