"""Benchmark runs: one `fame-tf train` run in its own process (so its peak memory is its own):
trained, resumed from its directory if it was interrupted, or only read back if it has finished;
a finished run's metrics and data; and measurements of finished run directories merged into one
results file."""

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


def measure_runs(runs, measure, result_path: str, root: str) -> None:
    """``measure(run)`` of each run directory, printed and merged into ``result_path`` under the
    run's path relative to ``root``, written after every run so that a later failure loses nothing."""
    results = {}
    if os.path.exists(result_path):
        with open(result_path) as handle:
            results = json.load(handle)
    for run in runs:
        key = os.path.relpath(os.path.abspath(run), root)
        results[key] = measure(run)
        print(key, json.dumps(results[key]), flush=True)
        with open(result_path, "w") as handle:
            json.dump(results, handle, indent=2)


def finished_run(run_dir: str, root: str):
    """(metrics.json, leave-one-out split of the run's data) of a finished run: read as the run
    recorded (``data.json``), or, for runs from before it, from the source in its metrics, relative
    to the repository ``root``, where the benchmarks run."""
    from fame_tf import runs
    from fame_tf.readers import DataOptions

    metrics_path = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(metrics_path):
        raise SystemExit(f"{run_dir} has no metrics.json: the run has not finished")
    with open(metrics_path) as handle:
        metrics = json.load(handle)
    if os.path.exists(os.path.join(run_dir, runs.DATA_FILE)):
        data = runs.recorded_data(run_dir)
    else:
        data = DataOptions(os.path.join(root, metrics["data"]["source"]))
    return metrics, data.split(metrics["config"]["max_len"])


def beauty_lengths(root: str):
    """User lengths of the bundled Beauty data: the shape the synthetic benchmarks resample."""
    with open(os.path.join(root, "data", "beauty", "Beauty.txt")) as handle:
        return [len(line.split()) - 1 for line in handle]
