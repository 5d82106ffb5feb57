"""Cost of the whole pipeline against data size: synthetic users at 1x, 4x and 16x Beauty's.

Each size is fame_tf.synthetic data (Zipf item popularity with Beauty's exponent, Beauty's user
lengths, Beauty's 12,101 items) written as interaction CSV and run through
`fame-tf pipeline run` with the Beam DirectRunner in multi-processing mode (2 workers) and the
Trainer capped at a fixed number of steps (its cost is then evaluation and I/O, which grow with the
users; the training steps do not). A sampler reads the resident memory of the command's process
(the driver: LocalDagRunner, the Beam runner's own work, the Trainer) and of its descendants (the
Beam workers) every half second; each component's peaks are the highest samples while it ran
(start and end times from ML Metadata). Writes bench/results/performance/scale.json after
every size (a finished size is not run again), then draws time and memory against interactions
(bench/results/report/plots/scale_*.png) and extrapolates each component's time linearly to ML-20M's
20,000,263 interactions.

    python -m bench scale [--factors 1,4,16] [--steps 300]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import click
import numpy as np
import psutil

import pipeline  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from fame_tf.plots import lines
from fame_tf.synthetic import synthetic_sequences, write_synthetic
from pipeline.local_runner import paths, run_report
from bench.report.tables import timed_components
from bench.common import RESULTS, beauty_lengths, envelope, result_path, work_dir, write_json

RESULT = result_path("performance", "scale")
PLOTS = os.path.join(RESULTS, "report", "plots")
WORK = work_dir("scale")
BEAUTY_USERS, BEAUTY_ITEMS = 22_363, 12_101
ML20M_INTERACTIONS = 20_000_263


class MemorySampler(threading.Thread):
    """Samples (unix time, MiB of a process, MiB of all its descendants) until stopped."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.root, self.every, self.samples, self.stopped = psutil.Process(pid), every, [], threading.Event()

    def run(self):
        while not self.stopped.is_set():
            workers = 0
            try:
                driver = self.root.memory_info().rss
                for process in self.root.children(recursive=True):
                    try:
                        workers += process.memory_info().rss
                    except psutil.Error:  # a worker that just exited
                        pass
            except psutil.Error:  # the command has finished
                break
            self.samples.append((time.time(), driver / 2**20, workers / 2**20))
            self.stopped.wait(self.every)


def run_size(factor: int, steps: int) -> dict:
    work = os.path.join(WORK, f"x{factor}")
    data = os.path.join(work, "data")
    users = BEAUTY_USERS * factor
    counts = write_synthetic(os.path.join(data, "interactions.csv"),
                             synthetic_sequences(users, BEAUTY_ITEMS, beauty_lengths(), seed=factor))
    output = os.path.join(work, "run")
    shutil.rmtree(output, ignore_errors=True)
    command = [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "pipeline", "run", "--data", data,
               "--output", output, "--epochs", "1", "--steps-per-epoch", str(steps),
               "--beam-arg=--direct_running_mode=multi_processing", "--beam-arg=--direct_num_workers=2"]
    print("$", " ".join(command), flush=True)
    start = time.time()
    process = subprocess.Popen(command)
    sampler = MemorySampler(process.pid)
    sampler.start()
    if process.wait():
        raise SystemExit(f"the pipeline failed at {factor}x (exit status {process.returncode})")
    seconds = time.time() - start
    sampler.stopped.set()
    sampler.join()
    report = run_report(paths(output)["metadata"])
    components = {}
    for name, node in report["components"].items():
        during = [(d, w) for t, d, w in sampler.samples if node["started"] <= t <= node["started"] + node["seconds"]]
        components[name] = {"seconds": node["seconds"],
                             "peak_rss_mib": max(d + w for d, w in during) if during else None,
                             "peak_driver_mib": max(d for d, _ in during) if during else None,
                             "peak_workers_mib": max(w for _, w in during) if during else None}
    return {"factor": factor, **counts, "items": BEAUTY_ITEMS, "training_steps": steps,
            "command": " ".join(["fame-tf"] + command[1:]), "command_seconds": seconds,
            "peak_rss_mib": max(d + w for _, d, w in sampler.samples), "components": components,
            "evaluation": report.get("evaluation"), "blessed": report.get("blessed"),
            **envelope("scale")}


def extrapolate(sizes) -> dict:
    """Each component's seconds at ML-20M's interactions, from a least-squares line over the sizes."""
    xs = np.array([s["interactions"] for s in sizes], float)
    out = {}
    for name in sizes[0]["components"]:
        ys = np.array([s["components"][name]["seconds"] for s in sizes], float)
        slope, intercept = np.polyfit(xs, ys, 1)
        out[name] = {"seconds_per_million_interactions": slope * 1e6, "fixed_seconds": intercept,
                     "ml20m_seconds": intercept + slope * ML20M_INTERACTIONS}
    whole = np.polyfit(xs, [s["command_seconds"] for s in sizes], 1)
    out["whole command"] = {"seconds_per_million_interactions": whole[0] * 1e6, "fixed_seconds": whole[1],
                            "ml20m_seconds": whole[1] + whole[0] * ML20M_INTERACTIONS}
    return out


def draw(sizes) -> None:
    names = timed_components(sizes)
    millions = [s["interactions"] / 1e6 for s in sizes]
    seconds = {n: {x: s["components"][n]["seconds"] for x, s in zip(millions, sizes)} for n in names}
    memory = {n: {x: s["components"][n]["peak_rss_mib"] for x, s in zip(millions, sizes)
                  if s["components"][n]["peak_rss_mib"] is not None} for n in names}
    os.makedirs(PLOTS, exist_ok=True)
    lines(seconds, os.path.join(PLOTS, "scale_seconds.png"), "Pipeline components: wall time",
          "interactions (millions)", "seconds")
    lines(memory, os.path.join(PLOTS, "scale_memory.png"), "Pipeline components: peak memory (driver + Beam workers)",
          "interactions (millions)", "MiB")


@click.command()
@click.option("--factors", default="1,4,16", show_default=True, help="Multiples of Beauty's users, comma separated.")
@click.option("--steps", default=300, show_default=True, help="Training steps of the Trainer.")
def main(factors, steps):
    results = {}
    if os.path.exists(RESULT):
        with open(RESULT) as handle:
            results = json.load(handle)
    for factor in [int(f) for f in factors.split(",")]:
        key = f"x{factor}"
        recorded = results.get("sizes", {}).get(key)
        if recorded and recorded["training_steps"] != steps:
            raise SystemExit(f"{key} is recorded with {recorded['training_steps']} training steps, not {steps}: "
                             f"use --steps {recorded['training_steps']} or remove {RESULT}")
        if recorded:
            print(f"{key}: already recorded", flush=True)
            continue
        results.setdefault("sizes", {})[key] = run_size(factor, steps)
        write_json(RESULT, results)
    sizes = sorted(results["sizes"].values(), key=lambda s: s["interactions"])
    if len(sizes) >= 2:
        results["extrapolation_to_ml20m"] = extrapolate(sizes)
        draw(sizes)
    write_json(RESULT, results)
    for s in sizes:
        print(f"{s['factor']:>3}x {s['interactions']:>10,} interactions {s['command_seconds']:8.0f} s "
              f"peak {s['peak_rss_mib']:7.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
