"""Start-up of the command line as a whole process: ``fame-tf --help`` and each command's
``--help`` (which must load no TensorFlow and print nothing on stderr), against a process that
only imports TensorFlow (what every help cost before the imports were made lazy), run in turn so
the ratio holds on a noisy machine. Prints and writes bench/results/performance/cli_startup.json.

    python -m bench cli-startup --runs 9
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import click

from bench.common import ROOT, result_path, write_result

RESULT = result_path("performance", "cli_startup")
FAME_TF = os.path.join(os.path.dirname(sys.executable), "fame-tf")
COMMANDS = {
    "fame-tf --help": [FAME_TF, "--help"],
    "fame-tf train --help": [FAME_TF, "train", "--help"],
    "fame-tf pipeline run --help": [FAME_TF, "pipeline", "run", "--help"],
    "fame-tf serve --help": [FAME_TF, "serve", "--help"],
}
YARDSTICK = ("python -c 'import tensorflow'", [sys.executable, "-c", "import tensorflow"])


def _timed(command) -> tuple:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise click.ClickException(f"{' '.join(command)} failed: {done.stderr[-500:]}")
    return time.perf_counter() - start, done.stderr


@click.command()
@click.option("--runs", default=9, show_default=True, help="Timed runs of each command (after one warm-up).")
def main(runs):
    results = {}
    for name, command in COMMANDS.items():
        _timed(command), _timed(YARDSTICK[1])  # warm-up: the file cache
        pairs = [(_timed(command), _timed(YARDSTICK[1])[0]) for _ in range(runs)]
        seconds = [run[0][0] for run in pairs]
        results[name] = {
            "median_seconds": statistics.median(seconds), "min_seconds": min(seconds), "max_seconds": max(seconds),
            "stderr_bytes": max(len(run[0][1]) for run in pairs),
            f"ratio_to_{YARDSTICK[0]}": statistics.median(run[0][0] / run[1] for run in pairs),
        }
        print(f"{name}: median {results[name]['median_seconds']:.3f} s, stderr {results[name]['stderr_bytes']} bytes, "
              f"{results[name][f'ratio_to_{YARDSTICK[0]}']:.2f}x of {YARDSTICK[0]}", flush=True)
    load = os.getloadavg()
    write_result(RESULT, "cli-startup", {"runs": runs, "load_average_1_5_15_before": load, "commands": results},
                 echo=False)


if __name__ == "__main__":
    main()
