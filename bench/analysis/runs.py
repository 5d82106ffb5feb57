"""Measurements of finished training runs, merged into one results file per analysis."""

import json
import os

from bench.common import ROOT, envelope, read_result, result_path, write_json


def measure_runs(runs, measure, benchmark: str) -> None:
    """``measure(run)`` of each run directory, with the result envelope, printed and merged into
    bench/results/analysis/<benchmark>.json under the run's path relative to the repository,
    written after every run so that a later failure loses nothing."""
    path = result_path("analysis", benchmark)
    results = read_result(path, {})
    for run in runs:
        key = os.path.relpath(os.path.abspath(run), ROOT)
        results[key] = {**measure(run), **envelope(benchmark)}
        print(key, json.dumps(results[key]), flush=True)
        write_json(path, results)


def finished_run(run_dir: str):
    """(metrics.json, leave-one-out split of the run's data) of a finished run: read as the run
    recorded (``data.json``), or, for runs from before it, from the source in its metrics, relative
    to the repository, where the benchmarks run."""
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
        data = DataOptions(os.path.join(ROOT, metrics["data"]["source"]))
    return metrics, data.split(metrics["config"]["max_len"])
