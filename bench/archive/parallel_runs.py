"""Two training runs one after the other against two at once, each pinned to its own core: how much
sooner `python -m bench reproduce --jobs 2` finishes its runs on this machine.

A `fame-tf train` process leaves much of its second core idle (Python and the many small kernels of
a batch of short sequences), so two runs on one core each can keep both busy. Each round trains the
same two runs (seeds 1 and 2, a few epochs of a fixed number of steps) both ways, in alternating
order; a run's epoch seconds are the steady-state ones (from its second epoch on, validation
included, from `metrics.json`), the first epoch being mostly graph tracing. Prints and writes
bench/archive/results/parallel_runs.json: per variant, seconds per epoch alone and side by side, and the
throughput ratio (2 runs x alone / side by side).

    python -m bench.archive.parallel_runs --variant fame --steps 300 --epochs 3 --rounds 1
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time

import click

from bench.quality.train_run import train
from bench.common import ROOT

ARCHIVE_RESULTS = os.path.join(ROOT, "bench", "archive", "results")

RESULT = os.path.join(ARCHIVE_RESULTS, "parallel_runs.json")


def _epoch_seconds(metrics):
    cumulative = [h["train_seconds"] for h in metrics["validation_history"]]
    return statistics.mean(b - a for a, b in zip(cumulative, cumulative[1:]))


def _pair(work, options, side_by_side):
    """(wall seconds, [steady epoch seconds of each run]) of seeds 1 and 2."""
    cpus = sorted(os.sched_getaffinity(0))
    results = {}

    def one(seed):
        pinned = {cpus[seed - 1]} if side_by_side else None
        results[seed] = train("data/beauty", os.path.join(work, f"seed{seed}"), [*options, "--seed", str(seed)], pinned)

    start = time.perf_counter()
    if side_by_side:
        threads = [threading.Thread(target=one, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for seed in (1, 2):
            one(seed)
    if len(results) != 2:
        raise SystemExit("a run failed (its error is above)")
    return time.perf_counter() - start, [_epoch_seconds(results[seed]) for seed in (1, 2)]


@click.command()
@click.option("--variant", default="fame", show_default=True)
@click.option("--steps", default=300, show_default=True, help="Training steps per epoch.")
@click.option("--epochs", default=3, show_default=True)
@click.option("--rounds", default=1, show_default=True)
def main(variant, steps, epochs, rounds):
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs 2 CPUs")
    os.chdir(ROOT)
    options = ["--variant", variant, "--epochs", str(epochs), "--steps-per-epoch", str(steps)]
    measured = {"alone": [], "side_by_side": []}
    for round_ in range(rounds):
        modes = ("alone", "side_by_side") if round_ % 2 == 0 else ("side_by_side", "alone")
        for mode in modes:
            with tempfile.TemporaryDirectory() as work:
                wall, epoch_seconds = _pair(work, options, mode == "side_by_side")
            measured[mode].append({"wall_seconds": wall, "epoch_seconds": epoch_seconds})
            print(f"round {round_ + 1} {mode}: pair {wall:.0f} s, epochs {epoch_seconds[0]:.1f} / "
                  f"{epoch_seconds[1]:.1f} s", flush=True)
    alone = statistics.mean(s for m in measured["alone"] for s in m["epoch_seconds"])
    side = statistics.mean(s for m in measured["side_by_side"] for s in m["epoch_seconds"])
    row = {"steps_per_epoch": steps, "epochs": epochs, "rounds": rounds, "runs": measured,
           "epoch_seconds_alone": alone, "epoch_seconds_side_by_side": side,
           "throughput_ratio": 2 * alone / side,
           "wall_ratio": statistics.mean(m["wall_seconds"] for m in measured["alone"])
           / statistics.mean(m["wall_seconds"] for m in measured["side_by_side"])}
    print(json.dumps({variant: {k: v for k, v in row.items() if k != "runs"}}, indent=1))
    results = {}
    if os.path.exists(RESULT):
        with open(RESULT) as handle:
            results = json.load(handle)
    results[variant] = row
    with open(RESULT, "w") as handle:
        json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
